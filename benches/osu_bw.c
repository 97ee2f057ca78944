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

#define WINDOW 64

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
    int peer = 1 - rank;
    MPI_Request req[WINDOW];
    MPI_Status sts[WINDOW];
    MPI_Status st;
    char ack[4] = {0, 0, 0, 0};
    if (rank == 0) {
        printf("# ferrompi osu_bw (OSU method, window %d, MB = 1e6 bytes)\n", WINDOW);
        printf("# size MB/s\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = o.sizes[k];
        int iters = n > BENCH_LARGE_MESSAGE ? o.iters_large : o.iters_small;
        int skip = n > BENCH_LARGE_MESSAGE ? o.skip_large : o.skip_small;

        failed |= bench_checked_send(sbuf, rbuf, n, k, rank, 0, 1);

        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0.0, warm = MPI_Wtime();
        for (int i = 0; i < skip + iters; i++) {
            if (i == skip) {
                iters = bench_timed_iters(&o, iters, skip, MPI_Wtime() - warm);
                t0 = MPI_Wtime();
            }
            if (rank == 0) {
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
        double t1 = MPI_Wtime();
        if (rank == 0) {
            printf("%ld %.2f\n", n, (double)n * WINDOW * iters / (t1 - t0) / 1e6);
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
