/* ranks: 1 2 3 4 */
/* A program that uses sessions only, never MPI_Init: MPI_Session_init, the process sets
 * (mpi://WORLD and mpi://SELF, by number and name, and their mpi_size), groups from them,
 * MPI_Comm_create_from_group over the whole world, over a subset whose members alone call it,
 * and over SELF; collectives and point-to-point on the results; a user session error handler
 * counted; the session's info; a second session at once; MPI_Initialized stays 0. */
#include "testutil.h"

static int session_calls, last_code;

static void session_handler(MPI_Session *s, int *code, ...)
{
    (void)s;
    session_calls++;
    last_code = *code;
}

static int pset_size(MPI_Session s, const char *name)
{
    MPI_Info info = MPI_INFO_NULL;
    char value[64] = "";
    int len = sizeof value, flag = 0;
    MPI_CHECK(MPI_Session_get_pset_info(s, name, &info));
    MPI_CHECK(MPI_Info_get_string(info, "mpi_size", &len, value, &flag));
    CHECK(flag, "%s has no mpi_size", name);
    MPI_CHECK(MPI_Info_free(&info));
    return atoi(value);
}

int main(void)
{
    int flag = -1;
    MPI_CHECK(MPI_Initialized(&flag));
    CHECK(flag == 0);

    MPI_Errhandler eh;
    MPI_CHECK(MPI_Session_create_errhandler(session_handler, &eh));
    MPI_Info hints;
    MPI_CHECK(MPI_Info_create(&hints));
    MPI_CHECK(MPI_Info_set(hints, "thread_level", "MPI_THREAD_MULTIPLE"));
    MPI_Session s = MPI_SESSION_NULL;
    MPI_CHECK(MPI_Session_init(hints, eh, &s));
    MPI_CHECK(MPI_Info_free(&hints));
    CHECK(s != MPI_SESSION_NULL);
    MPI_CHECK(MPI_Initialized(&flag));
    CHECK(flag == 0, "a session does not initialize the world model");

    /* The session's info says the thread level it got (every level is provided). */
    MPI_Info used = MPI_INFO_NULL;
    MPI_CHECK(MPI_Session_get_info(s, &used));
    char value[MPI_MAX_INFO_VAL + 1] = "";
    int len = sizeof value;
    MPI_CHECK(MPI_Info_get_string(used, "thread_level", &len, value, &flag));
    CHECK(flag && strcmp(value, "MPI_THREAD_MULTIPLE") == 0, "thread_level %s", flag ? value : "(unset)");
    MPI_CHECK(MPI_Info_free(&used));

    /* The process sets: at least WORLD and SELF, each by number. */
    int n = 0, seen_world = 0, seen_self = 0;
    MPI_CHECK(MPI_Session_get_num_psets(s, MPI_INFO_NULL, &n));
    CHECK(n >= 2, "%d process sets", n);
    for (int i = 0; i < n; i++) {
        int need = 0;
        MPI_CHECK(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, i, &need, NULL));
        char name[MPI_MAX_PSET_NAME_LEN];
        CHECK(need > 1 && need <= (int)sizeof name, "pset %d needs %d bytes", i, need);
        MPI_CHECK(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, i, &need, name));
        CHECK((int)strlen(name) == need - 1, "pset %d: \"%s\" is not %d bytes", i, name, need - 1);
        seen_world += strcmp(name, "mpi://WORLD") == 0;
        seen_self += strcmp(name, "mpi://SELF") == 0;
        /* A short buffer gets the name cut, NUL-terminated. */
        char cut[5] = "xxxx";
        int four = 4;
        MPI_CHECK(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, i, &four, cut));
        CHECK(strncmp(cut, name, 3) == 0 && cut[3] == 0, "cut name \"%s\"", cut);
    }
    CHECK(seen_world == 1 && seen_self == 1);
    int size = pset_size(s, "mpi://WORLD");
    CHECK(size >= 1);
    CHECK(pset_size(s, "mpi://SELF") == 1);

    /* A communicator over the world. */
    MPI_Group wg;
    MPI_CHECK(MPI_Group_from_session_pset(s, "mpi://WORLD", &wg));
    int gsize = -1, rank = -1;
    MPI_CHECK(MPI_Group_size(wg, &gsize));
    MPI_CHECK(MPI_Group_rank(wg, &rank));
    CHECK(gsize == size && rank >= 0 && rank < size);
    MPI_Comm world = MPI_COMM_NULL;
    MPI_CHECK(MPI_Comm_create_from_group(wg, "org.ferrompi.test.world", MPI_INFO_NULL, MPI_ERRORS_RETURN, &world));
    CHECK(world != MPI_COMM_NULL);
    int crank = -1, csize = -1;
    MPI_CHECK(MPI_Comm_rank(world, &crank));
    MPI_CHECK(MPI_Comm_size(world, &csize));
    CHECK(crank == rank && csize == size);
    MPI_Errhandler got;
    MPI_CHECK(MPI_Comm_get_errhandler(world, &got));
    CHECK(got == MPI_ERRORS_RETURN, "the new communicator has the handler it was created with");
    MPI_CHECK(MPI_Errhandler_free(&got));
    long sum = -1, mine = 1000 + rank;
    MPI_CHECK(MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, world));
    CHECK(sum == 1000L * size + (long)size * (size - 1) / 2, "allreduce gave %ld", sum);
    int token = rank, from = -1;
    MPI_CHECK(MPI_Sendrecv(&token, 1, MPI_INT, (rank + 1) % size, 3, &from, 1, MPI_INT, (rank + size - 1) % size, 3,
                           world, MPI_STATUS_IGNORE));
    CHECK(from == (rank + size - 1) % size);
    /* Errors on it return. */
    CHECK_ERR_CLASS(MPI_Send(&token, 1, MPI_INT, size, 0, world), MPI_ERR_RANK);

    /* Over the even ranks only: only they call. */
    int evens[4], ne = 0;
    for (int r = 0; r < size; r += 2)
        evens[ne++] = r;
    MPI_Group eg;
    MPI_CHECK(MPI_Group_incl(wg, ne, evens, &eg));
    if (rank % 2 == 0) {
        MPI_Comm even = MPI_COMM_NULL;
        MPI_CHECK(MPI_Comm_create_from_group(eg, "org.ferrompi.test.even", MPI_INFO_NULL, MPI_ERRORS_RETURN, &even));
        int er = -1, esz = -1, esum = -1;
        MPI_CHECK(MPI_Comm_rank(even, &er));
        MPI_CHECK(MPI_Comm_size(even, &esz));
        CHECK(er == rank / 2 && esz == ne);
        MPI_CHECK(MPI_Allreduce(&rank, &esum, 1, MPI_INT, MPI_SUM, even));
        CHECK(esum == ne * (ne - 1), "even sum %d", esum);
        MPI_CHECK(MPI_Comm_free(&even));
    }
    MPI_CHECK(MPI_Group_free(&eg));

    /* SELF, from a second session open at the same time. */
    MPI_Session s2 = MPI_SESSION_NULL;
    MPI_CHECK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &s2));
    MPI_Group sg;
    MPI_CHECK(MPI_Group_from_session_pset(s2, "mpi://SELF", &sg));
    MPI_Comm self = MPI_COMM_NULL;
    MPI_CHECK(MPI_Comm_create_from_group(sg, "org.ferrompi.test.self", MPI_INFO_NULL, MPI_ERRORS_RETURN, &self));
    MPI_CHECK(MPI_Comm_size(self, &csize));
    CHECK(csize == 1);
    int result = -1;
    MPI_CHECK(MPI_Group_compare(sg, wg, &result));
    CHECK(size == 1 ? result == MPI_IDENT : result == MPI_UNEQUAL);
    MPI_CHECK(MPI_Comm_free(&self));
    MPI_CHECK(MPI_Group_free(&sg));
    MPI_CHECK(MPI_Session_finalize(&s2));
    CHECK(s2 == MPI_SESSION_NULL);

    /* The world communicator still works with one session finalized. */
    MPI_CHECK(MPI_Barrier(world));

    /* Errors on the session go to its handler. */
    MPI_Group bad = MPI_GROUP_NULL;
    int rc = MPI_Group_from_session_pset(s, "mpi://nowhere", &bad);
    /* When a user handler returns, what the call returns is left open (MPICH: MPI_SUCCESS). */
    CHECK((rc == MPI_SUCCESS || tu_class_of(rc) == MPI_ERR_ARG) && session_calls == 1 &&
              tu_class_of(last_code) == MPI_ERR_ARG,
          "rc %d, %d handler calls, code %d", rc, session_calls, last_code);
    MPI_CHECK(MPI_Session_call_errhandler(s, MPI_ERR_OTHER));
    CHECK(session_calls == 2 && tu_class_of(last_code) == MPI_ERR_OTHER);

    MPI_CHECK(MPI_Comm_free(&world));
    MPI_CHECK(MPI_Group_free(&wg));
    MPI_CHECK(MPI_Errhandler_free(&eh)); /* the session keeps its handler */
    MPI_CHECK(MPI_Session_call_errhandler(s, MPI_ERR_OTHER));
    CHECK(session_calls == 3);
    MPI_CHECK(MPI_Session_finalize(&s));
    MPI_CHECK(MPI_Initialized(&flag));
    CHECK(flag == 0);
    MPI_CHECK(MPI_Finalized(&flag));
    CHECK(flag == 0, "MPI_Finalized is about the world model");
    if (rank == 0)
        printf("sessions only: %d processes\n", size);
    return 0;
}
