/* ranks: 1 2 3 */
/* impl: ours abi-compat mpich-lib */
/* expect-exit: 3 */
/* timeout: 30 */
/* Launcher: a rank that exits with status 3 after MPI_Finalize (the others exit 0) makes the
 * job exit with status 3. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return rank == size - 1 ? 3 : 0;
}
