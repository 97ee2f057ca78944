/* ranks: 1 2 3 4 */
/* timeout: 90 */
/* MPI_THREAD_MULTIPLE: if provided, 4 pthreads per rank exchange messages with a partner rank
 * concurrently, each thread on its own tag (blocking Send/Recv, Isend/Irecv + Wait, Sendrecv,
 * and ANY_SOURCE receives told apart by tag), values checked; a rank without a partner talks to
 * itself. If MULTIPLE is not provided, the test says so and passes. */
#include "testutil.h"
#include <pthread.h>

#define THREADS 4
#define ITERS 200

static int rank, size, partner;

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    int tag = 100 + t;
    MPI_Status st;
    for (int it = 0; it < ITERS; it++) {
        int out[3] = {rank, t, it}, in[3] = {-1, -1, -1};
        switch (it % 3) {
        case 0: {
            MPI_Request rq;
            MPI_CHECK(MPI_Irecv(in, 3, MPI_INT, partner, tag, MPI_COMM_WORLD, &rq));
            MPI_CHECK(MPI_Send(out, 3, MPI_INT, partner, tag, MPI_COMM_WORLD));
            MPI_CHECK(MPI_Wait(&rq, &st));
            break;
        }
        case 1: {
            MPI_Request rq[2];
            MPI_CHECK(MPI_Isend(out, 3, MPI_INT, partner, tag, MPI_COMM_WORLD, &rq[0]));
            MPI_CHECK(MPI_Irecv(in, 3, MPI_INT, MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &rq[1]));
            MPI_Status sts[2];
            MPI_CHECK(MPI_Waitall(2, rq, sts));
            st = sts[1];
            break;
        }
        default:
            MPI_CHECK(MPI_Sendrecv(out, 3, MPI_INT, partner, tag, in, 3, MPI_INT, partner, tag,
                                   MPI_COMM_WORLD, &st));
        }
        CHECK(st.MPI_SOURCE == partner && st.MPI_TAG == tag, "thread %d: status %d/%d", t,
              st.MPI_SOURCE, st.MPI_TAG);
        CHECK(in[0] == partner && in[1] == t && in[2] == it,
              "thread %d iteration %d: got (%d,%d,%d)", t, it, in[0], in[1], in[2]);
    }
    /* a larger message per thread */
    enum { N = 100000 };
    int *big = malloc(N * sizeof(int)), *bin = malloc(N * sizeof(int));
    for (int i = 0; i < N; i++)
        big[i] = rank * 1000 + t + i;
    MPI_CHECK(MPI_Sendrecv(big, N, MPI_INT, partner, tag + 50, bin, N, MPI_INT, partner, tag + 50,
                           MPI_COMM_WORLD, &st));
    for (int i = 0; i < N; i++)
        CHECK(bin[i] == partner * 1000 + t + i, "thread %d large message at %d", t, i);
    free(big);
    free(bin);
    return NULL;
}

int main(int argc, char **argv)
{
    int provided = -1;
    MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    rank = tu_rank();
    size = tu_size();
    if (provided != MPI_THREAD_MULTIPLE) {
        if (rank == 0)
            printf("threads_multiple: MPI_THREAD_MULTIPLE not provided (got %d); skipped\n",
                   provided);
        MPI_CHECK(MPI_Finalize());
        return 0;
    }
    partner = rank ^ 1;
    if (partner >= size)
        partner = rank;

    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);

    /* collectives from the main thread still work afterwards */
    int sum = 0;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
    CHECK(sum == size * (size - 1) / 2);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
