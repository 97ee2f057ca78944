/* ranks: 2 3 4 */
/* MPI_Intercomm_merge of an intercommunicator between the even and the odd world ranks: with
 * the odd group high, the even group high, and both groups passing the same flag (either order,
 * but one both groups agree on); the merged communicator's rank order checked through its
 * group, point-to-point and collectives on it; an intercommunicator of merged halves. */
#include "testutil.h"

static int grp[2][64], gn[2];

/* Checks `merged` against: group `first`'s ranks, then the other group's. */
static void check_order(MPI_Comm merged, int first, const char *what)
{
    int rank = tu_rank(), size = tu_size();
    int want[64], n = 0;
    for (int k = 0; k < gn[first]; k++)
        want[n++] = grp[first][k];
    for (int k = 0; k < gn[1 - first]; k++)
        want[n++] = grp[1 - first][k];
    int flag = -1, ms = -1, mr = -1;
    MPI_CHECK(MPI_Comm_test_inter(merged, &flag));
    CHECK(!flag, "%s: a merge is an intracommunicator", what);
    MPI_CHECK(MPI_Comm_size(merged, &ms));
    MPI_CHECK(MPI_Comm_rank(merged, &mr));
    CHECK(ms == size, "%s: size %d", what, ms);
    CHECK(want[mr] == rank, "%s: my merged rank %d should be world %d, I am %d", what, mr,
          want[mr], rank);
    MPI_Group mg, wg;
    MPI_CHECK(MPI_Comm_group(merged, &mg));
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    int idx[64], tr[64];
    for (int i = 0; i < size; i++)
        idx[i] = i;
    MPI_CHECK(MPI_Group_translate_ranks(mg, size, idx, wg, tr));
    for (int i = 0; i < size; i++)
        CHECK(tr[i] == want[i], "%s: merged rank %d is world %d, expected %d", what, i, tr[i],
              want[i]);
    MPI_CHECK(MPI_Group_free(&mg));
    MPI_CHECK(MPI_Group_free(&wg));

    /* Ring on the merged communicator: receive the previous merged rank's world rank. */
    int next = (mr + 1) % ms, prev = (mr + ms - 1) % ms, got = -1;
    MPI_Status st;
    MPI_CHECK(MPI_Sendrecv(&rank, 1, MPI_INT, next, 4, &got, 1, MPI_INT, prev, 4, merged, &st));
    CHECK(got == want[prev] && st.MPI_SOURCE == prev, "%s: ring got %d from %d", what, got,
          st.MPI_SOURCE);
    /* Collectives: sum of world ranks; bcast from the last merged rank. */
    int sum = -1;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, merged));
    CHECK(sum == size * (size - 1) / 2);
    int v = mr == ms - 1 ? 9000 + rank : -1;
    MPI_CHECK(MPI_Bcast(&v, 1, MPI_INT, ms - 1, merged));
    CHECK(v == 9000 + want[ms - 1], "%s: bcast got %d", what, v);
    MPI_CHECK(MPI_Barrier(merged));
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    for (int r = 0; r < size; r++)
        grp[r % 2][gn[r % 2]++] = r;
    int color = rank % 2, other = 1 - color;

    MPI_Comm local, inter;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &local));
    MPI_CHECK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, grp[other][0], 3, &inter));

    MPI_Comm m;
    /* The odd group high: even ranks first. */
    MPI_CHECK(MPI_Intercomm_merge(inter, color == 1, &m));
    check_order(m, 0, "odd high");
    MPI_CHECK(MPI_Comm_free(&m));
    /* The even group high: odd ranks first. */
    MPI_CHECK(MPI_Intercomm_merge(inter, color == 0, &m));
    check_order(m, 1, "even high");
    MPI_CHECK(MPI_Comm_free(&m));

    /* Both groups pass the same flag: either group may come first, but every process agrees
     * (the first merged rank tells which). */
    for (int high = 0; high < 2; high++) {
        MPI_CHECK(MPI_Intercomm_merge(inter, high, &m));
        int first_world = -1, mr = -1;
        MPI_CHECK(MPI_Comm_rank(m, &mr));
        if (mr == 0)
            first_world = rank;
        MPI_CHECK(MPI_Bcast(&first_world, 1, MPI_INT, 0, m));
        CHECK(first_world == 0 || first_world == 1, "first merged rank is world %d", first_world);
        check_order(m, first_world % 2, high ? "both high" : "both low");
        MPI_CHECK(MPI_Comm_free(&m));
    }

    /* A merge of a dup, and a dup of a merge. */
    MPI_Comm d, md;
    MPI_CHECK(MPI_Comm_dup(inter, &d));
    MPI_CHECK(MPI_Intercomm_merge(d, color, &m));
    check_order(m, 0, "merge of a dup");
    MPI_CHECK(MPI_Comm_dup(m, &md));
    check_order(md, 0, "dup of a merge");
    int cmp = -1;
    MPI_CHECK(MPI_Comm_compare(m, md, &cmp));
    CHECK(cmp == MPI_CONGRUENT);
    MPI_CHECK(MPI_Comm_free(&md));
    MPI_CHECK(MPI_Comm_free(&m));
    MPI_CHECK(MPI_Comm_free(&d));

    /* Errors: merging an intracommunicator (MPICH 5.0.2 crashes there), or MPI_COMM_NULL. */
    if (!tu_is_mpich())
        CHECK_ERR_CLASS(MPI_Intercomm_merge(local, 0, &m), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Intercomm_merge(MPI_COMM_NULL, 0, &m), MPI_ERR_COMM);

    MPI_CHECK(MPI_Comm_free(&inter));
    MPI_CHECK(MPI_Comm_free(&local));
    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("intercomm_merge: ok\n");
    return 0;
}
