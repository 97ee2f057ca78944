/* ranks: 1 2 3 4 */
/* Persistent collectives (MPI-4): MPI_Barrier_init, MPI_Bcast_init, MPI_Reduce_init,
 * MPI_Allreduce_init (and the _c forms) built once and restarted several times with new
 * buffer contents, by MPI_Start and MPI_Startall, results checked against values computed
 * here; an inactive persistent request tests complete and may be freed; a started one waits
 * like any request. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int root = size - 1;

    long ar_in[5], ar_out[5], rd_in[3], rd_out[3];
    int bc[6];
    MPI_Request req[4];
    MPI_CHECK(MPI_Allreduce_init(ar_in, ar_out, 5, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &req[0]));
    MPI_CHECK(MPI_Bcast_init(bc, 6, MPI_INT, root, MPI_COMM_WORLD, MPI_INFO_NULL, &req[1]));
    MPI_CHECK(MPI_Reduce_init(rd_in, rd_out, 3, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD, MPI_INFO_NULL, &req[2]));
    MPI_CHECK(MPI_Barrier_init(MPI_COMM_WORLD, MPI_INFO_NULL, &req[3]));

    /* inactive: Test says complete, Wait returns at once, the handle stays */
    {
        int flag = 0;
        MPI_CHECK(MPI_Test(&req[0], &flag, MPI_STATUS_IGNORE));
        CHECK(flag && req[0] != MPI_REQUEST_NULL, "inactive persistent request: flag %d", flag);
    }

    for (int it = 0; it < 6; it++) {
        for (int i = 0; i < 5; i++)
            ar_in[i] = (long)rank * it + i;
        for (int i = 0; i < 3; i++) {
            rd_in[i] = (rank * 13 + it * 7 + i) % 17;
            rd_out[i] = -1;
        }
        for (int i = 0; i < 6; i++)
            bc[i] = rank == root ? it * 100 + i : -1;
        if (it % 2 == 0) {
            for (int k = 0; k < 4; k++)
                MPI_CHECK(MPI_Start(&req[k]));
        } else {
            MPI_CHECK(MPI_Startall(4, req));
        }
        if (it % 3 == 2) {
            for (int k = 3; k >= 0; k--)
                MPI_CHECK(MPI_Wait(&req[k], MPI_STATUS_IGNORE));
        } else {
            MPI_CHECK(MPI_Waitall(4, req, MPI_STATUSES_IGNORE));
        }
        for (int k = 0; k < 4; k++)
            CHECK(req[k] != MPI_REQUEST_NULL, "a persistent request was released by its wait");
        for (int i = 0; i < 5; i++) {
            long want = (long)it * size * (size - 1) / 2 + (long)size * i;
            CHECK(ar_out[i] == want, "iteration %d: allreduce %ld, want %ld", it, ar_out[i], want);
        }
        for (int i = 0; i < 6; i++)
            CHECK(bc[i] == it * 100 + i, "iteration %d: bcast %d", it, bc[i]);
        if (rank == 0)
            for (int i = 0; i < 3; i++) {
                long want = 0;
                for (int q = 0; q < size; q++) {
                    long v = (q * 13 + it * 7 + i) % 17;
                    want = v > want ? v : want;
                }
                CHECK(rd_out[i] == want, "iteration %d: reduce %ld, want %ld", it, rd_out[i], want);
            }
    }
    for (int k = 0; k < 4; k++)
        MPI_CHECK(MPI_Request_free(&req[k]));
    CHECK(req[0] == MPI_REQUEST_NULL);

    /* the _c forms, in place, restarted with Test polling */
    {
        double v[4];
        MPI_Request r;
        MPI_CHECK(MPI_Allreduce_init_c(MPI_IN_PLACE, v, (MPI_Count)4, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD, MPI_INFO_NULL, &r));
        for (int it = 0; it < 3; it++) {
            for (int i = 0; i < 4; i++)
                v[i] = rank == (it + i) % size ? 1000.0 + it : -(double)rank;
            MPI_CHECK(MPI_Start(&r));
            int flag = 0;
            while (!flag)
                MPI_CHECK(MPI_Test(&r, &flag, MPI_STATUS_IGNORE));
            for (int i = 0; i < 4; i++)
                CHECK(v[i] == 1000.0 + it, "in-place Allreduce_init_c: %g", v[i]);
        }
        MPI_CHECK(MPI_Request_free(&r));
        long b[2];
        MPI_CHECK(MPI_Bcast_init_c(b, (MPI_Count)2, MPI_LONG, 0, MPI_COMM_WORLD, MPI_INFO_NULL, &r));
        for (int it = 0; it < 3; it++) {
            b[0] = rank == 0 ? it : -1;
            b[1] = rank == 0 ? -it : -1;
            MPI_CHECK(MPI_Start(&r));
            MPI_CHECK(MPI_Wait(&r, MPI_STATUS_IGNORE));
            CHECK(b[0] == it && b[1] == -it, "Bcast_init_c: %ld %ld", b[0], b[1]);
        }
        MPI_CHECK(MPI_Request_free(&r));
    }

    MPI_CHECK(MPI_Finalize());
    return 0;
}
