/* ranks: 2 3 */
/* impl: ours abi-compat mpich-lib */
/* mpirun-args: --tag-output -x TU_EXPORTED=exported-value */
/* expect-stdout: [0] line from rank 0 */
/* expect-stdout: [1] line from rank 1 */
/* Launcher options: --tag-output prefixes each line with "[R] ", and -x VAR=VAL sets VAR in
 * every rank's environment. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank();
    const char *v = getenv("TU_EXPORTED");
    CHECK(v != NULL && strcmp(v, "exported-value") == 0, "TU_EXPORTED is %s", v ? v : "unset");
    printf("line from rank %d\n", rank);
    fflush(stdout);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
