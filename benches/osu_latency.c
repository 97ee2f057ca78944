/* osu_latency: ping-pong latency between two ranks, OSU method.
 *
 * For each size: one checked exchange (data verified on both sides, outside
 * the timing), a barrier, `skip` warm-up round trips, then `iters` timed round
 * trips (rank 0: Send then Recv; rank 1: Recv then Send). Reported one-way
 * latency = elapsed / (2 * iters), in microseconds, measured on rank 0.
 * Output: comment lines start with '#'; data lines are "size latency_us".
 * Options: see common.h (defaults: 10000 iterations / 1000 warm-up up to
 * 8 KiB, 1000 / 10 above).
 */
#include <mpi.h>
#include "common.h"

int main(int argc, char **argv)
{
    struct bench_opts o;
    int rank;
    char *sbuf, *rbuf;
    int rc = bench_start(&argc, &argv, "osu_latency", 0, &o, 0, 10000, 1000, 1000, 10, &rank, &sbuf, &rbuf);
    if (rc != 0) {
        MPI_Finalize();
        return rc;
    }
    int peer = 1 - rank;
    MPI_Status st;
    if (rank == 0) {
        printf("# ferrompi osu_latency (OSU method, one-way = round trip / 2)\n");
        printf("# size latency_us\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = o.sizes[k];
        int iters = n > BENCH_LARGE_MESSAGE ? o.iters_large : o.iters_small;
        int skip = n > BENCH_LARGE_MESSAGE ? o.skip_large : o.skip_small;

        failed |= bench_checked_exchange(sbuf, rbuf, n, k, rank, peer);

        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0.0, warm = MPI_Wtime();
        for (int i = 0; i < skip + iters; i++) {
            if (i == skip) {
                iters = bench_timed_iters(&o, iters, skip, MPI_Wtime() - warm);
                t0 = MPI_Wtime();
            }
            if (rank == 0) {
                MPI_Send(sbuf, (int)n, MPI_CHAR, peer, 1, MPI_COMM_WORLD);
                MPI_Recv(rbuf, (int)n, MPI_CHAR, peer, 1, MPI_COMM_WORLD, &st);
            } else {
                MPI_Recv(rbuf, (int)n, MPI_CHAR, peer, 1, MPI_COMM_WORLD, &st);
                MPI_Send(sbuf, (int)n, MPI_CHAR, peer, 1, MPI_COMM_WORLD);
            }
        }
        double t1 = MPI_Wtime();
        if (rank == 0) {
            printf("%ld %.3f\n", n, (t1 - t0) * 1e6 / (2.0 * iters));
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
