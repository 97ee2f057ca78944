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

#define WINDOW 64

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
    int peer = sender ? rank + pairs : rank - pairs;
    MPI_Request req[WINDOW];
    MPI_Status sts[WINDOW];
    MPI_Status st;
    char ack[4] = {0, 0, 0, 0};
    if (rank == 0) {
        printf("# ferrompi osu_mbw_mr (OSU method, %d pairs, window %d, MB = 1e6 bytes; messages/s = MB/s * 1e6 / size)\n",
               pairs, WINDOW);
        printf("# size MB/s\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = o.sizes[k];
        int iters = n > BENCH_LARGE_MESSAGE ? o.iters_large : o.iters_small;
        int skip = n > BENCH_LARGE_MESSAGE ? o.skip_large : o.skip_small;

        failed |= bench_checked_send(sbuf, rbuf, n, k, rank, sender ? rank : peer, sender ? peer : rank);

        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0.0, warm = MPI_Wtime();
        for (int i = 0; i < skip + iters; i++) {
            if (i == skip) {
                iters = bench_timed_iters(&o, iters, skip, MPI_Wtime() - warm);
                t0 = MPI_Wtime();
            }
            if (sender) {
                for (int w = 0; w < WINDOW; w++)
                    MPI_Isend(sbuf, (int)n, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &req[w]);
                MPI_Waitall(WINDOW, req, sts);
                MPI_Recv(ack, 4, MPI_CHAR, peer, 101, MPI_COMM_WORLD, &st);
            } else {
                for (int w = 0; w < WINDOW; w++)
                    MPI_Irecv(rbuf, (int)n, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &req[w]);
                MPI_Waitall(WINDOW, req, sts);
                MPI_Send(ack, 4, MPI_CHAR, peer, 101, MPI_COMM_WORLD);
            }
        }
        double elapsed = sender ? MPI_Wtime() - t0 : 0.0, sum = 0.0;
        MPI_Reduce(&elapsed, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            printf("%ld %.2f\n", n, pairs * (double)n * WINDOW * iters / (sum / pairs) / 1e6);
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
