/* ranks: 1 */
/* MPI-4.1: the name of a null handle is the handle's name: MPI_Comm_get_name(MPI_COMM_NULL)
 * is "MPI_COMM_NULL", likewise MPI_DATATYPE_NULL and MPI_WIN_NULL (MPICH answers so, and
 * mpi4py's test_comm, test_datatype and test_win check it). */
#include "testutil.h"

static void check_name(const char *what, int rc, const char *name, int len, const char *want)
{
    CHECK(rc == MPI_SUCCESS, "%s: error %d", what, rc);
    CHECK(strcmp(name, want) == 0 && len == (int)strlen(want), "%s: '%s' (%d), expected '%s'",
          what, name, len, want);
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    char name[MPI_MAX_OBJECT_NAME];
    int len = -1, rc;
    name[0] = 0;
    rc = MPI_Comm_get_name(MPI_COMM_NULL, name, &len);
    check_name("Comm_get_name(MPI_COMM_NULL)", rc, name, len, "MPI_COMM_NULL");
    name[0] = 0;
    rc = MPI_Type_get_name(MPI_DATATYPE_NULL, name, &len);
    check_name("Type_get_name(MPI_DATATYPE_NULL)", rc, name, len, "MPI_DATATYPE_NULL");
    name[0] = 0;
    rc = MPI_Win_get_name(MPI_WIN_NULL, name, &len);
    check_name("Win_get_name(MPI_WIN_NULL)", rc, name, len, "MPI_WIN_NULL");
    /* A real handle still has its own name. */
    MPI_CHECK(MPI_Comm_get_name(MPI_COMM_WORLD, name, &len));
    CHECK(strcmp(name, "MPI_COMM_WORLD") == 0, "MPI_COMM_WORLD's name is '%s'", name);
    MPI_CHECK(MPI_Finalize());
    printf("names_null: ok\n");
    return 0;
}
