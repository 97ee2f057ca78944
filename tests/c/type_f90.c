/* ranks: 1 2 */
/* MPI_Type_create_f90_integer/real/complex: the sized Fortran type that covers the
 * precision and range asked for (INTEGER4 for range 9, REAL4 for (6, 30), REAL8 for
 * (15, 300), COMPLEX16 for (15, MPI_UNDEFINED)), with the F90 combiner and the arguments as
 * contents (mpi4py's test_datatype checks both); the same arguments give the same handle;
 * a type that covers them all does not exist (MPI_ERR_ARG); and the type carries data. */
#include "testutil.h"

static void check_type(MPI_Datatype t, int combiner, int ni, int i0, int i1, int size)
{
    int nints = -1, naddrs = -1, ntypes = -1, comb = -1, ints[2] = {-9, -9}, sz = -1;
    MPI_Aint addrs[1];
    MPI_Datatype types[1];
    MPI_CHECK(MPI_Type_get_envelope(t, &nints, &naddrs, &ntypes, &comb));
    CHECK(comb == combiner && nints == ni && naddrs == 0 && ntypes == 0,
          "envelope: combiner %d (want %d) ints %d addrs %d types %d", comb, combiner, nints,
          naddrs, ntypes);
    MPI_CHECK(MPI_Type_get_contents(t, 2, 0, 0, ints, addrs, types));
    CHECK(ints[0] == i0 && (ni < 2 || ints[1] == i1), "contents %d %d, want %d %d", ints[0],
          ints[1], i0, i1);
    MPI_CHECK(MPI_Type_size(t, &sz));
    CHECK(sz == size, "size %d, want %d", sz, size);
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    MPI_Datatype ti, tr4, tr8, tc, again;
    MPI_CHECK(MPI_Type_create_f90_integer(9, &ti));
    check_type(ti, MPI_COMBINER_F90_INTEGER, 1, 9, 0, 4);
    MPI_CHECK(MPI_Type_create_f90_real(6, 30, &tr4));
    check_type(tr4, MPI_COMBINER_F90_REAL, 2, 6, 30, 4);
    MPI_CHECK(MPI_Type_create_f90_real(15, 300, &tr8));
    check_type(tr8, MPI_COMBINER_F90_REAL, 2, 15, 300, 8);
    MPI_CHECK(MPI_Type_create_f90_complex(15, MPI_UNDEFINED, &tc));
    check_type(tc, MPI_COMBINER_F90_COMPLEX, 2, 15, MPI_UNDEFINED, 16);
    MPI_CHECK(MPI_Type_create_f90_real(15, 300, &again));
    CHECK(again == tr8, "the same arguments gave another handle");
    CHECK(MPI_Type_create_f90_integer(100, &again) != MPI_SUCCESS, "an INTEGER of range 100");

    /* The types carry data: a ring of doubles as REAL8. */
    double out[3] = {rank + 0.5, rank + 1.5, rank + 2.5}, in[3] = {0, 0, 0};
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    MPI_CHECK(MPI_Sendrecv(out, 3, tr8, next, 0, in, 3, tr8, prev, 0, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE));
    CHECK(in[0] == prev + 0.5 && in[2] == prev + 2.5, "received %g %g", in[0], in[2]);

    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("type_f90: ok\n");
    return 0;
}
