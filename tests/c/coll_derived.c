/* ranks: 1 2 3 4 */
/* env: FERROMPI_COLL_BCAST=scatter_allgather FERROMPI_COLL_REDUCE=reduce_scatter_gather FERROMPI_COLL_ALLREDUCE=rabenseifner FERROMPI_COLL_ALLGATHER=bruck FERROMPI_COLL_ALLTOALL=bruck */
/* env: FERROMPI_COLL_ALLREDUCE=ring FERROMPI_COLL_ALLGATHER=recursive_doubling */
/* Derived datatypes in the collectives the library has today: Bcast of a strided vector,
 * Reduce and Allreduce (in place too) of a vector of doubles and of a contiguous type of ints,
 * every value checked against what the test computes itself, and the bytes between a vector's
 * blocks left untouched. Predefined operations on derived types whose signature is one
 * predefined type are applied element by element here (Open MPI does the same); the standard
 * lists only predefined types for them, and MPICH refuses, so that part is skipped there. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = tu_rank(), size = tu_size();
    tu_errors_return();

    enum { N = 1000 };
    MPI_Datatype vec; /* N doubles, every other one */
    MPI_CHECK(MPI_Type_vector(N, 1, 2, MPI_DOUBLE, &vec));
    MPI_CHECK(MPI_Type_commit(&vec));
    double *a = malloc(sizeof(double) * 2 * N), *b = malloc(sizeof(double) * 2 * N);
    CHECK(a && b, "malloc");

    /* Bcast of the vector from each root in turn. */
    for (int root = 0; root < size; root++) {
        for (int i = 0; i < 2 * N; i++)
            a[i] = (rank == root) ? (i % 2 ? -1.0 : i * 0.5 + root) : -2.0;
        MPI_CHECK(MPI_Bcast(a, 1, vec, root, MPI_COMM_WORLD));
        for (int i = 0; i < 2 * N; i++) {
            double want = (i % 2) ? (rank == root ? -1.0 : -2.0) : i * 0.5 + root;
            CHECK(a[i] == want, "bcast root %d: a[%d] = %g, want %g", root, i, a[i], want);
        }
    }

    if (tu_is_mpich())
        goto done;

    /* Allreduce (SUM) of the vector, and in place. */
    for (int i = 0; i < 2 * N; i++) {
        a[i] = (i % 2) ? 7.0 : rank + i;
        b[i] = -3.0;
    }
    MPI_CHECK(MPI_Allreduce(a, b, 1, vec, MPI_SUM, MPI_COMM_WORLD));
    double ranksum = size * (size - 1) / 2.0;
    for (int i = 0; i < 2 * N; i++) {
        double want = (i % 2) ? -3.0 : ranksum + (double)size * i;
        CHECK(b[i] == want, "allreduce: b[%d] = %g, want %g", i, b[i], want);
    }
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, a, 1, vec, MPI_MAX, MPI_COMM_WORLD));
    for (int i = 0; i < 2 * N; i++) {
        double want = (i % 2) ? 7.0 : (size - 1) + (double)i;
        CHECK(a[i] == want, "allreduce in place: a[%d] = %g, want %g", i, a[i], want);
    }

    /* Reduce of a contiguous type of 3 ints to each root. */
    MPI_Datatype three;
    MPI_CHECK(MPI_Type_contiguous(3, MPI_INT, &three));
    MPI_CHECK(MPI_Type_commit(&three));
    int s[30], r[30];
    for (int i = 0; i < 30; i++)
        s[i] = rank * 100 + i;
    for (int root = 0; root < size; root++) {
        for (int i = 0; i < 30; i++)
            r[i] = -1;
        MPI_CHECK(MPI_Reduce(s, r, 10, three, MPI_SUM, root, MPI_COMM_WORLD));
        if (rank == root)
            for (int i = 0; i < 30; i++)
                CHECK(r[i] == 100 * (int)ranksum + size * i, "reduce root %d: r[%d] = %d", root, i, r[i]);
    }

    /* Reduce of the strided vector at the root, in place. */
    for (int i = 0; i < 2 * N; i++)
        a[i] = (i % 2) ? -1.0 : 1.0;
    if (rank == 0)
        MPI_CHECK(MPI_Reduce(MPI_IN_PLACE, a, 1, vec, MPI_SUM, 0, MPI_COMM_WORLD));
    else
        MPI_CHECK(MPI_Reduce(a, NULL, 1, vec, MPI_SUM, 0, MPI_COMM_WORLD));
    if (rank == 0)
        for (int i = 0; i < 2 * N; i++)
            CHECK(a[i] == ((i % 2) ? -1.0 : (double)size), "reduce in place: a[%d] = %g", i, a[i]);

    MPI_CHECK(MPI_Type_free(&three));
done:
    MPI_CHECK(MPI_Type_free(&vec));
    free(a);
    free(b);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        printf("coll_derived: ok\n");
    MPI_Finalize();
    return 0;
}
