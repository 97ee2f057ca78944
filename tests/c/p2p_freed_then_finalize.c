/* ranks: 2 3 */
/* env: FERROMPI_SHM_SINGLE_COPY=0 */
/* A send whose request was freed (MPI_Request_free) still completes: rank 0 frees a 4 MiB
 * Isend and a small one and calls MPI_Finalize at once; the others receive only after a
 * delay, and every byte must arrive (Finalize waits for detached sends, and rank 0's memory
 * must stay readable until the receiver has it). */
#include "testutil.h"

#define BIG (4 << 20)

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    if (rank == 0) {
        unsigned char *big = malloc(BIG);
        for (int i = 0; i < BIG; i++)
            big[i] = (unsigned char)(i * 7 + 3);
        int small = 42;
        for (int dest = 1; dest < size; dest++) {
            MPI_Request r;
            MPI_CHECK(MPI_Isend(big, BIG, MPI_BYTE, dest, 1, MPI_COMM_WORLD, &r));
            MPI_CHECK(MPI_Request_free(&r));
            CHECK(r == MPI_REQUEST_NULL, "Request_free left the handle set");
            MPI_CHECK(MPI_Isend(&small, 1, MPI_INT, dest, 2, MPI_COMM_WORLD, &r));
            MPI_CHECK(MPI_Request_free(&r));
        }
        MPI_CHECK(MPI_Finalize());
        free(big);
        return 0;
    }
    tu_sleep_ms(200);
    unsigned char *big = malloc(BIG);
    int small = 0;
    MPI_CHECK(MPI_Recv(&small, 1, MPI_INT, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Recv(big, BIG, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    CHECK(small == 42, "small message %d", small);
    for (int i = 0; i < BIG; i++)
        CHECK(big[i] == (unsigned char)(i * 7 + 3), "byte %d is %d", i, big[i]);
    free(big);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
