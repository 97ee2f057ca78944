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

/* One window each way: both ranks post BENCH_WINDOW receives, then as many sends, and wait
 * for all of them. */
static void both_ways(void *ctx)
{
    struct bench_pair *p = (struct bench_pair *)ctx;
    MPI_Request req[2 * BENCH_WINDOW];
    MPI_Status sts[2 * BENCH_WINDOW];
    for (int w = 0; w < BENCH_WINDOW; w++)
        MPI_Irecv(p->rbuf, (int)p->n, MPI_CHAR, p->peer, 100, MPI_COMM_WORLD, &req[w]);
    for (int w = 0; w < BENCH_WINDOW; w++)
        MPI_Isend(p->sbuf, (int)p->n, MPI_CHAR, p->peer, 100, MPI_COMM_WORLD, &req[BENCH_WINDOW + w]);
    MPI_Waitall(2 * BENCH_WINDOW, req, sts);
}

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
    struct bench_pair pair = {sbuf, rbuf, 0, 1 - rank, rank == 0};
    if (rank == 0) {
        printf("# ferrompi osu_bibw (OSU method, window %d each way, MB = 1e6 bytes, both directions)\n", BENCH_WINDOW);
        printf("# size MB/s\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = pair.n = o.sizes[k];
        failed |= bench_checked_exchange(sbuf, rbuf, n, k, rank, pair.peer);
        int iters;
        double elapsed = bench_rounds(&o, n, &iters, both_ways, &pair);
        if (rank == 0) {
            printf("%ld %.2f\n", n, 2.0 * (double)n * BENCH_WINDOW * iters / elapsed / 1e6);
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
