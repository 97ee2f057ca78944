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
    struct bench_pair pair = {sbuf, rbuf, 0, 1 - rank, rank == 0};
    if (rank == 0) {
        printf("# ferrompi osu_latency (OSU method, one-way = round trip / 2)\n");
        printf("# size latency_us\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = pair.n = o.sizes[k];
        failed |= bench_checked_exchange(sbuf, rbuf, n, k, rank, pair.peer);
        int iters;
        double elapsed = bench_rounds(&o, n, &iters, bench_pingpong, &pair);
        if (rank == 0) {
            printf("%ld %.3f\n", n, elapsed * 1e6 / (2.0 * iters));
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
