/* ranks: 1 2 3 4 */
/* Post-start-complete-wait: each rank exposes its window to its left neighbour (MPI_Win_post)
 * and accesses its right neighbour (MPI_Win_start), puts and accumulates there, completes;
 * MPI_Win_wait (and, in a second round, MPI_Win_test until it says so) ends the exposure
 * epoch, after which the data is in place. Errors: MPI_ERR_RMA_SYNC for an operation on a
 * process outside the access group, for complete without start and wait without post. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = tu_rank(), size = tu_size();
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    tu_errors_return();

    int mem[8];
    for (int i = 0; i < 8; i++)
        mem[i] = rank * 10 + i;
    MPI_Win win;
    MPI_CHECK(MPI_Win_create(mem, sizeof mem, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    CHECK_ERR_CLASS(MPI_Win_complete(win), MPI_ERR_RMA_SYNC);
    CHECK_ERR_CLASS(MPI_Win_wait(win), MPI_ERR_RMA_SYNC);

    MPI_Group world, lg, rg;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_CHECK(MPI_Group_incl(world, 1, &left, &lg));
    MPI_CHECK(MPI_Group_incl(world, 1, &right, &rg));

    for (int round = 0; round < 2; round++) {
        MPI_CHECK(MPI_Win_post(lg, 0, win));
        MPI_CHECK(MPI_Win_start(rg, 0, win));
        int val[2] = {1000 * (round + 1) + rank, 1};
        MPI_CHECK(MPI_Put(val, 1, MPI_INT, right, 2, 1, MPI_INT, win));
        MPI_CHECK(MPI_Accumulate(&val[1], 1, MPI_INT, right, 5, 1, MPI_INT, MPI_SUM, win));
        int other = (rank + 2) % size;
        if (other != right)
            CHECK_ERR_CLASS(MPI_Put(val, 1, MPI_INT, other, 0, 1, MPI_INT, win), MPI_ERR_RMA_SYNC);
        MPI_CHECK(MPI_Win_complete(win));
        if (round == 0) {
            MPI_CHECK(MPI_Win_wait(win));
        } else {
            int flag = 0;
            while (!flag)
                MPI_CHECK(MPI_Win_test(win, &flag));
        }
        for (int i = 0; i < 8; i++) {
            int want = i == 2 ? 1000 * (round + 1) + left : i == 5 ? rank * 10 + 5 + round + 1 : rank * 10 + i;
            CHECK(mem[i] == want, "round %d: mem[%d] = %d, expected %d", round, i, mem[i], want);
        }
    }
    MPI_Group_free(&lg);
    MPI_Group_free(&rg);
    MPI_Group_free(&world);
    MPI_CHECK(MPI_Win_free(&win));
    MPI_Finalize();
    return 0;
}
