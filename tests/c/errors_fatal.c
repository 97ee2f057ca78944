/* ranks: 1 2 */
/* expect-exit: nonzero */
/* timeout: 30 */
/* MPI_ERRORS_ARE_FATAL is the default on MPI_COMM_WORLD: an invalid call ends the whole job
 * with a non-zero status (the other ranks wait in a receive that never matches). */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size(), buf = 0;
    if (rank == 0) {
        MPI_Send(&buf, 1, MPI_INT, size, 0, MPI_COMM_WORLD); /* invalid rank: fatal */
        fprintf(stderr, "errors_fatal: MPI_Send to an invalid rank returned\n");
        MPI_Finalize();
        return 0;
    }
    MPI_Recv(&buf, 1, MPI_INT, 0, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize();
    return 0;
}
