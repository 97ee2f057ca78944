/* ranks: 1 2 3 4 */
/* env: FERROMPI_COLL_BCAST=scatter_allgather FERROMPI_COLL_REDUCE=reduce_scatter_gather FERROMPI_COLL_ALLREDUCE=rabenseifner FERROMPI_COLL_ALLGATHER=bruck FERROMPI_COLL_ALLTOALL=bruck */
/* env: FERROMPI_COLL_ALLREDUCE=ring FERROMPI_COLL_ALLGATHER=recursive_doubling */
/* Nonblocking collectives: MPI_Ibarrier (a late rank holds everyone's wait), MPI_Ibcast from
 * every root (a strided datatype too, and 1 Mi doubles), MPI_Ireduce to every root,
 * MPI_Iallreduce (sum, max, MPI_IN_PLACE, the _c form, 100000 doubles); results checked
 * against values computed here from the rank formulas. Several collectives outstanding on one
 * communicator at once, waited for in start order and with Waitall; a collective overlapped
 * with point-to-point traffic around a ring; MPI_Test polling; an intercommunicator Ibcast and
 * Iallreduce between the even and the odd ranks. */
#include "testutil.h"

static long contrib(int rank, int i) { return (long)rank * 1000 + i; }

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    MPI_Request r[8];
    MPI_Status st;

    /* --- Ibarrier: the last rank arrives 200 ms late. It waits inside MPI (probing), not in
     * sleep(): across hosts a message can need its sender's progress to leave (MPI promises
     * progress only within MPI calls), and a sender asleep without having delivered its last
     * barrier message would hold the others in MPI_Barrier instead of in the Ibarrier. --- */
    {
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        double t0 = MPI_Wtime();
        if (rank == size - 1) {
            int flag;
            while (MPI_Wtime() - t0 < 0.2)
                MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, 12345, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE));
        }
        MPI_CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], &st));
        CHECK(r[0] == MPI_REQUEST_NULL);
        double dt = MPI_Wtime() - t0;
        CHECK(size == 1 || dt >= 0.1, "left the Ibarrier after %.3f s", dt);
    }

    /* --- Ibcast from every root --- */
    for (int root = 0; root < size; root++) {
        int v[100];
        for (int i = 0; i < 100; i++)
            v[i] = rank == root ? root * 31 + i : -1;
        MPI_CHECK(MPI_Ibcast(v, 100, MPI_INT, root, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        for (int i = 0; i < 100; i++)
            CHECK(v[i] == root * 31 + i, "Ibcast root %d: v[%d] = %d", root, i, v[i]);
    }
    /* a strided datatype: every other int of 2*50 */
    {
        MPI_Datatype vec;
        MPI_CHECK(MPI_Type_vector(50, 1, 2, MPI_INT, &vec));
        MPI_CHECK(MPI_Type_commit(&vec));
        int v[100];
        for (int i = 0; i < 100; i++)
            v[i] = rank == 0 ? i : -7;
        MPI_CHECK(MPI_Ibcast(v, 1, vec, 0, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        for (int i = 0; i < 100; i++)
            CHECK(v[i] == (i % 2 == 0 || rank == 0 ? i : -7), "strided Ibcast: v[%d] = %d", i, v[i]);
        MPI_CHECK(MPI_Type_free(&vec));
    }
    /* 1 Mi doubles (8 MiB: rendezvous) */
    {
        int n = 1 << 20;
        double *d = malloc(sizeof(double) * n);
        for (int i = 0; i < n; i++)
            d[i] = rank == size - 1 ? i * 0.5 : 0;
        MPI_CHECK(MPI_Ibcast(d, n, MPI_DOUBLE, size - 1, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        for (int i = 0; i < n; i++)
            CHECK(d[i] == i * 0.5, "large Ibcast at %d", i);
        free(d);
    }

    /* --- Ireduce to every root, Iallreduce --- */
    for (int root = 0; root < size; root++) {
        long s[7], out[7];
        for (int i = 0; i < 7; i++) {
            s[i] = contrib(rank, i);
            out[i] = -1;
        }
        MPI_CHECK(MPI_Ireduce(s, out, 7, MPI_LONG, MPI_SUM, root, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        for (int i = 0; i < 7; i++) {
            long want = 0;
            for (int q = 0; q < size; q++)
                want += contrib(q, i);
            CHECK(rank != root || out[i] == want, "Ireduce root %d: %ld, want %ld", root, out[i], want);
            CHECK(rank == root || out[i] == -1, "Ireduce wrote a non-root's buffer");
        }
        /* MPI_IN_PLACE at the root */
        for (int i = 0; i < 7; i++)
            out[i] = contrib(rank, i);
        MPI_CHECK(MPI_Ireduce(rank == root ? MPI_IN_PLACE : out, rank == root ? out : NULL, 7, MPI_LONG,
                              MPI_MAX, root, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        if (rank == root)
            for (int i = 0; i < 7; i++)
                CHECK(out[i] == contrib(size - 1, i), "in-place Ireduce: %ld", out[i]);
    }
    {
        int n = 100000;
        double *a = malloc(sizeof(double) * n), *b = malloc(sizeof(double) * n);
        for (int i = 0; i < n; i++)
            a[i] = rank + i;
        MPI_CHECK(MPI_Iallreduce(a, b, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        double rs = size * (size - 1) / 2.0;
        for (int i = 0; i < n; i++)
            CHECK(b[i] == rs + (double)size * i, "Iallreduce at %d: %g", i, b[i]);
        /* in place, max */
        for (int i = 0; i < n; i++)
            a[i] = (rank * 7919 + i) % 1000;
        MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, a, n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        for (int i = 0; i < n; i++) {
            double want = 0;
            for (int q = 0; q < size; q++)
                want = want > (q * 7919 + i) % 1000 ? want : (q * 7919 + i) % 1000;
            CHECK(a[i] == want, "in-place Iallreduce at %d: %g, want %g", i, a[i], want);
        }
        free(a);
        free(b);
    }
    /* the _c form */
    {
        int one = 1, all = 0;
        MPI_CHECK(MPI_Iallreduce_c(&one, &all, (MPI_Count)1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        CHECK(all == size);
    }

    /* --- several outstanding on one communicator, waited for in start order --- */
    for (int rep = 0; rep < 3; rep++) {
        int b0[3], b1[3];
        long s2 = rank + rep, o2 = 0, s3 = rank * 2, o3 = -1;
        for (int i = 0; i < 3; i++) {
            b0[i] = rank == 0 ? 10 + i + rep : 0;
            b1[i] = rank == size - 1 ? 20 + i + rep : 0;
        }
        MPI_CHECK(MPI_Ibcast(b0, 3, MPI_INT, 0, MPI_COMM_WORLD, &r[0]));
        MPI_CHECK(MPI_Iallreduce(&s2, &o2, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, &r[1]));
        MPI_CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &r[2]));
        MPI_CHECK(MPI_Ireduce(&s3, &o3, 1, MPI_LONG, MPI_SUM, size - 1, MPI_COMM_WORLD, &r[3]));
        MPI_CHECK(MPI_Ibcast(b1, 3, MPI_INT, size - 1, MPI_COMM_WORLD, &r[4]));
        if (rep == 0) {
            for (int k = 0; k < 5; k++)
                MPI_CHECK(MPI_Wait(&r[k], MPI_STATUS_IGNORE));
        } else if (rep == 1) {
            MPI_Status sts[5];
            MPI_CHECK(MPI_Waitall(5, r, sts));
        } else {
            /* in reverse: completing the later ones needs the earlier ones to progress */
            for (int k = 4; k >= 0; k--)
                MPI_CHECK(MPI_Wait(&r[k], MPI_STATUS_IGNORE));
        }
        for (int i = 0; i < 3; i++) {
            CHECK(b0[i] == 10 + i + rep && b1[i] == 20 + i + rep, "outstanding Ibcasts: %d %d", b0[i], b1[i]);
        }
        CHECK(o2 == (long)size * (size - 1) / 2 + (long)size * rep, "outstanding Iallreduce: %ld", o2);
        CHECK(rank != size - 1 || o3 == (long)size * (size - 1), "outstanding Ireduce: %ld", o3);
    }

    /* --- overlap: a collective in flight while messages go around a ring --- */
    {
        int x = rank + 1, sum = 0;
        MPI_CHECK(MPI_Iallreduce(&x, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[0]));
        int right = (rank + 1) % size, left = (rank + size - 1) % size;
        for (int k = 0; k < 10; k++) {
            int out = rank * 100 + k, in = -1;
            MPI_CHECK(MPI_Sendrecv(&out, 1, MPI_INT, right, k, &in, 1, MPI_INT, left, k, MPI_COMM_WORLD, &st));
            CHECK(in == left * 100 + k, "ring message %d: %d", k, in);
        }
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        CHECK(sum == size * (size + 1) / 2, "overlapped Iallreduce: %d", sum);
    }

    /* --- MPI_Test polling --- */
    {
        int flag = 0, polls = 0;
        MPI_CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &r[0]));
        while (!flag) {
            MPI_CHECK(MPI_Test(&r[0], &flag, MPI_STATUS_IGNORE));
            polls++;
        }
        CHECK(r[0] == MPI_REQUEST_NULL && polls >= 1);
    }

    /* --- intercommunicator: even ranks against odd ranks --- */
    if (size >= 2) {
        MPI_Comm half, inter;
        int color = rank % 2;
        MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &half));
        MPI_CHECK(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, color == 0 ? 1 : 0, 55, &inter));
        int lrank, lsize, rsize;
        MPI_CHECK(MPI_Comm_rank(half, &lrank));
        MPI_CHECK(MPI_Comm_size(half, &lsize));
        MPI_CHECK(MPI_Comm_remote_size(inter, &rsize));
        /* Ibcast from even rank 0 (local rank 0 of group 0) to the odd group */
        int v[4] = {0, 0, 0, 0};
        int root = color == 0 ? (lrank == 0 ? MPI_ROOT : MPI_PROC_NULL) : 0;
        if (color == 0 && lrank == 0)
            for (int i = 0; i < 4; i++)
                v[i] = 40 + i;
        MPI_CHECK(MPI_Ibcast(v, 4, MPI_INT, root, inter, &r[0]));
        /* Iallreduce: each group gets the sum of the other group's world ranks */
        long me = rank, other = -1;
        MPI_CHECK(MPI_Iallreduce(&me, &other, 1, MPI_LONG, MPI_SUM, inter, &r[1]));
        MPI_CHECK(MPI_Waitall(2, r, MPI_STATUSES_IGNORE));
        if (color == 1)
            for (int i = 0; i < 4; i++)
                CHECK(v[i] == 40 + i, "intercomm Ibcast: %d", v[i]);
        long want = 0;
        for (int q = 0; q < size; q++)
            if (q % 2 != color)
                want += q;
        CHECK(other == want, "intercomm Iallreduce: %ld, want %ld", other, want);
        MPI_CHECK(MPI_Ibarrier(inter, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        MPI_CHECK(MPI_Comm_free(&inter));
        MPI_CHECK(MPI_Comm_free(&half));
    }

    MPI_CHECK(MPI_Finalize());
    return 0;
}
