/* osu_multi_lat: ping-pong latency of several pairs at once, OSU method.
 *
 * N ranks (even) form N/2 pairs: rank r < N/2 plays ping-pong with rank r + N/2, all pairs
 * at the same time (with more ranks than cores this shows how an MPI waits: a rank that
 * busy-polls takes the core its peer needs). For each size: one checked exchange per pair
 * (outside the timing), a barrier, `skip` warm-up round trips, then `iters` timed round trips
 * (lower rank: Send then Recv; higher rank: Recv then Send). Each lower rank's one-way
 * latency = elapsed / (2 * iters); reported = the mean over pairs, in microseconds.
 * Output: comment lines start with '#'; data lines "size latency_us".
 * Options: see common.h (defaults: 10000 iterations / 1000 warm-up up to 8 KiB, 1000 / 10
 * above).
 */
#include <mpi.h>
#include "common.h"

int main(int argc, char **argv)
{
    struct bench_opts o;
    int rank, nranks;
    char *sbuf, *rbuf;
    int rc = bench_start(&argc, &argv, "osu_multi_lat", 1, &o, 0, 10000, 1000, 1000, 10, &rank, &sbuf, &rbuf);
    if (rc != 0) {
        MPI_Finalize();
        return rc;
    }
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    int pairs = nranks / 2;
    int first = rank < pairs;
    struct bench_pair pair = {sbuf, rbuf, 0, first ? rank + pairs : rank - pairs, first};
    if (rank == 0) {
        printf("# ferrompi osu_multi_lat (OSU method, %d pairs at once, one-way = round trip / 2, mean over pairs)\n", pairs);
        printf("# size latency_us\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = pair.n = o.sizes[k];
        failed |= bench_checked_exchange(sbuf, rbuf, n, k, rank, pair.peer);
        int iters;
        double elapsed = bench_rounds(&o, n, &iters, bench_pingpong, &pair);
        double mine = first ? elapsed * 1e6 / (2.0 * iters) : 0.0, sum = 0.0;
        MPI_Reduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            printf("%ld %.3f\n", n, sum / pairs);
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
