/* ranks: 2 3 4 */
/* env: FERROMPI_SHM_SINGLE_COPY=0 */
/* env: FERROMPI_OFI_NO_RMA=1 */
/* timeout: 120 */
/* Large messages: 1 MiB and 8 MiB, checksummed, both directions at once, several in flight
 * (Isend/Irecv), blocking Send/Recv with receives posted late (unexpected large message),
 * unaligned buffers, and a large Sendrecv_replace. Run again with single-copy off (within a host)
 * and with RDMA reads off (across hosts): each large-message path in turn. */
#include "testutil.h"

#define MIB (1 << 20)

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

static uint64_t expect_sum(size_t n, uint64_t seed)
{
    unsigned char *tmp = malloc(n);
    fill(tmp, n, seed);
    uint64_t h = tu_fnv(tmp, n);
    free(tmp);
    return h;
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int partner = rank ^ 1;
    MPI_Status st;
    if (partner >= size)
        partner = MPI_PROC_NULL; /* odd size: the last rank only does the ring part */

    /* 1. pairs exchange 1 MiB and 8 MiB messages, 3 of each in flight, both directions */
    if (partner != MPI_PROC_NULL) {
        enum { K = 3 };
        size_t sizes[2] = {MIB, 8 * MIB};
        for (int s = 0; s < 2; s++) {
            size_t n = sizes[s];
            unsigned char *out[K], *in[K];
            MPI_Request rq[2 * K];
            for (int k = 0; k < K; k++) {
                out[k] = malloc(n);
                in[k] = malloc(n);
                fill(out[k], n, rank * 100 + s * 10 + k);
                memset(in[k], 0, n);
                MPI_CHECK(MPI_Irecv(in[k], (int)n, MPI_BYTE, partner, 10 + k, MPI_COMM_WORLD,
                                    &rq[k]));
            }
            for (int k = K - 1; k >= 0; k--)
                MPI_CHECK(MPI_Isend(out[k], (int)n, MPI_BYTE, partner, 10 + k, MPI_COMM_WORLD,
                                    &rq[K + k]));
            MPI_Status sts[2 * K];
            MPI_CHECK(MPI_Waitall(2 * K, rq, sts));
            for (int k = 0; k < K; k++) {
                CHECK_STATUS(sts[k], partner, 10 + k, MPI_BYTE, (int)n);
                CHECK(tu_fnv(in[k], n) == expect_sum(n, partner * 100 + s * 10 + k),
                      "%zu-byte message %d: checksum mismatch", n, k);
                free(out[k]);
                free(in[k]);
            }
        }

        /* 2. unexpected large messages: sent before the receive is posted (Isend, receiver
         * sleeps), in both directions, with doubles */
        size_t nd = MIB; /* 8 MiB of doubles */
        double *dout = malloc(nd * sizeof(double)), *din = malloc(nd * sizeof(double));
        for (size_t i = 0; i < nd; i++)
            dout[i] = rank * 1e7 + (double)i;
        MPI_Request sq;
        MPI_CHECK(MPI_Isend(dout, (int)nd, MPI_DOUBLE, partner, 20, MPI_COMM_WORLD, &sq));
        tu_sleep_ms(50);
        MPI_CHECK(MPI_Recv(din, (int)nd, MPI_DOUBLE, partner, 20, MPI_COMM_WORLD, &st));
        CHECK_STATUS(st, partner, 20, MPI_DOUBLE, (int)nd);
        MPI_CHECK(MPI_Wait(&sq, MPI_STATUS_IGNORE));
        for (size_t i = 0; i < nd; i++)
            CHECK(din[i] == partner * 1e7 + (double)i, "double %zu", i);
        free(dout);
        free(din);

        /* 3. unaligned buffers, odd length */
        size_t n = MIB + 3;
        unsigned char *o = malloc(n + 8), *i8 = malloc(n + 8);
        fill(o + 3, n, rank + 7);
        MPI_CHECK(MPI_Sendrecv(o + 3, (int)n, MPI_BYTE, partner, 30, i8 + 5, (int)n, MPI_BYTE,
                               partner, 30, MPI_COMM_WORLD, &st));
        CHECK_STATUS(st, partner, 30, MPI_BYTE, (int)n);
        CHECK(tu_fnv(i8 + 5, n) == expect_sum(n, partner + 7), "unaligned: checksum mismatch");
        free(o);
        free(i8);
    }

    /* 4. a ring of 8 MiB Sendrecv_replace */
    {
        int next = (rank + 1) % size, prev = (rank + size - 1) % size;
        size_t n = 8 * MIB;
        unsigned char *b = malloc(n);
        fill(b, n, 1000 + rank);
        MPI_CHECK(MPI_Sendrecv_replace(b, (int)n, MPI_BYTE, next, 40, prev, 40, MPI_COMM_WORLD,
                                       &st));
        CHECK_STATUS(st, prev, 40, MPI_BYTE, (int)n);
        CHECK(tu_fnv(b, n) == expect_sum(n, 1000 + prev), "ring: checksum mismatch");
        free(b);
    }

    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
