/* ranks: 1 2 */
/* impl: ours abi-compat mpich-lib */
/* stdin: hello ferrompi stdin */
/* expect-stdout: rank 0 read: hello ferrompi stdin */
/* Launcher: the launcher's stdin reaches rank 0 (the harness writes one line and closes it);
 * rank 0 reads it, then sees end of file, and broadcasts it to the others. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank();
    char line[256] = "";
    if (rank == 0) {
        CHECK(fgets(line, sizeof line, stdin) != NULL, "rank 0 got no line on stdin");
        line[strcspn(line, "\n")] = 0;
        CHECK(strcmp(line, "hello ferrompi stdin") == 0, "rank 0 read \"%s\"", line);
        char more[16];
        CHECK(fgets(more, sizeof more, stdin) == NULL && feof(stdin), "no end of file on stdin");
        printf("rank 0 read: %s\n", line);
        fflush(stdout);
    }
    MPI_CHECK(MPI_Bcast(line, sizeof line, MPI_CHAR, 0, MPI_COMM_WORLD));
    CHECK(strcmp(line, "hello ferrompi stdin") == 0);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
