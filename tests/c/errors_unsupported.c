/* ranks: 1 2 */
/* impl: ours abi-compat */
/* expect-exit: 55 */
/* expect-stderr: MPI_File_open is not implemented yet */
/* timeout: 30 */
/* A function of the ABI that ferrompi does not implement yet (MPI-IO here) still exists, so
 * that programs load, and reports MPI_ERR_UNSUPPORTED_OPERATION through the error handler:
 * returned under MPI_ERRORS_RETURN, and with the default MPI_ERRORS_ARE_FATAL the job ends
 * with that code and a message naming the function. Update the function when MPI-IO lands;
 * docs/functions.md lists what is implemented. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    MPI_File fh;
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int rc = MPI_File_open(MPI_COMM_WORLD, "/dev/null", MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
    CHECK_ERR_CLASS(rc, MPI_ERR_UNSUPPORTED_OPERATION);
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
    MPI_File_open(MPI_COMM_WORLD, "/dev/null", MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
    fprintf(stderr, "errors_unsupported: the fatal handler returned\n");
    MPI_Finalize();
    return 0;
}
