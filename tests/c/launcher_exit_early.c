/* ranks: 2 3 */
/* impl: ours abi-compat mpich-lib */
/* expect-exit: 3 */
/* timeout: 30 */
/* Launcher: a rank that calls exit(3) without MPI_Finalize while the others wait for it in a
 * receive: the launcher ends the job (no hang) with status 3. */
#include "testutil.h"
#include <unistd.h>

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), buf = 0;
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 1)
        _exit(3);
    MPI_Recv(&buf, 1, MPI_INT, 1, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize();
    return 0;
}
