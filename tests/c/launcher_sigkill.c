/* ranks: 2 3 */
/* impl: ours abi-compat mpich-lib */
/* expect-exit: 137 */
/* expect-stderr: rank 1 */
/* timeout: 30 */
/* Launcher: a rank killed by SIGKILL while the others wait for it: the job exits with
 * 128 + 9 = 137 and the launcher's stderr names the rank ("rank 1"). */
#include "testutil.h"
#include <signal.h>

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), buf = 0;
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 1)
        raise(SIGKILL);
    MPI_Recv(&buf, 1, MPI_INT, 1, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize();
    return 0;
}
