/* ranks: 1 2 4 */
/* Groups: MPI_Comm_group, size, rank, incl/excl, range_incl/range_excl, union, intersection,
 * difference, translate_ranks, compare, free, MPI_GROUP_EMPTY; each result checked against the
 * expected world ranks, and bad arguments get MPI_ERR_GROUP / MPI_ERR_RANK / MPI_ERR_ARG. */
#include "testutil.h"

/* The world ranks of `g`, in group order, by translating to MPI_COMM_WORLD's group. */
static int world_ranks(MPI_Group g, MPI_Group world, int *out)
{
    int n = -1;
    MPI_CHECK(MPI_Group_size(g, &n));
    int in[64];
    for (int i = 0; i < n; i++)
        in[i] = i;
    MPI_CHECK(MPI_Group_translate_ranks(g, n, in, world, out));
    return n;
}

#define CHECK_MEMBERS(g, world, ...)                                                               \
    do {                                                                                           \
        int want_[] = {-1, __VA_ARGS__};                                                           \
        int nwant_ = (int)(sizeof want_ / sizeof want_[0]) - 1;                                    \
        int got_[64];                                                                              \
        int n_ = world_ranks((g), (world), got_);                                                  \
        CHECK(n_ == nwant_, "group size %d, expected %d", n_, nwant_);                             \
        for (int i_ = 0; i_ < n_; i_++)                                                            \
            CHECK(got_[i_] == want_[i_ + 1], "member %d is %d, expected %d", i_, got_[i_],         \
                  want_[i_ + 1]);                                                                  \
    } while (0)

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();

    MPI_Group world, g, h, u;
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &world));
    CHECK(world != MPI_GROUP_NULL && world != MPI_GROUP_EMPTY);
    int n = -1, r = -1;
    MPI_CHECK(MPI_Group_size(world, &n));
    MPI_CHECK(MPI_Group_rank(world, &r));
    CHECK(n == size && r == rank, "world group size %d rank %d", n, r);

    /* incl in reverse order: my rank is size-1-rank. */
    int rev[64];
    for (int i = 0; i < size; i++)
        rev[i] = size - 1 - i;
    MPI_CHECK(MPI_Group_incl(world, size, rev, &g));
    MPI_CHECK(MPI_Group_rank(g, &r));
    CHECK(r == size - 1 - rank, "reversed rank %d", r);
    int cmp = -1;
    MPI_CHECK(MPI_Group_compare(world, g, &cmp));
    CHECK(cmp == (size == 1 ? MPI_IDENT : MPI_SIMILAR), "compare reversed: %d", cmp);
    MPI_CHECK(MPI_Group_compare(world, world, &cmp));
    CHECK(cmp == MPI_IDENT);

    /* translate from the reversed group to world. */
    int tr[64];
    MPI_CHECK(MPI_Group_translate_ranks(g, size, rev, world, tr));
    for (int i = 0; i < size; i++)
        CHECK(tr[i] == i, "translate %d -> %d", rev[i], tr[i]);
    int pn = MPI_PROC_NULL, pt = 0;
    MPI_CHECK(MPI_Group_translate_ranks(g, 1, &pn, world, &pt));
    CHECK(pt == MPI_PROC_NULL);
    MPI_CHECK(MPI_Group_free(&g));
    CHECK(g == MPI_GROUP_NULL);

    /* excl rank 0; rank 0 is then not a member. */
    int zero = 0;
    MPI_CHECK(MPI_Group_excl(world, 1, &zero, &g));
    MPI_CHECK(MPI_Group_size(g, &n));
    CHECK(n == size - 1);
    MPI_CHECK(MPI_Group_rank(g, &r));
    CHECK(r == (rank == 0 ? MPI_UNDEFINED : rank - 1), "rank after excl 0: %d", r);
    if (size == 1)
        CHECK(g == MPI_GROUP_EMPTY, "an empty result is MPI_GROUP_EMPTY");
    MPI_CHECK(MPI_Group_translate_ranks(world, 1, &zero, g, &pt));
    CHECK(pt == MPI_UNDEFINED);

    /* range_incl even ranks, range_excl the same: union is world (evens first), intersection
     * empty, difference world - evens = odds. */
    int ranges[1][3] = {{0, size - 1, 2}};
    MPI_Group even, odd;
    MPI_CHECK(MPI_Group_range_incl(world, 1, ranges, &even));
    MPI_CHECK(MPI_Group_range_excl(world, 1, ranges, &odd));
    if (size == 4) {
        CHECK_MEMBERS(even, world, 0, 2);
        CHECK_MEMBERS(odd, world, 1, 3);
        MPI_CHECK(MPI_Group_union(odd, even, &u));
        CHECK_MEMBERS(u, world, 1, 3, 0, 2);
        MPI_CHECK(MPI_Group_free(&u));
        int down[1][3] = {{3, 0, -2}};
        MPI_CHECK(MPI_Group_range_incl(world, 1, down, &h));
        CHECK_MEMBERS(h, world, 3, 1);
        MPI_CHECK(MPI_Group_compare(h, odd, &cmp));
        CHECK(cmp == MPI_SIMILAR);
        MPI_CHECK(MPI_Group_intersection(world, h, &u));
        CHECK_MEMBERS(u, world, 1, 3);
        MPI_CHECK(MPI_Group_compare(u, odd, &cmp));
        CHECK(cmp == MPI_IDENT);
        MPI_CHECK(MPI_Group_free(&u));
        MPI_CHECK(MPI_Group_free(&h));
    }
    MPI_CHECK(MPI_Group_intersection(even, odd, &u));
    CHECK(u == MPI_GROUP_EMPTY);
    MPI_CHECK(MPI_Group_difference(world, even, &h));
    MPI_CHECK(MPI_Group_compare(h, odd, &cmp));
    CHECK(cmp == MPI_IDENT, "world - even vs odd: %d", cmp);
    MPI_CHECK(MPI_Group_union(even, odd, &u));
    MPI_CHECK(MPI_Group_compare(u, world, &cmp));
    CHECK(cmp == (size <= 2 ? MPI_IDENT : MPI_SIMILAR), "even + odd vs world: %d", cmp);
    MPI_CHECK(MPI_Group_free(&u));
    MPI_CHECK(MPI_Group_free(&h));

    /* MPI_GROUP_EMPTY. */
    MPI_CHECK(MPI_Group_size(MPI_GROUP_EMPTY, &n));
    MPI_CHECK(MPI_Group_rank(MPI_GROUP_EMPTY, &r));
    CHECK(n == 0 && r == MPI_UNDEFINED);
    MPI_CHECK(MPI_Group_union(MPI_GROUP_EMPTY, world, &u));
    MPI_CHECK(MPI_Group_compare(u, world, &cmp));
    CHECK(cmp == MPI_IDENT);
    MPI_CHECK(MPI_Group_free(&u));
    MPI_CHECK(MPI_Group_incl(world, 0, NULL, &u));
    CHECK(u == MPI_GROUP_EMPTY);

    /* Errors. */
    int bad = size, dup2[2] = {0, 0};
    CHECK_ERR_CLASS(MPI_Group_size(MPI_GROUP_NULL, &n), MPI_ERR_GROUP);
    CHECK_ERR_CLASS(MPI_Group_incl(world, 1, &bad, &u), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Group_incl(world, 2, dup2, &u), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Group_excl(world, 1, &bad, &u), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Group_translate_ranks(world, 1, &bad, world, &pt), MPI_ERR_RANK);
    int zero_stride[1][3] = {{0, 0, 0}};
    CHECK_ERR_CLASS(MPI_Group_range_incl(world, 1, zero_stride, &u), MPI_ERR_ARG);
    int past_end[1][3] = {{0, size, 1}};
    CHECK_ERR_CLASS(MPI_Group_range_excl(world, 1, past_end, &u), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Group_incl(world, -1, &zero, &u), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Group_compare(world, MPI_GROUP_NULL, &cmp), MPI_ERR_GROUP);
    MPI_Group stale = even;
    MPI_CHECK(MPI_Group_free(&even));
    CHECK_ERR_CLASS(MPI_Group_size(stale, &n), MPI_ERR_GROUP);
    CHECK_ERR_CLASS(MPI_Group_free(&stale), MPI_ERR_GROUP);
    MPI_Group null = MPI_GROUP_NULL;
    CHECK_ERR_CLASS(MPI_Group_free(&null), MPI_ERR_GROUP);
    /* A group outlives the communicator it came from and the free of another one. */
    MPI_CHECK(MPI_Group_free(&odd));
    if (g != MPI_GROUP_EMPTY)
        MPI_CHECK(MPI_Group_free(&g));
    MPI_CHECK(MPI_Group_size(world, &n));
    CHECK(n == size);
    MPI_CHECK(MPI_Group_free(&world));

    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("group_basic: ok\n");
    return 0;
}
