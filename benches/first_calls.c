/* first_calls: the time of each of the first 30 MPI_Bcast calls of one size from rank 0, and
 * the CPU each rank was on after it: shows what a process's first large transfers cost (ranks
 * sharing a core until the kernel spreads them, faults on first touch, lazy set-up).
 *
 * Usage: mpirun -n 2 first_calls [BYTES]   (default 262144)
 * Output: one line per rank, "rank R: us@cpu us@cpu ..." in call order.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALLS 30

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 262144;
    char *buf = malloc(n > 0 ? n : 1);
    if (!buf || n <= 0 || n > 1L << 30) {
        fprintf(stderr, "first_calls: bad size %ld\n", n);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    memset(buf, rank, n); /* faults on the buffer stay out of the timed calls */
    double us[CALLS];
    int cpu[CALLS];
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < CALLS; i++) {
        double t0 = MPI_Wtime();
        MPI_Bcast(buf, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD);
        us[i] = (MPI_Wtime() - t0) * 1e6;
        cpu[i] = sched_getcpu();
    }
    for (int r = 0; r < size; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        if (r == rank) {
            printf("rank %d:", rank);
            for (int i = 0; i < CALLS; i++) printf(" %.0f@%d", us[i], cpu[i]);
            printf("\n");
            fflush(stdout);
        }
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
