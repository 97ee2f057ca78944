/* osu_bibw: windowed bidirectional bandwidth between two ranks, OSU method.
 *
 * For each size: one checked exchange (each direction verified on its receiver, outside the
 * timing), a barrier, then `skip` warm-up + `iters` timed iterations in which both ranks
 *   post 64 x Irecv(size) ; post 64 x Isend(size) ; Waitall(all 128)
 * Bandwidth = 2 * size * 64 * iters / elapsed, in MB/s (1 MB = 1e6 bytes), the sum of both
 * directions, timed on rank 0. As in OSU, all messages of a window use one send and one
 * receive buffer per rank. Output: comment lines start with '#'; data lines "size MB/s".
 * Options: see common.h (defaults: 100 iterations / 10 warm-up up to 8 KiB, 20 / 2 above).
 */
#include <mpi.h>
#include "common.h"

#define WINDOW 64

int main(int argc, char **argv)
{
    struct bench_opts o;
    int rank;
    char *sbuf, *rbuf;
    int rc = bench_start(&argc, &argv, "osu_bibw", 0, &o, 1, 100, 20, 10, 2, &rank, &sbuf, &rbuf);
    if (rc != 0) {
        MPI_Finalize();
        return rc;
    }
    int peer = 1 - rank;
    MPI_Request req[2 * WINDOW];
    MPI_Status sts[2 * WINDOW];
    if (rank == 0) {
        printf("# ferrompi osu_bibw (OSU method, window %d each way, MB = 1e6 bytes, both directions)\n", WINDOW);
        printf("# size MB/s\n");
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
            for (int w = 0; w < WINDOW; w++)
                MPI_Irecv(rbuf, (int)n, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &req[w]);
            for (int w = 0; w < WINDOW; w++)
                MPI_Isend(sbuf, (int)n, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &req[WINDOW + w]);
            MPI_Waitall(2 * WINDOW, req, sts);
        }
        double t1 = MPI_Wtime();
        if (rank == 0) {
            printf("%ld %.2f\n", n, 2.0 * (double)n * WINDOW * iters / (t1 - t0) / 1e6);
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
