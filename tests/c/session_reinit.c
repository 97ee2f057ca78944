/* ranks: 1 2 */
/* impl: ours abi-compat */
/* expect-exit: nonzero */
/* expect-stderr: cannot be initialized again */
/* Once the last session has been finalized with no world model running, the library is
 * finalized for good: ours cannot start again (the standard leaves it to the implementation;
 * MPICH can), so a later MPI_Init fails, on MPI_COMM_SELF's handler: fatal. Before that, a
 * session and a communicator from it work as usual. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_Session s;
    MPI_CHECK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &s));
    MPI_Group g;
    MPI_CHECK(MPI_Group_from_session_pset(s, "mpi://WORLD", &g));
    MPI_Comm c;
    MPI_CHECK(MPI_Comm_create_from_group(g, "reinit", MPI_INFO_NULL, MPI_ERRORS_RETURN, &c));
    MPI_CHECK(MPI_Barrier(c));
    MPI_CHECK(MPI_Comm_free(&c));
    MPI_CHECK(MPI_Group_free(&g));
    MPI_CHECK(MPI_Session_finalize(&s));
    MPI_Init(&argc, &argv);
    fprintf(stderr, "MPI_Init returned after the library was finalized\n");
    return 0;
}
