/* init_finalize: the start-up benchmark's program, MPI_Init and MPI_Finalize only; the
 * runner times `mpirun -n N ./init_finalize` from outside (wall clock, launcher included). */
#include <mpi.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Finalize();
    return 0;
}
