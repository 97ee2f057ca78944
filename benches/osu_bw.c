/* osu_bw: windowed unidirectional bandwidth between two ranks, OSU method.
 *
 * For each size: one checked transfer (verified on the receiver, outside the
 * timing), a barrier, then `skip` warm-up + `iters` timed iterations of:
 *   rank 0: 64 x Isend(size) ; Waitall ; Recv(4-byte ack)
 *   rank 1: 64 x Irecv(size) ; Waitall ; Send(4-byte ack)
 * Bandwidth = size * 64 * iters / elapsed, in MB/s (1 MB = 1e6 bytes), on
 * rank 0. As in OSU, all messages of a window use one send and one receive
 * buffer. Output: comment lines start with '#'; data lines "size MB/s".
 * Options: see common.h (defaults: 100 iterations / 10 warm-up up to 8 KiB,
 * 20 / 2 above).
 */
#include <mpi.h>
#include "common.h"

int main(int argc, char **argv)
{
    struct bench_opts o;
    int rank;
    char *sbuf, *rbuf;
    int rc = bench_start(&argc, &argv, "osu_bw", 0, &o, 1, 100, 20, 10, 2, &rank, &sbuf, &rbuf);
    if (rc != 0) {
        MPI_Finalize();
        return rc;
    }
    struct bench_pair pair = {sbuf, rbuf, 0, 1 - rank, rank == 0};
    if (rank == 0) {
        printf("# ferrompi osu_bw (OSU method, window %d, MB = 1e6 bytes)\n", BENCH_WINDOW);
        printf("# size MB/s\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = pair.n = o.sizes[k];
        failed |= bench_checked_send(sbuf, rbuf, n, k, rank, 0, 1);
        int iters;
        double elapsed = bench_rounds(&o, n, &iters, bench_window, &pair);
        if (rank == 0) {
            printf("%ld %.2f\n", n, (double)n * BENCH_WINDOW * iters / elapsed / 1e6);
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
