/* ranks: 1 2 4 */
/* MPI_THREAD_MULTIPLE: two threads per process create communicators at the same time, each
 * on its own parent (a dup of world), alternating MPI_Comm_dup, MPI_Comm_idup and
 * MPI_Comm_split. Their context-id agreements run concurrently in every process: none may
 * pick a slot the other took, and none may retry forever. Each copy is checked by an
 * allreduce and a ring message, with the copies of both threads alive at once. */
#include "testutil.h"
#include <pthread.h>

#define THREADS 2
#define ROUNDS 12

static MPI_Comm parent[THREADS];

static void check_copy(MPI_Comm c, int salt)
{
    int r = -1, s = -1, sum = -1;
    MPI_CHECK(MPI_Comm_rank(c, &r));
    MPI_CHECK(MPI_Comm_size(c, &s));
    CHECK(s == tu_size(), "copy size %d", s);
    MPI_CHECK(MPI_Allreduce(&r, &sum, 1, MPI_INT, MPI_SUM, c));
    CHECK(sum == s * (s - 1) / 2, "allreduce %d", sum);
    int to = (r + 1) % s, from = (r + s - 1) % s, v = salt * 100 + r, got = -1;
    MPI_CHECK(MPI_Sendrecv(&v, 1, MPI_INT, to, 0, &got, 1, MPI_INT, from, 0, c, MPI_STATUS_IGNORE));
    CHECK(got == salt * 100 + from, "ring got %d, expected %d", got, salt * 100 + from);
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    MPI_Comm made[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        MPI_Request req;
        switch (i % 3) {
        case 0:
            MPI_CHECK(MPI_Comm_dup(parent[t], &made[i]));
            break;
        case 1:
            MPI_CHECK(MPI_Comm_idup(parent[t], &made[i], &req));
            MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
            break;
        default:
            MPI_CHECK(MPI_Comm_split(parent[t], 0, tu_rank(), &made[i]));
        }
        check_copy(made[i], t * 1000 + i);
    }
    for (int i = 0; i < ROUNDS; i++)
        MPI_CHECK(MPI_Comm_free(&made[i]));
    return NULL;
}

int main(int argc, char **argv)
{
    int provided = -1;
    MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    CHECK(provided == MPI_THREAD_MULTIPLE, "provided %d", provided);
    tu_errors_return();
    for (int t = 0; t < THREADS; t++)
        MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &parent[t]));
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    for (int t = 0; t < THREADS; t++)
        MPI_CHECK(MPI_Comm_free(&parent[t]));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
