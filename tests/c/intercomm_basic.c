/* ranks: 2 3 4 */
/* MPI_Intercomm_create between the even and the odd world ranks (leaders of several kinds, two
 * peer communicators), the intercommunicator's queries (test_inter, size/rank/group of the local
 * group, remote size/group), point-to-point naming remote ranks (every pair, MPI_ANY_SOURCE and
 * the status's MPI_SOURCE, probes, sendrecv), dup (separate context, congruent), compare, split
 * of an intercommunicator, free, and invalid arguments getting their error classes. */
#include "testutil.h"

static int grp[2][64], gn[2];

/* World rank of rank `r` of group `g`. */
static int world_of(int g, int r) { return grp[g][r]; }

/* Checks that `g`, translated to MPI_COMM_WORLD, is `want[0..n)`. */
static void check_group(MPI_Group g, const int *want, int n, const char *what)
{
    int gs = -1;
    MPI_CHECK(MPI_Group_size(g, &gs));
    CHECK(gs == n, "%s: group size %d, expected %d", what, gs, n);
    MPI_Group wg;
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    int idx[64], tr[64];
    for (int i = 0; i < n; i++)
        idx[i] = i;
    MPI_CHECK(MPI_Group_translate_ranks(g, n, idx, wg, tr));
    for (int i = 0; i < n; i++)
        CHECK(tr[i] == want[i], "%s: rank %d is world %d, expected %d", what, i, tr[i], want[i]);
    MPI_CHECK(MPI_Group_free(&wg));
}

/* Every process sends to every remote rank, then receives one message from each with
 * MPI_ANY_SOURCE: values and sources name remote ranks. */
static void all_pairs(MPI_Comm inter, int color, int lrank, int tag)
{
    int other = 1 - color, rsize = gn[other], me = world_of(color, lrank);
    int out[64];
    MPI_Request rq[64];
    for (int d = 0; d < rsize; d++) {
        out[d] = 1000 * me + d;
        MPI_CHECK(MPI_Isend(&out[d], 1, MPI_INT, d, tag, inter, &rq[d]));
    }
    int seen[64] = {0};
    for (int i = 0; i < rsize; i++) {
        int v = -1;
        MPI_Status st;
        MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, tag, inter, &st));
        int s = st.MPI_SOURCE;
        CHECK(s >= 0 && s < rsize && !seen[s], "source %d (remote size %d)", s, rsize);
        seen[s] = 1;
        CHECK(v == 1000 * world_of(other, s) + lrank, "from remote %d got %d, expected %d", s, v,
              1000 * world_of(other, s) + lrank);
        CHECK(st.MPI_TAG == tag);
    }
    MPI_CHECK(MPI_Waitall(rsize, rq, MPI_STATUSES_IGNORE));
}

/* Every process sends its world rank to every remote rank and receives one message from each
 * with MPI_ANY_SOURCE: remote rank s must be world rank remote[s]. */
static void check_remote_order(MPI_Comm inter, const int *remote, int rsize, int tag)
{
    int me = tu_rank();
    MPI_Request rq[64];
    for (int d = 0; d < rsize; d++)
        MPI_CHECK(MPI_Isend(&me, 1, MPI_INT, d, tag, inter, &rq[d]));
    for (int i = 0; i < rsize; i++) {
        int v = -1;
        MPI_Status st;
        MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, tag, inter, &st));
        CHECK(st.MPI_SOURCE >= 0 && st.MPI_SOURCE < rsize && v == remote[st.MPI_SOURCE],
              "remote rank %d is world %d, expected %d", st.MPI_SOURCE, v,
              st.MPI_SOURCE >= 0 && st.MPI_SOURCE < rsize ? remote[st.MPI_SOURCE] : -1);
    }
    MPI_CHECK(MPI_Waitall(rsize, rq, MPI_STATUSES_IGNORE));
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    for (int r = 0; r < size; r++)
        grp[r % 2][gn[r % 2]++] = r;
    int color = rank % 2, other = 1 - color;

    MPI_Comm local;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &local));
    int lrank = -1, lsize = -1;
    MPI_CHECK(MPI_Comm_rank(local, &lrank));
    MPI_CHECK(MPI_Comm_size(local, &lsize));
    CHECK(lsize == gn[color] && world_of(color, lrank) == rank);

    /* Leaders: local rank 0 of each group, reached through MPI_COMM_WORLD. */
    MPI_Comm inter;
    MPI_CHECK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, world_of(other, 0), 42, &inter));
    CHECK(inter != MPI_COMM_NULL);
    int flag = -1, n = -1, r = -1;
    MPI_CHECK(MPI_Comm_test_inter(inter, &flag));
    CHECK(flag, "test_inter of an intercommunicator: %d", flag);
    MPI_CHECK(MPI_Comm_test_inter(local, &flag));
    CHECK(!flag);
    MPI_CHECK(MPI_Comm_size(inter, &n));
    MPI_CHECK(MPI_Comm_rank(inter, &r));
    CHECK(n == gn[color] && r == lrank, "size %d rank %d, expected %d %d", n, r, gn[color], lrank);
    MPI_CHECK(MPI_Comm_remote_size(inter, &n));
    CHECK(n == gn[other], "remote size %d, expected %d", n, gn[other]);
    MPI_Group g;
    MPI_CHECK(MPI_Comm_group(inter, &g));
    check_group(g, grp[color], gn[color], "local group");
    MPI_CHECK(MPI_Group_free(&g));
    MPI_CHECK(MPI_Comm_remote_group(inter, &g));
    check_group(g, grp[other], gn[other], "remote group");
    MPI_CHECK(MPI_Group_free(&g));

    all_pairs(inter, color, lrank, 5);

    /* Leaders exchange with a named source; a probe reports the remote rank. */
    if (lrank == 0) {
        int mine = 77 + rank, got = -1;
        MPI_Status st;
        MPI_CHECK(MPI_Sendrecv(&mine, 1, MPI_INT, 0, 9, &got, 1, MPI_INT, 0, 9, inter, &st));
        CHECK(got == 77 + world_of(other, 0) && st.MPI_SOURCE == 0 && st.MPI_TAG == 9);
    }
    /* Local rank d and remote rank d exchange where both exist; the receive is probed first. */
    {
        int v = 300 + rank;
        MPI_Request rq = MPI_REQUEST_NULL;
        if (lrank < gn[other])
            MPI_CHECK(MPI_Isend(&v, 1, MPI_INT, lrank, 11, inter, &rq));
        if (lrank < gn[other]) {
            MPI_Status st;
            MPI_CHECK(MPI_Probe(MPI_ANY_SOURCE, 11, inter, &st));
            CHECK(st.MPI_SOURCE == lrank, "probe source %d, expected %d", st.MPI_SOURCE, lrank);
            int got = -1;
            MPI_CHECK(MPI_Recv(&got, 1, MPI_INT, st.MPI_SOURCE, 11, inter, &st));
            CHECK(got == 300 + world_of(other, lrank));
        }
        MPI_CHECK(MPI_Wait(&rq, MPI_STATUS_IGNORE));
    }
    /* MPI_PROC_NULL works on an intercommunicator too. */
    {
        int v = 1;
        MPI_Status st;
        MPI_CHECK(MPI_Send(&v, 1, MPI_INT, MPI_PROC_NULL, 0, inter));
        MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, MPI_PROC_NULL, 0, inter, &st));
        CHECK(st.MPI_SOURCE == MPI_PROC_NULL);
    }

    /* Dup: congruent, its own context (a message on one never matches a receive on the other). */
    MPI_Comm dup;
    MPI_CHECK(MPI_Comm_dup(inter, &dup));
    MPI_CHECK(MPI_Comm_test_inter(dup, &flag));
    CHECK(flag);
    int cmp = -1;
    MPI_CHECK(MPI_Comm_compare(inter, dup, &cmp));
    CHECK(cmp == MPI_CONGRUENT, "inter vs dup: %d", cmp);
    MPI_CHECK(MPI_Comm_compare(inter, inter, &cmp));
    CHECK(cmp == MPI_IDENT);
    MPI_CHECK(MPI_Comm_compare(inter, local, &cmp));
    CHECK(cmp == MPI_UNEQUAL, "inter vs local: %d", cmp);
    MPI_CHECK(MPI_Comm_remote_size(dup, &n));
    CHECK(n == gn[other]);
    if (lrank == 0) {
        int a = 1, b = 2, ga = -1, gb = -1;
        MPI_Request rq[2];
        MPI_CHECK(MPI_Irecv(&gb, 1, MPI_INT, 0, 3, dup, &rq[0]));
        MPI_CHECK(MPI_Irecv(&ga, 1, MPI_INT, 0, 3, inter, &rq[1]));
        MPI_CHECK(MPI_Send(&a, 1, MPI_INT, 0, 3, inter));
        MPI_CHECK(MPI_Send(&b, 1, MPI_INT, 0, 3, dup));
        MPI_CHECK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
        CHECK(ga == 1 && gb == 2, "inter got %d, dup got %d", ga, gb);
    }
    all_pairs(dup, color, lrank, 6);
    MPI_CHECK(MPI_Comm_free(&dup));
    CHECK(dup == MPI_COMM_NULL);

    /* Another pair of leaders (each group's last rank) through another peer communicator. */
    MPI_Comm wdup, inter2;
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &wdup));
    MPI_CHECK(MPI_Intercomm_create(local, gn[color] - 1, wdup, world_of(other, gn[other] - 1), 7,
                                   &inter2));
    MPI_CHECK(MPI_Comm_remote_size(inter2, &n));
    CHECK(n == gn[other]);
    MPI_CHECK(MPI_Comm_compare(inter, inter2, &cmp));
    CHECK(cmp == MPI_CONGRUENT, "two intercomms of the same groups: %d", cmp);
    all_pairs(inter2, color, lrank, 8);
    MPI_CHECK(MPI_Comm_free(&inter2));

    /* Split of an intercommunicator: colour = local rank. Each colour pairs local rank c with
     * remote rank c; a colour the other group lacks gives MPI_COMM_NULL. Keys reverse nothing
     * here (one process per colour and side). A second split with one colour everywhere and
     * reversing keys reverses both groups. */
    MPI_Comm sp;
    MPI_CHECK(MPI_Comm_split(inter, lrank, 0, &sp));
    if (lrank < gn[other]) {
        CHECK(sp != MPI_COMM_NULL, "local rank %d has a remote counterpart", lrank);
        MPI_CHECK(MPI_Comm_test_inter(sp, &flag));
        CHECK(flag);
        MPI_CHECK(MPI_Comm_size(sp, &n));
        CHECK(n == 1);
        MPI_CHECK(MPI_Comm_remote_size(sp, &n));
        CHECK(n == 1);
        int v = rank, got = -1;
        MPI_CHECK(MPI_Sendrecv(&v, 1, MPI_INT, 0, 1, &got, 1, MPI_INT, 0, 1, sp, MPI_STATUS_IGNORE));
        CHECK(got == world_of(other, lrank), "split partner %d, expected %d", got,
              world_of(other, lrank));
        MPI_CHECK(MPI_Comm_free(&sp));
    } else {
        CHECK(sp == MPI_COMM_NULL, "local rank %d has no remote counterpart", lrank);
    }
    MPI_CHECK(MPI_Comm_split(inter, 3, -rank, &sp));
    {
        int rev_local[64], rev_remote[64];
        for (int i = 0; i < gn[color]; i++)
            rev_local[i] = grp[color][gn[color] - 1 - i];
        for (int i = 0; i < gn[other]; i++)
            rev_remote[i] = grp[other][gn[other] - 1 - i];
        MPI_CHECK(MPI_Comm_rank(sp, &r));
        CHECK(r == gn[color] - 1 - lrank, "reversed split rank %d", r);
        MPI_CHECK(MPI_Comm_group(sp, &g));
        check_group(g, rev_local, gn[color], "split local group");
        MPI_CHECK(MPI_Group_free(&g));
        MPI_CHECK(MPI_Comm_remote_group(sp, &g));
        check_group(g, rev_remote, gn[other], "split remote group");
        MPI_CHECK(MPI_Group_free(&g));
        check_remote_order(sp, rev_remote, gn[other], 10);
    }
    MPI_CHECK(MPI_Comm_free(&sp));
    MPI_CHECK(MPI_Comm_split(inter, MPI_UNDEFINED, 0, &sp));
    CHECK(sp == MPI_COMM_NULL);

    /* Errors. */
    MPI_Comm bad = MPI_COMM_NULL;
    /* MPICH 5.0.2 returns success for the remote size and group of an intracommunicator, and
     * crashes merging one. */
    if (!tu_is_mpich()) {
        CHECK_ERR_CLASS(MPI_Comm_remote_size(MPI_COMM_WORLD, &n), MPI_ERR_COMM);
        CHECK_ERR_CLASS(MPI_Comm_remote_group(local, &g), MPI_ERR_COMM);
        CHECK_ERR_CLASS(MPI_Intercomm_merge(MPI_COMM_WORLD, 0, &bad), MPI_ERR_COMM);
    }
    CHECK_ERR_CLASS(MPI_Comm_remote_size(MPI_COMM_NULL, &n), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_test_inter(MPI_COMM_NULL, &flag), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Intercomm_create(MPI_COMM_NULL, 0, MPI_COMM_WORLD, 0, 1, &bad),
                    MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Intercomm_create(local, gn[color], MPI_COMM_WORLD, world_of(other, 0), 1,
                                         &bad),
                    MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Intercomm_create(local, -1, MPI_COMM_WORLD, world_of(other, 0), 1, &bad),
                    MPI_ERR_RANK);
    /* An intercommunicator cannot be the local communicator. */
    CHECK_ERR_CLASS(MPI_Intercomm_create(inter, 0, MPI_COMM_WORLD, world_of(other, 0), 1, &bad),
                    MPI_ERR_COMM);
    {
        int v = 0;
        /* Ranks name the remote group: its size is out of range. */
        CHECK_ERR_CLASS(MPI_Send(&v, 1, MPI_INT, gn[other], 0, inter), MPI_ERR_RANK);
        CHECK_ERR_CLASS(MPI_Recv(&v, 1, MPI_INT, gn[other], 0, inter, MPI_STATUS_IGNORE),
                        MPI_ERR_RANK);
    }
    CHECK(bad == MPI_COMM_NULL);
    /* A bad remote leader or an invalid peer communicator is only seen by the local leader:
     * ours passes its error to the whole local group; MPICH leaves the others waiting. */
    if (!tu_is_mpich()) {
        CHECK_ERR_CLASS(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, size + 3, 1, &bad),
                        MPI_ERR_RANK);
        CHECK_ERR_CLASS(MPI_Intercomm_create(local, 0, MPI_COMM_NULL, world_of(other, 0), 1, &bad),
                        MPI_ERR_COMM);
        /* The local leader named as the remote leader. */
        CHECK_ERR_CLASS(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, world_of(color, 0), 1, &bad),
                        MPI_ERR_RANK);
    }
    /* Non-leaders may pass MPI_COMM_NULL as the peer communicator. */
    MPI_Comm inter3;
    MPI_CHECK(MPI_Intercomm_create(local, 0, lrank == 0 ? MPI_COMM_WORLD : MPI_COMM_NULL,
                                   world_of(other, 0), 12, &inter3));
    all_pairs(inter3, color, lrank, 13);
    MPI_CHECK(MPI_Comm_free(&inter3));

    MPI_CHECK(MPI_Comm_free(&inter));
    CHECK(inter == MPI_COMM_NULL);
    MPI_CHECK(MPI_Comm_free(&wdup));
    MPI_CHECK(MPI_Comm_free(&local));
    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("intercomm_basic: ok\n");
    return 0;
}
