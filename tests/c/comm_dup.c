/* ranks: 1 2 4 */
/* MPI_Comm_dup, dup_with_info, idup: the copy has the same ranks, compares MPI_CONGRUENT, keeps
 * its traffic apart from the parent's, inherits the error handler; names; test_inter and the
 * remote queries; freeing (stale handles are MPI_ERR_COMM); and more dup/free cycles than there
 * are context ids, so freed ids must come back. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();

    MPI_Comm d, d2, d3;
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    int r = -1, s = -1, cmp = -1, flag = -1;
    MPI_CHECK(MPI_Comm_rank(d, &r));
    MPI_CHECK(MPI_Comm_size(d, &s));
    CHECK(r == rank && s == size);
    MPI_CHECK(MPI_Comm_compare(d, MPI_COMM_WORLD, &cmp));
    CHECK(cmp == MPI_CONGRUENT, "dup vs world: %d", cmp);
    MPI_CHECK(MPI_Comm_compare(d, d, &cmp));
    CHECK(cmp == MPI_IDENT);
    MPI_CHECK(MPI_Comm_compare(MPI_COMM_SELF, MPI_COMM_WORLD, &cmp));
    CHECK(cmp == (size == 1 ? MPI_CONGRUENT : MPI_UNEQUAL), "self vs world: %d", cmp);

    /* Same tag, same peers, both communicators: each receive gets its own communicator's
     * message although the world message is sent first and received last. */
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    int on_world = -1, on_dup = -1, w = 1000 + rank, x = 2000 + rank;
    MPI_Request rq[2];
    MPI_CHECK(MPI_Isend(&w, 1, MPI_INT, to, 9, MPI_COMM_WORLD, &rq[0]));
    MPI_CHECK(MPI_Isend(&x, 1, MPI_INT, to, 9, d, &rq[1]));
    MPI_CHECK(MPI_Recv(&on_dup, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, d, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Recv(&on_world, 1, MPI_INT, from, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    CHECK(on_dup == 2000 + from && on_world == 1000 + from, "dup %d world %d", on_dup, on_world);
    int sum = -1;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, d));
    CHECK(sum == size * (size - 1) / 2);

    /* The error handler is inherited: MPI_ERRORS_RETURN from world. */
    CHECK_ERR_CLASS(MPI_Send(&w, 1, MPI_INT, size, 0, d), MPI_ERR_RANK);
    MPI_Errhandler eh;
    MPI_CHECK(MPI_Comm_get_errhandler(d, &eh));
    CHECK(eh == MPI_ERRORS_RETURN);

    /* dup_with_info and idup. */
    MPI_CHECK(MPI_Comm_dup_with_info(d, MPI_INFO_NULL, &d2));
    MPI_Request req;
    MPI_CHECK(MPI_Comm_idup(d2, &d3, &req));
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(req == MPI_REQUEST_NULL);
    MPI_CHECK(MPI_Comm_compare(d3, d2, &cmp));
    CHECK(cmp == MPI_CONGRUENT);
    MPI_CHECK(MPI_Bcast(&sum, 1, MPI_INT, size - 1, d3));
    MPI_CHECK(MPI_Barrier(d3));

    /* Names. */
    char name[MPI_MAX_OBJECT_NAME];
    int len = -1;
    MPI_CHECK(MPI_Comm_get_name(MPI_COMM_WORLD, name, &len));
    CHECK(strcmp(name, "MPI_COMM_WORLD") == 0 && len == 14, "world name '%s'", name);
    MPI_CHECK(MPI_Comm_get_name(MPI_COMM_SELF, name, &len));
    CHECK(strcmp(name, "MPI_COMM_SELF") == 0 && len == 13, "self name '%s'", name);
    MPI_CHECK(MPI_Comm_get_name(d, name, &len));
    CHECK(len == 0 && name[0] == 0, "unnamed dup: '%s'", name);
    MPI_CHECK(MPI_Comm_set_name(d, "my dup"));
    MPI_CHECK(MPI_Comm_get_name(d, name, &len));
    CHECK(strcmp(name, "my dup") == 0 && len == 6);
    MPI_Comm d4;
    MPI_CHECK(MPI_Comm_dup(d, &d4));
    MPI_CHECK(MPI_Comm_get_name(d4, name, &len));
    CHECK(len == 0, "a dup does not copy the name: '%s'", name);
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    MPI_CHECK(MPI_Comm_set_name(d4, longname));
    MPI_CHECK(MPI_Comm_get_name(d4, name, &len));
    CHECK(len == MPI_MAX_OBJECT_NAME - 1 && (int)strlen(name) == len, "long name: %d", len);
    MPI_CHECK(MPI_Comm_free(&d4));

    /* Intercommunicator queries on intracommunicators. */
    MPI_CHECK(MPI_Comm_test_inter(d, &flag));
    CHECK(flag == 0);
    MPI_Group g;
    CHECK_ERR_CLASS(MPI_Comm_remote_size(d, &s), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_remote_group(MPI_COMM_WORLD, &g), MPI_ERR_COMM);

    /* Freeing. */
    MPI_Comm stale = d2;
    MPI_CHECK(MPI_Comm_free(&d2));
    CHECK(d2 == MPI_COMM_NULL);
    CHECK_ERR_CLASS(MPI_Comm_size(stale, &s), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Send(&w, 1, MPI_INT, 0, 0, stale), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_free(&stale), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_get_name(stale, name, &len), MPI_ERR_COMM);
    MPI_Comm world = MPI_COMM_WORLD, null = MPI_COMM_NULL;
    CHECK_ERR_CLASS(MPI_Comm_free(&world), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_free(&null), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_dup(MPI_COMM_NULL, &d2), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_test_inter(MPI_COMM_NULL, &flag), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_compare(MPI_COMM_WORLD, MPI_COMM_NULL, &cmp), MPI_ERR_COMM);
    /* d3 came from d2, which is gone: d3 still works. */
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, d3));
    CHECK(sum == size * (size - 1) / 2);
    MPI_CHECK(MPI_Comm_free(&d3));
    MPI_CHECK(MPI_Comm_free(&d));

    /* More dup/free cycles than context ids (2048): freed ids are reused; and a few held at
     * once. */
    MPI_Comm held[8];
    for (int i = 0; i < 8; i++)
        MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &held[i]));
    for (int i = 0; i < 2100; i++) {
        MPI_Comm t;
        MPI_CHECK(MPI_Comm_dup(held[i % 8], &t));
        MPI_CHECK(MPI_Comm_free(&t));
    }
    for (int i = 0; i < 8; i++) {
        MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, held[i]));
        CHECK(sum == size * (size - 1) / 2);
        MPI_CHECK(MPI_Comm_free(&held[i]));
    }

    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("comm_dup: ok\n");
    return 0;
}
