/* coll_median: the median time of one collective call, for each size given, over 200 calls
 * (after 10 warm-up calls), each call timed on its own after a barrier; the largest of the
 * ranks' medians is printed. On a shared host the median ignores the calls a preemption hit,
 * which dominate the OSU mean (osu_coll.c) there.
 *
 * Usage: mpirun -n N coll_median reduce|allreduce|allgather|bcast BYTES...
 * (reduce/allreduce: MPI_FLOAT MPI_SUM to rank 0; allgather: BYTES per rank; bcast from 0)
 * Output: "BYTES median_us" per size.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALLS 200

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, np;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    const char *coll = argc > 1 ? argv[1] : "";
    int known = !strcmp(coll, "reduce") || !strcmp(coll, "allreduce") || !strcmp(coll, "allgather") || !strcmp(coll, "bcast");
    long max = 0;
    for (int k = 2; k < argc; k++) max = atol(argv[k]) > max ? atol(argv[k]) : max;
    if (!known || argc < 3 || max > 1L << 28) {
        if (rank == 0) fprintf(stderr, "usage: coll_median reduce|allreduce|allgather|bcast BYTES...\n");
        MPI_Finalize();
        return 2;
    }
    char *s = malloc(max * np + 1), *r = malloc(max * np + 1);
    if (!s || !r) MPI_Abort(MPI_COMM_WORLD, 1);
    memset(s, 1, max * np + 1);
    memset(r, 0, max * np + 1);
    double t[CALLS];
    for (int k = 2; k < argc; k++) {
        long n = atol(argv[k]);
        for (int i = -10; i < CALLS; i++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            if (!strcmp(coll, "reduce")) MPI_Reduce(s, r, (int)(n / 4), MPI_FLOAT, MPI_SUM, 0, MPI_COMM_WORLD);
            else if (!strcmp(coll, "allreduce")) MPI_Allreduce(s, r, (int)(n / 4), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            else if (!strcmp(coll, "allgather")) MPI_Allgather(s, (int)n, MPI_CHAR, r, (int)n, MPI_CHAR, MPI_COMM_WORLD);
            else MPI_Bcast(s, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD);
            if (i >= 0) t[i] = (MPI_Wtime() - t0) * 1e6;
        }
        qsort(t, CALLS, sizeof t[0], by_value);
        double mine = t[CALLS / 2], worst;
        MPI_Reduce(&mine, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0) printf("%ld %.1f\n", n, worst);
    }
    free(s);
    free(r);
    MPI_Finalize();
    return 0;
}
