/* ranks: 1 2 3 */
/* expect-exit: 7 */
/* timeout: 30 */
/* MPI_Abort(MPI_COMM_WORLD, 7) from the last rank ends the job with status 7, while the other
 * ranks wait in a receive. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size(), buf = 0;
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == size - 1) {
        MPI_Abort(MPI_COMM_WORLD, 7);
        fprintf(stderr, "abort_code: MPI_Abort returned\n");
        return 0;
    }
    MPI_Recv(&buf, 1, MPI_INT, size - 1, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize();
    return 0;
}
