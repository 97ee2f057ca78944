/* ranks: 1 2 */
/* MPI_Init_thread + MPI_Query_thread + MPI_Is_thread_main. The provided level must be one of
 * the four levels (MULTIPLE is not demanded) and MPI_Query_thread must agree with it. */
#include "testutil.h"
#include <pthread.h>

static void *thread_main(void *arg)
{
    int *flag = arg;
    MPI_Is_thread_main(flag);
    return NULL;
}

int main(int argc, char **argv)
{
    int provided = -1, flag = -1, init = -1;
    MPI_Initialized(&init);
    CHECK(init == 0);
    MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided));
    CHECK(provided == MPI_THREAD_SINGLE || provided == MPI_THREAD_FUNNELED ||
              provided == MPI_THREAD_SERIALIZED || provided == MPI_THREAD_MULTIPLE,
          "provided %d is no thread level", provided);
    CHECK(MPI_THREAD_SINGLE < MPI_THREAD_FUNNELED && MPI_THREAD_FUNNELED < MPI_THREAD_SERIALIZED &&
          MPI_THREAD_SERIALIZED < MPI_THREAD_MULTIPLE);
    MPI_CHECK(MPI_Initialized(&init));
    CHECK(init == 1);

    int queried = -1;
    MPI_CHECK(MPI_Query_thread(&queried));
    CHECK(queried == provided, "Query_thread %d, Init_thread provided %d", queried, provided);

    MPI_CHECK(MPI_Is_thread_main(&flag));
    CHECK(flag == 1, "Is_thread_main in the main thread: %d", flag);

    if (provided >= MPI_THREAD_SERIALIZED) {
        /* Only one thread calls MPI at a time here: the main thread waits in join. */
        pthread_t th;
        int tflag = -1;
        CHECK(pthread_create(&th, NULL, thread_main, &tflag) == 0);
        pthread_join(th, NULL);
        CHECK(tflag == 0, "Is_thread_main in another thread: %d", tflag);
    }

    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
