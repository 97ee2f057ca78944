/* ranks: 2 3 4 */
/* MPI_Intercomm_create_from_groups (MPI-4) between the even and the odd ranks of the
 * mpi://WORLD process set of a session: sizes and groups, point-to-point naming remote ranks,
 * Allreduce, merge; the handler passed is the new intercommunicator's; invalid leaders get
 * MPI_ERR_RANK through it. */
#include "testutil.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    MPI_Session s;
    MPI_CHECK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &s));
    MPI_Group world;
    MPI_CHECK(MPI_Group_from_session_pset(s, "mpi://WORLD", &world));
    int rank = -1, size = -1;
    MPI_CHECK(MPI_Group_rank(world, &rank));
    MPI_CHECK(MPI_Group_size(world, &size));
    int grp[2][64], gn[2] = {0, 0};
    for (int r = 0; r < size; r++)
        grp[r % 2][gn[r % 2]++] = r;
    int color = rank % 2, other = 1 - color;
    MPI_Group g[2];
    for (int k = 0; k < 2; k++)
        MPI_CHECK(MPI_Group_incl(world, gn[k], grp[k], &g[k]));

    MPI_Comm inter;
    MPI_CHECK(MPI_Intercomm_create_from_groups(g[color], 0, g[other], 0, "ferrompi/intercomm_groups",
                                               MPI_INFO_NULL, MPI_ERRORS_RETURN, &inter));
    int flag = -1, n = -1, lrank = -1;
    MPI_CHECK(MPI_Comm_test_inter(inter, &flag));
    CHECK(flag);
    MPI_CHECK(MPI_Comm_size(inter, &n));
    CHECK(n == gn[color]);
    MPI_CHECK(MPI_Comm_rank(inter, &lrank));
    CHECK(grp[color][lrank] == rank, "local rank %d", lrank);
    MPI_CHECK(MPI_Comm_remote_size(inter, &n));
    CHECK(n == gn[other]);
    MPI_Group rg;
    int cmp = -1;
    MPI_CHECK(MPI_Comm_remote_group(inter, &rg));
    MPI_CHECK(MPI_Group_compare(rg, g[other], &cmp));
    CHECK(cmp == MPI_IDENT, "remote group vs the group passed: %d", cmp);
    MPI_CHECK(MPI_Group_free(&rg));
    MPI_Errhandler eh;
    MPI_CHECK(MPI_Comm_get_errhandler(inter, &eh));
    CHECK(eh == MPI_ERRORS_RETURN, "the intercommunicator has the handler passed");
    MPI_CHECK(MPI_Errhandler_free(&eh));

    /* Every process sends its world rank to every remote rank; sources are remote ranks. */
    MPI_Request rq[64];
    for (int d = 0; d < gn[other]; d++)
        MPI_CHECK(MPI_Isend(&rank, 1, MPI_INT, d, 2, inter, &rq[d]));
    for (int i = 0; i < gn[other]; i++) {
        int v = -1;
        MPI_Status st;
        MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 2, inter, &st));
        CHECK(st.MPI_SOURCE >= 0 && st.MPI_SOURCE < gn[other] && v == grp[other][st.MPI_SOURCE],
              "remote rank %d sent world rank %d", st.MPI_SOURCE, v);
    }
    MPI_CHECK(MPI_Waitall(gn[other], rq, MPI_STATUSES_IGNORE));

    int sum = -1, want = 0;
    for (int k = 0; k < gn[other]; k++)
        want += grp[other][k];
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, inter));
    CHECK(sum == want, "allreduce over the remote group %d, expected %d", sum, want);

    MPI_Comm merged;
    MPI_CHECK(MPI_Intercomm_merge(inter, color, &merged));
    int mr = -1;
    MPI_CHECK(MPI_Comm_rank(merged, &mr));
    CHECK(mr == (color == 0 ? lrank : gn[0] + lrank), "merged rank %d", mr);
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, merged));
    CHECK(sum == size * (size - 1) / 2);
    MPI_CHECK(MPI_Comm_free(&merged));

    /* Invalid leaders: every process sees them (MPICH 5.0.2 crashes on them). */
    MPI_Comm bad = MPI_COMM_NULL;
    if (!tu_is_mpich()) {
        CHECK_ERR_CLASS(MPI_Intercomm_create_from_groups(g[color], gn[color], g[other], 0, "bad",
                                                         MPI_INFO_NULL, MPI_ERRORS_RETURN, &bad),
                        MPI_ERR_RANK);
        CHECK_ERR_CLASS(MPI_Intercomm_create_from_groups(g[color], 0, g[other], -1, "bad",
                                                         MPI_INFO_NULL, MPI_ERRORS_RETURN, &bad),
                        MPI_ERR_RANK);
    }
    CHECK(bad == MPI_COMM_NULL);

    MPI_CHECK(MPI_Comm_free(&inter));
    for (int k = 0; k < 2; k++)
        MPI_CHECK(MPI_Group_free(&g[k]));
    MPI_CHECK(MPI_Group_free(&world));
    MPI_CHECK(MPI_Session_finalize(&s));
    if (rank == 0)
        printf("intercomm_groups: ok\n");
    return 0;
}
