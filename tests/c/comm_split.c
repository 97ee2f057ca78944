/* ranks: 1 2 3 4 */
/* MPI_Comm_split by colour (rank % 2) with keys that reverse the order, then point-to-point and
 * collectives on the new communicators checked against values computed from world ranks; a
 * split where rank 0 passes MPI_UNDEFINED; a split of a split; MPI_Comm_split_type. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();

    int color = rank % 2;
    MPI_Comm sub;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, size - rank, &sub));
    CHECK(sub != MPI_COMM_NULL && sub != MPI_COMM_WORLD && sub != MPI_COMM_SELF);
    /* Members of my colour, in descending world rank. */
    int members[64], n = 0;
    for (int r = size - 1; r >= 0; r--)
        if (r % 2 == color)
            members[n++] = r;
    int sr = -1, ss = -1;
    MPI_CHECK(MPI_Comm_rank(sub, &sr));
    MPI_CHECK(MPI_Comm_size(sub, &ss));
    CHECK(ss == n, "sub size %d, expected %d", ss, n);
    CHECK(members[sr] == rank, "sub rank %d is world rank %d, I am %d", sr, members[sr], rank);

    /* The new communicator's group, translated to world, is `members`. */
    MPI_Group sg, wg;
    MPI_CHECK(MPI_Comm_group(sub, &sg));
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    int idx[64], tr[64];
    for (int i = 0; i < n; i++)
        idx[i] = i;
    MPI_CHECK(MPI_Group_translate_ranks(sg, n, idx, wg, tr));
    for (int i = 0; i < n; i++)
        CHECK(tr[i] == members[i], "sub rank %d -> world %d, expected %d", i, tr[i], members[i]);
    MPI_CHECK(MPI_Group_free(&sg));
    MPI_CHECK(MPI_Group_free(&wg));

    /* Ring sendrecv on sub: receive the world rank of the previous sub rank. */
    int next = (sr + 1) % ss, prev = (sr + ss - 1) % ss, got = -1;
    MPI_Status st;
    MPI_CHECK(MPI_Sendrecv(&rank, 1, MPI_INT, next, 7, &got, 1, MPI_INT, prev, 7, sub, &st));
    CHECK(got == members[prev], "ring got %d, expected %d", got, members[prev]);
    CHECK(st.MPI_SOURCE == prev && st.MPI_TAG == 7);

    /* A message on WORLD with the same tag does not match a receive on sub. */
    if (size >= 3 && color == 0 && ss >= 2) {
        /* world rank 0 and 2 are both in colour 0. */
        int a = 100 + rank, b = -1, c = -1;
        MPI_Request rq[2];
        int peer_world = rank == 0 ? 2 : 0;
        int peer_sub = -1;
        for (int i = 0; i < n; i++)
            if (members[i] == peer_world)
                peer_sub = i;
        if (rank == 0 || rank == 2) {
            MPI_CHECK(MPI_Irecv(&b, 1, MPI_INT, peer_sub, 3, sub, &rq[0]));
            MPI_CHECK(MPI_Irecv(&c, 1, MPI_INT, peer_world, 3, MPI_COMM_WORLD, &rq[1]));
            int w = a + 1000;
            MPI_CHECK(MPI_Send(&w, 1, MPI_INT, peer_world, 3, MPI_COMM_WORLD));
            MPI_CHECK(MPI_Send(&a, 1, MPI_INT, peer_sub, 3, sub));
            MPI_CHECK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
            CHECK(b == 100 + peer_world && c == 1100 + peer_world, "b %d c %d", b, c);
        }
    }

    /* Collectives on sub: sum of world ranks, max, bcast from sub rank 0, barrier. */
    int want_sum = 0;
    for (int i = 0; i < n; i++)
        want_sum += members[i];
    int sum = -1, mx = -1;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, sub));
    CHECK(sum == want_sum, "allreduce sum %d, expected %d", sum, want_sum);
    MPI_CHECK(MPI_Reduce(&rank, &mx, 1, MPI_INT, MPI_MAX, ss - 1, sub));
    if (sr == ss - 1)
        CHECK(mx == members[0], "reduce max %d", mx);
    int root_val = sr == 0 ? 4242 + rank : -1;
    MPI_CHECK(MPI_Bcast(&root_val, 1, MPI_INT, 0, sub));
    CHECK(root_val == 4242 + members[0]);
    MPI_CHECK(MPI_Barrier(sub));
    /* World collectives still work alongside. */
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
    CHECK(sum == size * (size - 1) / 2);

    /* A split of the split: everyone alone (colour = sub rank). */
    MPI_Comm solo;
    MPI_CHECK(MPI_Comm_split(sub, sr, 0, &solo));
    MPI_CHECK(MPI_Comm_size(solo, &ss));
    CHECK(ss == 1);
    int cmp = -1;
    MPI_CHECK(MPI_Comm_compare(solo, MPI_COMM_SELF, &cmp));
    CHECK(cmp == MPI_CONGRUENT, "solo vs self: %d", cmp);
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, solo));
    CHECK(sum == rank);
    MPI_CHECK(MPI_Comm_free(&solo));
    MPI_CHECK(MPI_Comm_free(&sub));
    CHECK(sub == MPI_COMM_NULL);

    /* Rank 0 opts out; the others form one communicator ordered by world rank. */
    MPI_Comm rest;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? MPI_UNDEFINED : 5, 0, &rest));
    if (rank == 0) {
        CHECK(rest == MPI_COMM_NULL);
    } else {
        MPI_CHECK(MPI_Comm_rank(rest, &sr));
        MPI_CHECK(MPI_Comm_size(rest, &ss));
        CHECK(sr == rank - 1 && ss == size - 1);
        MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, rest));
        CHECK(sum == size * (size - 1) / 2);
        /* A dup over a communicator that does not include world rank 0. */
        MPI_Comm d;
        MPI_CHECK(MPI_Comm_dup(rest, &d));
        MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, d));
        CHECK(sum == size * (size - 1) / 2);
        MPI_CHECK(MPI_Comm_free(&d));
        MPI_CHECK(MPI_Comm_free(&rest));
    }

    /* Same colour everywhere, equal keys: the order is the parent's. */
    MPI_Comm same;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, 0, 0, &same));
    MPI_CHECK(MPI_Comm_compare(same, MPI_COMM_WORLD, &cmp));
    CHECK(cmp == MPI_CONGRUENT, "split with one colour vs world: %d", cmp);
    MPI_CHECK(MPI_Comm_free(&same));

    /* split_type: every rank of this test runs on one host. */
    MPI_Comm node;
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
    CHECK(node != MPI_COMM_NULL);
    MPI_CHECK(MPI_Comm_size(node, &ss));
    MPI_CHECK(MPI_Comm_rank(node, &sr));
    CHECK(ss >= 1 && ss <= size && sr < ss);
    MPI_CHECK(MPI_Allreduce(&sr, &sum, 1, MPI_INT, MPI_SUM, node));
    CHECK(sum == ss * (ss - 1) / 2);
    MPI_CHECK(MPI_Comm_free(&node));
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_UNDEFINED, 0, MPI_INFO_NULL, &node));
    CHECK(node == MPI_COMM_NULL);

    /* Errors: a negative colour other than MPI_UNDEFINED; an invalid split type. */
    CHECK_ERR_CLASS(MPI_Comm_split(MPI_COMM_WORLD, -5, 0, &node), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Comm_split_type(MPI_COMM_WORLD, 12345, 0, MPI_INFO_NULL, &node),
                    MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Comm_split(MPI_COMM_NULL, 0, 0, &node), MPI_ERR_COMM);

    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("comm_split: ok\n");
    return 0;
}
