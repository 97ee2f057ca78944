/* ranks: 1 2 3 4 6 8 */
/* env: FERROMPI_COLL_BCAST=scatter_allgather FERROMPI_COLL_REDUCE=reduce_scatter_gather FERROMPI_COLL_ALLREDUCE=rabenseifner FERROMPI_COLL_ALLGATHER=bruck FERROMPI_COLL_ALLTOALL=bruck */
/* env: FERROMPI_COLL_ALLREDUCE=ring FERROMPI_COLL_ALLGATHER=recursive_doubling */
/* MPI_Barrier (nobody leaves before the last rank arrives; repeated barriers) and MPI_Bcast
 * from every root with counts 0, 1, 1000 and large (64 Ki ints, 8 MiB of bytes), several
 * datatypes (incl. a pair type and long double), back-to-back broadcasts from different roots,
 * and collectives on MPI_COMM_SELF. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();

    /* --- Barrier --- */
    for (int i = 0; i < 20; i++)
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Barrier(MPI_COMM_SELF));
    /* the last rank arrives 200 ms late: every rank's barrier must last about that long. It
     * waits inside MPI (probing), not in sleep(): across hosts its last message of the previous
     * barrier may need its own progress to leave (MPI promises progress only within MPI calls),
     * which would hold the others in the previous barrier instead of this one. */
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    double t0 = MPI_Wtime();
    if (rank == size - 1) {
        int flag;
        while (MPI_Wtime() - t0 < 0.2)
            MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, 12345, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE));
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    double dt = MPI_Wtime() - t0;
    CHECK(dt >= 0.1, "left the barrier after %.3f s, before the late rank arrived", dt);
    /* A message sent after a barrier is not received before it (Iprobe shows nothing before). */
    if (size > 1) {
        int flag = 1;
        MPI_Status st;
        if (rank == 0) {
            MPI_CHECK(MPI_Iprobe(1, 77, MPI_COMM_WORLD, &flag, &st));
            CHECK(!flag, "a message sent after the barrier arrived before it");
        }
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        if (rank == 1)
            MPI_CHECK(MPI_Send(&rank, 1, MPI_INT, 0, 77, MPI_COMM_WORLD));
        if (rank == 0) {
            int v;
            MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, 1, 77, MPI_COMM_WORLD, &st));
        }
    }

    /* --- Bcast: every root, several counts --- */
    int counts[] = {0, 1, 1000, 1 << 16};
    int *ib = malloc(sizeof(int) * ((1 << 16) + 1));
    for (int root = 0; root < size; root++) {
        for (unsigned c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            int n = counts[c];
            for (int i = 0; i < n; i++)
                ib[i] = rank == root ? root * 7 + i * 3 : -1;
            int sentinel = 0;
            if (n < (1 << 16)) {
                ib[n] = 12345; /* must not be written */
                sentinel = 1;
            }
            MPI_CHECK(MPI_Bcast(ib, n, MPI_INT, root, MPI_COMM_WORLD));
            for (int i = 0; i < n; i++)
                CHECK(ib[i] == root * 7 + i * 3, "Bcast root %d count %d: element %d = %d", root,
                      n, i, ib[i]);
            if (sentinel)
                CHECK(ib[n] == 12345, "Bcast wrote past count %d", n);
        }
        /* NULL buffer with count 0 */
        MPI_CHECK(MPI_Bcast(NULL, 0, MPI_INT, root, MPI_COMM_WORLD));
    }
    free(ib);

    /* 8 MiB of bytes, from the last root */
    {
        size_t n = 8u << 20;
        unsigned char *b = malloc(n);
        int root = size - 1;
        for (size_t i = 0; i < n; i++)
            b[i] = rank == root ? (unsigned char)(i * 13 + (i >> 12)) : 0;
        MPI_CHECK(MPI_Bcast(b, (int)n, MPI_BYTE, root, MPI_COMM_WORLD));
        for (size_t i = 0; i < n; i++)
            CHECK(b[i] == (unsigned char)(i * 13 + (i >> 12)), "8 MiB Bcast at %zu", i);
        free(b);
    }

    /* other datatypes */
    {
        double d[5];
        long double ld[3];
        struct {
            double v;
            int k;
        } di[4];
        short sh[9];
        for (int i = 0; i < 5; i++)
            d[i] = rank == 1 % size ? i * 1.5 : 0;
        for (int i = 0; i < 3; i++)
            ld[i] = rank == 0 ? (long double)i / 3 : 0;
        for (int i = 0; i < 4; i++) {
            di[i].v = rank == 0 ? -i * 0.25 : 9;
            di[i].k = rank == 0 ? i * 100 : 9;
        }
        for (int i = 0; i < 9; i++)
            sh[i] = rank == size - 1 ? (short)(-i * 1000) : 0;
        MPI_CHECK(MPI_Bcast(d, 5, MPI_DOUBLE, 1 % size, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Bcast(ld, 3, MPI_LONG_DOUBLE, 0, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Bcast(di, 4, MPI_DOUBLE_INT, 0, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Bcast(sh, 9, MPI_SHORT, size - 1, MPI_COMM_WORLD));
        for (int i = 0; i < 5; i++)
            CHECK(d[i] == i * 1.5);
        for (int i = 0; i < 3; i++)
            CHECK(ld[i] == (long double)i / 3);
        for (int i = 0; i < 4; i++)
            CHECK(di[i].v == -i * 0.25 && di[i].k == i * 100);
        for (int i = 0; i < 9; i++)
            CHECK(sh[i] == (short)(-i * 1000));
    }

    /* back-to-back broadcasts from different roots without anything in between */
    {
        int v[16];
        for (int k = 0; k < 16; k++)
            v[k] = rank == k % size ? k * 11 : -1;
        for (int k = 0; k < 16; k++)
            MPI_CHECK(MPI_Bcast(&v[k], 1, MPI_INT, k % size, MPI_COMM_WORLD));
        for (int k = 0; k < 16; k++)
            CHECK(v[k] == k * 11, "broadcast %d got %d", k, v[k]);
    }

    /* collectives on SELF */
    {
        int v = 5, s = 0;
        MPI_CHECK(MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_SELF));
        CHECK(v == 5);
        MPI_CHECK(MPI_Allreduce(&v, &s, 1, MPI_INT, MPI_SUM, MPI_COMM_SELF));
        CHECK(s == 5);
        MPI_CHECK(MPI_Reduce(&v, &s, 1, MPI_INT, MPI_MAX, 0, MPI_COMM_SELF));
        CHECK(s == 5);
    }

    MPI_CHECK(MPI_Finalize());
    return 0;
}
