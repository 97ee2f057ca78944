/* ranks: 1 2 4 */
/* Sessions alongside the world model. A session opened before MPI_Init shares the library
 * with it: a communicator from the session's mpi://WORLD is congruent to MPI_COMM_WORLD and
 * both carry traffic at once; a session opened and finalized in between changes nothing; the
 * first session outlives MPI_Finalize (MPI_Finalized is 1, the session's communicator still
 * works) and its MPI_Session_finalize ends the library. Invalid arguments get their classes:
 * invalid session handles MPI_ERR_SESSION (raised on MPI_COMM_SELF), unknown process sets and
 * out-of-range numbers MPI_ERR_ARG, a bad group MPI_ERR_GROUP. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_Session s = MPI_SESSION_NULL;
    MPI_CHECK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &s));
    MPI_Group wg;
    MPI_CHECK(MPI_Group_from_session_pset(s, "mpi://WORLD", &wg));
    MPI_Comm sc = MPI_COMM_NULL;
    MPI_CHECK(MPI_Comm_create_from_group(wg, "mixed", MPI_INFO_NULL, MPI_ERRORS_RETURN, &sc));

    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int ours = !tu_is_mpich(), rank = tu_rank(), size = tu_size(), flag = -1;
    MPI_CHECK(MPI_Initialized(&flag));
    CHECK(flag == 1);

    int result = -1;
    MPI_CHECK(MPI_Comm_compare(sc, MPI_COMM_WORLD, &result));
    CHECK(result == MPI_CONGRUENT, "compare gave %d", result);
    MPI_Group cg;
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &cg));
    MPI_CHECK(MPI_Group_compare(cg, wg, &result));
    CHECK(result == MPI_IDENT);
    MPI_CHECK(MPI_Group_free(&cg));

    /* Traffic on both at once: the same tag on the two communicators does not mix. */
    int peer = (rank + 1) % size, from = (rank + size - 1) % size;
    int a = -1, b = -1, va = 100 + rank, vb = 200 + rank;
    MPI_Request r[4];
    MPI_CHECK(MPI_Irecv(&a, 1, MPI_INT, from, 5, MPI_COMM_WORLD, &r[0]));
    MPI_CHECK(MPI_Irecv(&b, 1, MPI_INT, from, 5, sc, &r[1]));
    MPI_CHECK(MPI_Isend(&vb, 1, MPI_INT, peer, 5, sc, &r[2]));
    MPI_CHECK(MPI_Isend(&va, 1, MPI_INT, peer, 5, MPI_COMM_WORLD, &r[3]));
    MPI_CHECK(MPI_Waitall(4, r, MPI_STATUSES_IGNORE));
    CHECK(a == 100 + from && b == 200 + from, "got %d %d", a, b);

    /* A second session in between, finalized before MPI_Finalize. */
    MPI_Session s2 = MPI_SESSION_NULL;
    MPI_CHECK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &s2));
    MPI_Group g2;
    MPI_CHECK(MPI_Group_from_session_pset(s2, "mpi://SELF", &g2));
    MPI_Comm c2;
    MPI_CHECK(MPI_Comm_create_from_group(g2, "mixed.self", MPI_INFO_NULL, MPI_ERRORS_RETURN, &c2));
    MPI_CHECK(MPI_Comm_compare(c2, MPI_COMM_SELF, &result));
    CHECK(result == MPI_CONGRUENT);

    /* Invalid arguments. */
    MPI_Group g = MPI_GROUP_NULL;
    MPI_Info info = MPI_INFO_NULL;
    int n = -1, len = 0;
    char name[64];
    CHECK_ERR_CLASS(MPI_Group_from_session_pset(s2, "mpi://WORLDS", &g), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Session_get_pset_info(s2, "no-such-set", &info), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Session_get_num_psets(MPI_SESSION_NULL, MPI_INFO_NULL, &n), MPI_ERR_SESSION);
    CHECK_ERR_CLASS(MPI_Group_from_session_pset(MPI_SESSION_NULL, "mpi://WORLD", &g), MPI_ERR_SESSION);
    CHECK_ERR_CLASS(MPI_Session_get_info(MPI_SESSION_NULL, &info), MPI_ERR_SESSION);
    CHECK_ERR_CLASS(MPI_Session_call_errhandler(MPI_SESSION_NULL, MPI_ERR_OTHER), MPI_ERR_SESSION);
    MPI_CHECK(MPI_Session_get_num_psets(s2, MPI_INFO_NULL, &n));
    len = sizeof name;
    CHECK_ERR_CLASS(MPI_Session_get_nth_pset(s2, MPI_INFO_NULL, n, &len, name), MPI_ERR_ARG);
    len = sizeof name;
    CHECK_ERR_CLASS(MPI_Session_get_nth_pset(s2, MPI_INFO_NULL, -1, &len, name), MPI_ERR_ARG);
    MPI_Comm nc = MPI_COMM_NULL;
    CHECK_ERR_CLASS(MPI_Comm_create_from_group(MPI_GROUP_NULL, "x", MPI_INFO_NULL, MPI_ERRORS_RETURN, &nc), MPI_ERR_GROUP);
    CHECK_ERR_CLASS(MPI_Comm_create_from_group(g2, NULL, MPI_INFO_NULL, MPI_ERRORS_RETURN, &nc), MPI_ERR_ARG);
    if (ours) {
        /* A finalized session's handle is stale. (MPICH would read the freed object.) */
        MPI_Session stale = s2;
        MPI_CHECK(MPI_Comm_free(&c2));
        MPI_CHECK(MPI_Group_free(&g2));
        MPI_CHECK(MPI_Session_finalize(&s2));
        CHECK_ERR_CLASS(MPI_Session_get_num_psets(stale, MPI_INFO_NULL, &n), MPI_ERR_SESSION);
        CHECK_ERR_CLASS(MPI_Session_finalize(&stale), MPI_ERR_SESSION);
    } else {
        MPI_CHECK(MPI_Comm_free(&c2));
        MPI_CHECK(MPI_Group_free(&g2));
        MPI_CHECK(MPI_Session_finalize(&s2));
    }

    MPI_CHECK(MPI_Finalize());
    MPI_CHECK(MPI_Finalized(&flag));
    CHECK(flag == 1);

    /* The session outlives the world model. */
    int sum = -1;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, sc));
    CHECK(sum == size * (size - 1) / 2, "sum %d after MPI_Finalize", sum);
    MPI_CHECK(MPI_Comm_free(&sc));
    MPI_CHECK(MPI_Group_free(&wg));
    MPI_CHECK(MPI_Session_finalize(&s));
    return 0;
}
