/* ranks: 4 */
/* impl: ours abi-compat mpich-lib */
/* expect-exit: 137 */
/* expect-stderr: rank 3 */
/* timeout: 30 */
/* Launcher: the last rank is killed by SIGKILL while rank 0 waits for a message from it.
 * Across test hosts (make test-hosts: 2 ranks per host) that rank is on the other host: the
 * job still ends, with 128 + 9 = 137, and the launcher names the rank. */
#include "testutil.h"
#include <signal.h>

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size(), buf = 0;
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == size - 1)
        raise(SIGKILL);
    MPI_Recv(&buf, 1, MPI_INT, size - 1, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize();
    return 0;
}
