/* ranks: 1 2 4 */
/* env: FERROMPI_PMI=2 */
/* Environment: Initialized/Finalized before and after, Abi_get_version and Get_version before
 * MPI_Init, Get_library_version, rank/size on WORLD and SELF, Wtime/Wtick, Get_processor_name,
 * Alloc_mem/Free_mem, Pcontrol. */
#include "testutil.h"

int main(int argc, char **argv)
{
    int flag = -1, major = -1, minor = -1;

    /* Valid before MPI_Init. */
    CHECK(MPI_Initialized(&flag) == MPI_SUCCESS && flag == 0, "initialized before init: %d", flag);
    CHECK(MPI_Finalized(&flag) == MPI_SUCCESS && flag == 0, "finalized before init: %d", flag);
    CHECK(MPI_Abi_get_version(&major, &minor) == MPI_SUCCESS);
    CHECK(major == 1 && minor == 0, "ABI version %d.%d", major, minor);
    CHECK(major == MPI_ABI_VERSION && minor == MPI_ABI_SUBVERSION);
    CHECK(MPI_Get_version(&major, &minor) == MPI_SUCCESS);
    CHECK(major == 5 && minor == 0, "MPI version %d.%d before init", major, minor);
    {
        char lib[MPI_MAX_LIBRARY_VERSION_STRING];
        int len = -1;
        memset(lib, 'x', sizeof lib);
        CHECK(MPI_Get_library_version(lib, &len) == MPI_SUCCESS);
        CHECK(len > 0 && len < MPI_MAX_LIBRARY_VERSION_STRING && (int)strlen(lib) == len,
              "library version length %d", len);
    }

    MPI_CHECK(MPI_Init(&argc, &argv));

    MPI_CHECK(MPI_Initialized(&flag));
    CHECK(flag == 1);
    MPI_CHECK(MPI_Finalized(&flag));
    CHECK(flag == 0);
    MPI_CHECK(MPI_Get_version(&major, &minor));
    CHECK(major == MPI_VERSION && minor == MPI_SUBVERSION && major == 5 && minor == 0);
    MPI_CHECK(MPI_Abi_get_version(&major, &minor));
    CHECK(major == 1 && minor == 0);

    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = -1;
    MPI_CHECK(MPI_Get_library_version(lib, &len));
    CHECK(len > 0 && len < MPI_MAX_LIBRARY_VERSION_STRING && (int)strlen(lib) == len);

    int rank = -1, size = -1;
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK(size >= 1 && rank >= 0 && rank < size, "rank %d size %d", rank, size);
    const char *env_n = getenv("TU_EXPECT_SIZE");
    if (env_n)
        CHECK(size == atoi(env_n));
    int srank = -1, ssize = -1;
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_SELF, &srank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_SELF, &ssize));
    CHECK(srank == 0 && ssize == 1, "SELF rank %d size %d", srank, ssize);

    /* Every rank is present exactly once. */
    int *all = malloc(sizeof(int) * size);
    for (int i = 0; i < size; i++)
        all[i] = -1;
    all[rank] = rank;
    int sum = 0;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
    CHECK(sum == size * (size - 1) / 2, "sum of ranks %d", sum);
    free(all);

    /* Wtime: monotonic, advances over a sleep; Wtick > 0. */
    double tick = MPI_Wtick();
    CHECK(tick > 0.0 && tick < 1.0, "Wtick %g", tick);
    double t0 = MPI_Wtime(), prev = t0;
    for (int i = 0; i < 10000; i++) {
        double t = MPI_Wtime();
        CHECK(t >= prev, "Wtime went backwards: %.9f < %.9f", t, prev);
        prev = t;
    }
    tu_sleep_ms(20);
    double t1 = MPI_Wtime();
    CHECK(t1 - t0 >= 0.015 && t1 - t0 < 10.0, "Wtime advanced %g s over a 20 ms sleep", t1 - t0);

    char name[MPI_MAX_PROCESSOR_NAME];
    int nlen = -1;
    memset(name, 'x', sizeof name);
    MPI_CHECK(MPI_Get_processor_name(name, &nlen));
    CHECK(nlen > 0 && nlen < MPI_MAX_PROCESSOR_NAME && (int)strlen(name) == nlen,
          "processor name length %d", nlen);

    void *mem = NULL;
    MPI_CHECK(MPI_Alloc_mem(1 << 20, MPI_INFO_NULL, &mem));
    CHECK(mem != NULL);
    memset(mem, 0xab, 1 << 20);
    CHECK(((unsigned char *)mem)[(1 << 20) - 1] == 0xab);
    /* The memory is usable as a communication buffer. */
    int peer = (rank + 1) % size, from = (rank + size - 1) % size;
    ((int *)mem)[0] = rank;
    MPI_CHECK(MPI_Sendrecv_replace(mem, 1, MPI_INT, peer, 0, from, 0, MPI_COMM_WORLD,
                                   MPI_STATUS_IGNORE));
    CHECK(((int *)mem)[0] == from);
    MPI_CHECK(MPI_Free_mem(mem));
    void *small = NULL;
    MPI_CHECK(MPI_Alloc_mem(0, MPI_INFO_NULL, &small));
    MPI_CHECK(MPI_Free_mem(small));

    MPI_CHECK(MPI_Pcontrol(0));
    MPI_CHECK(MPI_Pcontrol(1));
    MPI_CHECK(MPI_Pcontrol(2));

    MPI_CHECK(MPI_Finalize());

    CHECK(MPI_Initialized(&flag) == MPI_SUCCESS && flag == 1, "initialized after finalize");
    CHECK(MPI_Finalized(&flag) == MPI_SUCCESS && flag == 1, "finalized after finalize");
    CHECK(MPI_Get_version(&major, &minor) == MPI_SUCCESS && major == 5 && minor == 0);
    CHECK(MPI_Abi_get_version(&major, &minor) == MPI_SUCCESS && major == 1 && minor == 0);
    return 0;
}
