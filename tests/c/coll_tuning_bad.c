/* ranks: 1 2 */
/* impl: ours abi-compat */
/* expect-exit: nonzero */
/* expect-stderr: FERROMPI_COLL_BCAST=nonsense */
/* expect-stderr: is not an algorithm of bcast */
/* timeout: 30 */
/* An algorithm name the selection table does not know fails MPI_Init with a message naming
 * the variable, instead of running some other algorithm unnoticed. */
#include <stdlib.h>
#include "testutil.h"

int main(int argc, char **argv)
{
    setenv("FERROMPI_COLL_BCAST", "nonsense", 1);
    MPI_Init(&argc, &argv);
    fprintf(stderr, "coll_tuning_bad: MPI_Init returned\n");
    MPI_Finalize();
    return 0;
}
