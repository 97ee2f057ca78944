/* reduce_local: the median time of MPI_Reduce_local (MPI_SUM) over 201 calls, after 20
 * warm-up calls, for float, double and int vectors of 64 Ki, 256 Ki and 1 Mi elements: the
 * reduction loop alone, no communication. One process.
 *
 * Usage: mpirun -n 1 reduce_local
 * Output: "n=N float F us  double D us  int I us" per length.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALLS 201

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_us(MPI_Datatype type, int n, size_t elem)
{
    char *in = malloc(n * elem), *inout = malloc(n * elem);
    if (!in || !inout) {
        fprintf(stderr, "reduce_local: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(in, 0, n * elem);
    memset(inout, 0, n * elem);
    double t[CALLS];
    for (int i = 0; i < 20; i++) MPI_Reduce_local(in, inout, n, type, MPI_SUM);
    for (int i = 0; i < CALLS; i++) {
        double t0 = MPI_Wtime();
        MPI_Reduce_local(in, inout, n, type, MPI_SUM);
        t[i] = MPI_Wtime() - t0;
    }
    qsort(t, CALLS, sizeof t[0], by_value);
    free(in);
    free(inout);
    return t[CALLS / 2] * 1e6;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const int lengths[] = {1 << 16, 1 << 18, 1 << 20};
    for (int k = 0; k < 3; k++) {
        int n = lengths[k];
        printf("n=%d float %.1f us  double %.1f us  int %.1f us\n", n, median_us(MPI_FLOAT, n, sizeof(float)),
               median_us(MPI_DOUBLE, n, sizeof(double)), median_us(MPI_INT, n, sizeof(int)));
    }
    MPI_Finalize();
    return 0;
}
