/* ranks: 1 2 3 4 */
/* Passive-target RMA: MPI_Win_lock / unlock (exclusive: a read-modify-write made of a get, a
 * flush and a put is never interleaved with another rank's, so no increment is lost; shared:
 * accumulates from every rank), MPI_Win_lock_all / unlock_all, flush, flush_all, flush_local,
 * flush_local_all, MPI_Win_sync, MPI_MODE_NOCHECK, and the errors MPI_ERR_RMA_SYNC (unlock,
 * flush or an operation without a lock, a second lock), MPI_ERR_LOCKTYPE and MPI_ERR_RANK.
 * Targets wait in MPI_Barrier while others lock them: progress is made inside MPI calls. */
#include "testutil.h"

#define ROUNDS 20

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = tu_rank(), size = tu_size();
    tu_errors_return();

    long *mem;
    MPI_Win win;
    MPI_CHECK(MPI_Win_allocate(16 * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    for (int i = 0; i < 16; i++)
        mem[i] = 100 * rank + i;
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* Errors first, outside any epoch. */
    long v = 0;
    CHECK_ERR_CLASS(MPI_Win_unlock(0, win), MPI_ERR_RMA_SYNC);
    CHECK_ERR_CLASS(MPI_Win_flush(0, win), MPI_ERR_RMA_SYNC);
    /* MPICH 5.0.2 reports an invalid lock type as MPI_ERR_ARG, not MPI_ERR_LOCKTYPE. */
    CHECK_ERR_CLASS(MPI_Win_lock(12345, 0, 0, win), tu_is_mpich() ? MPI_ERR_ARG : MPI_ERR_LOCKTYPE);
    CHECK_ERR_CLASS(MPI_Win_lock(MPI_LOCK_SHARED, size, 0, win), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Put(&v, 1, MPI_LONG, 0, 0, 1, MPI_LONG, win), MPI_ERR_RMA_SYNC);

    /* Exclusive locks: ROUNDS unprotected increments of rank 0's element 0 from every rank. */
    for (int k = 0; k < ROUNDS; k++) {
        MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win));
        long cur = -1;
        MPI_CHECK(MPI_Get(&cur, 1, MPI_LONG, 0, 0, 1, MPI_LONG, win));
        MPI_CHECK(MPI_Win_flush(0, win));
        cur += 1;
        MPI_CHECK(MPI_Put(&cur, 1, MPI_LONG, 0, 0, 1, MPI_LONG, win));
        MPI_CHECK(MPI_Win_unlock(0, win));
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0)
        CHECK(mem[0] == (long)size * ROUNDS, "exclusive increments: %ld, expected %ld", mem[0], (long)size * ROUNDS);

    /* A second lock on a locked target; an operation on a target not locked. */
    int other = (rank + 1) % size;
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, rank, 0, win));
    CHECK_ERR_CLASS(MPI_Win_lock(MPI_LOCK_SHARED, rank, 0, win), MPI_ERR_RMA_SYNC);
    CHECK_ERR_CLASS(MPI_Win_free(&win), MPI_ERR_RMA_SYNC);
    CHECK(win != MPI_WIN_NULL, "a window that could not be freed was set to MPI_WIN_NULL");
    /* MPICH 5.0.2 tracks one passive epoch per window, not per target: it accepts (and
     * performs) an operation on a target that is not locked while another one is. */
    if (other != rank && !tu_is_mpich())
        CHECK_ERR_CLASS(MPI_Put(&v, 1, MPI_LONG, other, 0, 1, MPI_LONG, win), MPI_ERR_RMA_SYNC);
    MPI_CHECK(MPI_Win_unlock(rank, win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* Shared locks: every rank adds (rank + 1) << i to element i of every rank, i in 1..9,
     * and reads its right neighbour's element 12, which nobody changes. */
    long add[8], twelve = -1;
    for (int i = 0; i < 8; i++)
        add[i] = (long)(rank + 1) << i;
    for (int t = 0; t < size; t++) {
        MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, t, 0, win));
        MPI_CHECK(MPI_Accumulate(add, 8, MPI_LONG, t, 1, 8, MPI_LONG, MPI_SUM, win));
        MPI_CHECK(MPI_Win_unlock(t, win));
    }
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, other, 0, win));
    MPI_CHECK(MPI_Get(&twelve, 1, MPI_LONG, other, 12, 1, MPI_LONG, win));
    MPI_CHECK(MPI_Win_flush_local(other, win));
    CHECK(twelve == 100 * other + 12, "get under shared lock: %ld", twelve);
    MPI_CHECK(MPI_Win_unlock(other, win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    long ranksum = (long)size * (size + 1) / 2;
    for (int i = 0; i < 8; i++)
        CHECK(mem[1 + i] == 100 * rank + 1 + i + (ranksum << i), "shared accumulate: mem[%d] = %ld", 1 + i, mem[1 + i]);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* lock_all: fetch_and_op on everyone's element 10, flush_all, then every fetched value is
     * checked after unlock_all; put into the right neighbour's 11 with flush_local_all. */
    long one = 1, fetched[4] = {-1, -1, -1, -1};
    MPI_CHECK(MPI_Win_lock_all(0, win));
    for (int t = 0; t < size; t++)
        MPI_CHECK(MPI_Fetch_and_op(&one, &fetched[t], MPI_LONG, t, 10, MPI_SUM, win));
    MPI_CHECK(MPI_Win_flush_all(win));
    for (int t = 0; t < size; t++)
        CHECK(fetched[t] >= 100 * t + 10 && fetched[t] < 100 * t + 10 + size, "fetched %ld from %d", fetched[t], t);
    long mine = 5000 + rank;
    MPI_CHECK(MPI_Put(&mine, 1, MPI_LONG, other, 11, 1, MPI_LONG, win));
    MPI_CHECK(MPI_Win_flush_local_all(win));
    MPI_CHECK(MPI_Win_sync(win));
    CHECK_ERR_CLASS(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win), MPI_ERR_RMA_SYNC);
    MPI_CHECK(MPI_Win_unlock_all(win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    CHECK(mem[10] == 100 * rank + 10 + size, "fetch_and_op total %ld", mem[10]);
    int left = (rank + size - 1) % size;
    CHECK(mem[11] == 5000 + left, "put under lock_all: %ld", mem[11]);
    CHECK(mem[12] == 100 * rank + 12 && mem[0 + 13] == 100 * rank + 13, "untouched elements changed");
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* MPI_MODE_NOCHECK: the application vouches for no conflict; operations still complete. */
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, other, MPI_MODE_NOCHECK, win));
    long back = -1;
    MPI_CHECK(MPI_Get(&back, 1, MPI_LONG, other, 14, 1, MPI_LONG, win));
    MPI_CHECK(MPI_Win_unlock(other, win));
    CHECK(back == 100 * other + 14, "get under NOCHECK: %ld", back);

    MPI_CHECK(MPI_Win_free(&win));
    MPI_Finalize();
    return 0;
}
