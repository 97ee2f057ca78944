/* ranks: 1 2 3 4 */
/* env: FERROMPI_SHM_SINGLE_COPY=0 */
/* RMA operations larger than the eager limit (their requests and replies take the rendezvous
 * path): a 1 MiB put, a 1 MiB get and a 256 Ki-element accumulate between neighbours under a
 * fence, and a large strided (vector) put under a lock; every element checked. */
#include "testutil.h"

#define M (256 * 1024)

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = tu_rank(), size = tu_size();
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    tu_errors_return();

    int *mem, *src = malloc(M * sizeof(int)), *got = malloc(M * sizeof(int));
    MPI_Win win;
    MPI_CHECK(MPI_Win_allocate(2 * M * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    for (int i = 0; i < 2 * M; i++)
        mem[i] = rank * 3 + i;
    for (int i = 0; i < M; i++)
        src[i] = -(rank * 7 + i);

    MPI_CHECK(MPI_Win_fence(0, win));
    MPI_CHECK(MPI_Put(src, M, MPI_INT, right, 0, M, MPI_INT, win));
    MPI_CHECK(MPI_Get(got, M, MPI_INT, left, M, M, MPI_INT, win));
    MPI_CHECK(MPI_Win_fence(0, win));
    for (int i = 0; i < M; i++) {
        CHECK(mem[i] == -(left * 7 + i), "put: mem[%d] = %d", i, mem[i]);
        CHECK(got[i] == left * 3 + M + i, "get: got[%d] = %d", i, got[i]);
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Accumulate(src, M, MPI_INT, left, M, M, MPI_INT, MPI_SUM, win));
    MPI_CHECK(MPI_Win_fence(MPI_MODE_NOSUCCEED, win));
    for (int i = 0; i < M; i++)
        CHECK(mem[M + i] == rank * 3 + M + i - (right * 7 + i), "accumulate: mem[%d] = %d", M + i, mem[M + i]);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* Every other int of the right neighbour's first 2 * (M / 2) elements. */
    MPI_Datatype every_other;
    MPI_CHECK(MPI_Type_vector(M / 2, 1, 2, MPI_INT, &every_other));
    MPI_CHECK(MPI_Type_commit(&every_other));
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, right, 0, win));
    MPI_CHECK(MPI_Put(src, M / 2, MPI_INT, right, 0, 1, every_other, win));
    MPI_CHECK(MPI_Win_unlock(right, win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    for (int i = 0; i < M; i++) {
        int want = i % 2 == 0 ? -(left * 7 + i / 2) : -(left * 7 + i);
        CHECK(mem[i] == want, "vector put: mem[%d] = %d, expected %d", i, mem[i], want);
    }
    MPI_CHECK(MPI_Type_free(&every_other));
    MPI_CHECK(MPI_Win_free(&win));
    free(src);
    free(got);
    MPI_Finalize();
    return 0;
}
