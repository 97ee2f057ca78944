/* ranks: 1 */
/* MPI_Abi_get_info: a new info object with the sizes of MPI_Aint, MPI_Count and MPI_Offset
 * (mpi4py's test_mpiabi reads them). MPI_Abi_get_fortran_info: MPI_INFO_NULL while no Fortran
 * details are known (we have no Fortran binding; MPICH knows its own), and after
 * MPI_Abi_set_fortran_info a copy of what was set. MPI_Get_hw_resource_info: an info object. */
#include "testutil.h"

static void check_key(MPI_Info info, const char *key, const char *want)
{
    char val[64];
    int len = sizeof val, flag = 0;
    MPI_CHECK(MPI_Info_get_string(info, key, &len, val, &flag));
    CHECK(flag, "key %s missing", key);
    if (want)
        CHECK(strcmp(val, want) == 0, "%s = '%s', expected '%s'", key, val, want);
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    MPI_Info info = MPI_INFO_NULL;
    char want[16];
    MPI_CHECK(MPI_Abi_get_info(&info));
    CHECK(info != MPI_INFO_NULL, "MPI_Abi_get_info gave MPI_INFO_NULL");
    snprintf(want, sizeof want, "%d", (int)sizeof(MPI_Aint));
    check_key(info, "mpi_aint_size", want);
    snprintf(want, sizeof want, "%d", (int)sizeof(MPI_Count));
    check_key(info, "mpi_count_size", want);
    snprintf(want, sizeof want, "%d", (int)sizeof(MPI_Offset));
    check_key(info, "mpi_offset_size", want);
    MPI_CHECK(MPI_Info_free(&info));

    MPI_CHECK(MPI_Abi_get_fortran_info(&info));
    if (tu_is_mpich()) {
        /* MPICH has Fortran details of its own build. */
        CHECK(info != MPI_INFO_NULL);
        check_key(info, "mpi_integer_size", NULL);
        MPI_CHECK(MPI_Info_free(&info));
    } else {
        CHECK(info == MPI_INFO_NULL, "Fortran info without a Fortran binding");
        MPI_Info set;
        MPI_CHECK(MPI_Info_create(&set));
        MPI_CHECK(MPI_Info_set(set, "mpi_integer_size", "4"));
        MPI_CHECK(MPI_Abi_set_fortran_info(set));
        MPI_CHECK(MPI_Info_free(&set));
        MPI_CHECK(MPI_Abi_get_fortran_info(&info));
        CHECK(info != MPI_INFO_NULL, "Fortran info not kept");
        check_key(info, "mpi_integer_size", "4");
        MPI_CHECK(MPI_Info_free(&info));
    }
    /* MPI_Get_hw_resource_info: a new info object (its keys are optional; we and MPICH give
     * none) that the application frees. */
    int nkeys = -1;
    MPI_CHECK(MPI_Get_hw_resource_info(&info));
    CHECK(info != MPI_INFO_NULL, "MPI_Get_hw_resource_info gave MPI_INFO_NULL");
    MPI_CHECK(MPI_Info_get_nkeys(info, &nkeys));
    CHECK(nkeys >= 0);
    MPI_CHECK(MPI_Info_free(&info));

    MPI_CHECK(MPI_Finalize());
    printf("abi_info: ok\n");
    return 0;
}
