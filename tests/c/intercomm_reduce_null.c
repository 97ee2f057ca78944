/* ranks: 2 3 4 */
/* MPI_Reduce on an intercommunicator, every member of each group taking its turn as the root
 * (MPI_ROOT) while its group partners pass MPI_PROC_NULL: for them only `root` is significant
 * (MPI-4.1 6.9.1), so an op/datatype pair no reduction accepts (MPI_SUM on 0 MPI_BYTEs, what
 * mpi4py passes for a None buffer) must not fail there; a failure at one rank left the other
 * group waiting forever in mpi4py's test_cco_buf_inter at 3 ranks. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    int color = rank < size / 2 ? 0 : 1;
    MPI_Comm intra, inter;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, 0, &intra));
    MPI_CHECK(MPI_Intercomm_create(intra, 0, MPI_COMM_WORLD, color == 0 ? size / 2 : 0, 0, &inter));
    MPI_CHECK(MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN));
    int lr, ls, rs;
    MPI_CHECK(MPI_Comm_rank(inter, &lr));
    MPI_CHECK(MPI_Comm_size(inter, &ls));
    MPI_CHECK(MPI_Comm_remote_size(inter, &rs));
    for (int c = 0; c < 2; c++) {
        if (color == c) {
            for (int root = 0; root < ls; root++) {
                if (root == lr) {
                    int rbuf[8];
                    for (int i = 0; i < 8; i++)
                        rbuf[i] = -1;
                    MPI_CHECK(MPI_Reduce(NULL, rbuf, rs, MPI_INT, MPI_SUM, MPI_ROOT, inter));
                    /* Each of the rs remote members sent 0, 1, ..., rs - 1. */
                    for (int i = 0; i < rs; i++)
                        CHECK(rbuf[i] == i * rs, "rbuf[%d] = %d, expected %d", i, rbuf[i], i * rs);
                } else {
                    MPI_CHECK(MPI_Reduce(NULL, NULL, 0, MPI_BYTE, MPI_SUM, MPI_PROC_NULL, inter));
                }
            }
        } else {
            for (int root = 0; root < rs; root++) {
                int sbuf[8];
                for (int i = 0; i < ls; i++)
                    sbuf[i] = i;
                MPI_CHECK(MPI_Reduce(sbuf, NULL, ls, MPI_INT, MPI_SUM, root, inter));
            }
        }
    }
    MPI_CHECK(MPI_Comm_free(&inter));
    MPI_CHECK(MPI_Comm_free(&intra));
    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("intercomm_reduce_null: ok\n");
    return 0;
}
