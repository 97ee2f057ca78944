/* osu_mbw_mr: multi-pair bandwidth and message rate, OSU method.
 *
 * N ranks (even) form N/2 pairs: rank r < N/2 sends to rank r + N/2. For each size: one
 * checked message per pair (verified on the receiver, outside the timing), a barrier, then
 * `skip` warm-up + `iters` timed iterations in which every pair at once does
 *   sender:   64 x Isend(size) ; Waitall ; Recv(4-byte ack)
 *   receiver: 64 x Irecv(size) ; Waitall ; Send(4-byte ack)
 * Each sender times its own loop; as in OSU, the aggregate bandwidth is
 *   pairs * size * 64 * iters / (mean of the senders' elapsed times)
 * in MB/s (1 MB = 1e6 bytes). The message rate is that bandwidth divided by the size
 * (messages/s = MB/s * 1e6 / size), so it is not printed separately.
 * Output: comment lines start with '#'; data lines "size MB/s".
 * Options: see common.h (defaults: 100 iterations / 10 warm-up up to 8 KiB, 20 / 2 above).
 */
#include <mpi.h>
#include "common.h"

int main(int argc, char **argv)
{
    struct bench_opts o;
    int rank, nranks;
    char *sbuf, *rbuf;
    int rc = bench_start(&argc, &argv, "osu_mbw_mr", 1, &o, 1, 100, 20, 10, 2, &rank, &sbuf, &rbuf);
    if (rc != 0) {
        MPI_Finalize();
        return rc;
    }
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    int pairs = nranks / 2;
    int sender = rank < pairs;
    struct bench_pair pair = {sbuf, rbuf, 0, sender ? rank + pairs : rank - pairs, sender};
    if (rank == 0) {
        printf("# ferrompi osu_mbw_mr (OSU method, %d pairs, window %d, MB = 1e6 bytes; messages/s = MB/s * 1e6 / size)\n",
               pairs, BENCH_WINDOW);
        printf("# size MB/s\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = pair.n = o.sizes[k];
        failed |= bench_checked_send(sbuf, rbuf, n, k, rank, sender ? rank : pair.peer, sender ? pair.peer : rank);
        int iters;
        double elapsed = bench_rounds(&o, n, &iters, bench_window, &pair);
        double mine = sender ? elapsed : 0.0, sum = 0.0;
        MPI_Reduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            printf("%ld %.2f\n", n, pairs * (double)n * BENCH_WINDOW * iters / (sum / pairs) / 1e6);
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
