/* ranks: 2 3 4 */
/* Intercommunicators as input to the constructors, between the even ranks (group 0) and
 * the odd ranks (group 1):
 * - MPI_Comm_create: each group passes a subgroup of its own; the result joins the two
 *   subgroups (local and remote groups exactly those passed), MPI_COMM_NULL outside them,
 *   and everywhere when one group passes MPI_GROUP_EMPTY;
 * - MPI_Comm_split: a colour present in one group only gives MPI_COMM_NULL;
 * - MPI_Comm_split_type(MPI_COMM_TYPE_SHARED): each group's processes on this process's host,
 *   paired with the other group's there (MPI_COMM_NULL where the other group has none: across
 *   test hosts), MPI_UNDEFINED gives MPI_COMM_NULL, and HW_UNGUIDED gives MPI_COMM_NULL on one
 *   host (nothing smaller than the groups) and the host split across hosts;
 * - MPI_Comm_create_group needs an intracommunicator: MPI_ERR_COMM.
 * Every intercommunicator made is checked by a message from each process to each remote
 * process. */
#include "testutil.h"

static int grp[2][4], gn[2];

static int world_of(int color, int lrank)
{
    return grp[color][lrank];
}

/* `c`'s local and remote groups are the world ranks `local` and `remote`, in order. */
static void check_inter(MPI_Comm c, const int *local, int nl, const int *remote, int nr, const char *what)
{
    int flag = 0, n = -1, r = -1, rank = tu_rank();
    MPI_CHECK(MPI_Comm_test_inter(c, &flag));
    CHECK(flag, "%s: not an intercommunicator", what);
    MPI_CHECK(MPI_Comm_size(c, &n));
    CHECK(n == nl, "%s: local size %d, expected %d", what, n, nl);
    MPI_CHECK(MPI_Comm_remote_size(c, &n));
    CHECK(n == nr, "%s: remote size %d, expected %d", what, n, nr);
    MPI_CHECK(MPI_Comm_rank(c, &r));
    CHECK(r >= 0 && r < nl && local[r] == rank, "%s: rank %d is not world %d's place", what, r, rank);
    MPI_Group g, wg;
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    for (int side = 0; side < 2; side++) {
        const int *want = side == 0 ? local : remote;
        int count = side == 0 ? nl : nr, got[4];
        int idx[4] = {0, 1, 2, 3};
        if (side == 0)
            MPI_CHECK(MPI_Comm_group(c, &g));
        else
            MPI_CHECK(MPI_Comm_remote_group(c, &g));
        MPI_CHECK(MPI_Group_translate_ranks(g, count, idx, wg, got));
        for (int i = 0; i < count; i++)
            CHECK(got[i] == want[i], "%s: %s rank %d is world %d, expected %d", what, side ? "remote" : "local", i,
                  got[i], want[i]);
        MPI_CHECK(MPI_Group_free(&g));
    }
    MPI_CHECK(MPI_Group_free(&wg));
    /* Each process sends its world rank to each remote rank. */
    MPI_Request rq[4];
    for (int d = 0; d < nr; d++)
        MPI_CHECK(MPI_Isend(&rank, 1, MPI_INT, d, 21, c, &rq[d]));
    for (int s = 0; s < nr; s++) {
        int v = -1;
        MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, s, 21, c, MPI_STATUS_IGNORE));
        CHECK(v == remote[s], "%s: remote rank %d sent %d, expected %d", what, s, v, remote[s]);
    }
    MPI_CHECK(MPI_Waitall(nr, rq, MPI_STATUSES_IGNORE));
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    for (int r = 0; r < size; r++)
        grp[r % 2][gn[r % 2]++] = r;
    int color = rank % 2, other = 1 - color;
    MPI_Comm local, inter, c;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &local));
    MPI_CHECK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, world_of(other, 0), 42, &inter));
    int lrank = -1;
    MPI_CHECK(MPI_Comm_rank(local, &lrank));
    MPI_Group lg;
    MPI_CHECK(MPI_Comm_group(inter, &lg));

    /* Comm_create: group 0 passes its ranks in reverse order without its last one when it
     * has two, group 1 its whole group. */
    {
        int sub[2][4], sn[2];
        sn[0] = gn[0] > 1 ? gn[0] - 1 : gn[0];
        for (int i = 0; i < sn[0]; i++)
            sub[0][i] = world_of(0, sn[0] - 1 - i);
        sn[1] = gn[1];
        for (int i = 0; i < sn[1]; i++)
            sub[1][i] = world_of(1, i);
        int ranks[4];
        for (int i = 0; i < sn[color]; i++)
            ranks[i] = color == 0 ? sn[0] - 1 - i : i;
        MPI_Group g;
        MPI_CHECK(MPI_Group_incl(lg, sn[color], ranks, &g));
        MPI_CHECK(MPI_Comm_create(inter, g, &c));
        int in = 0;
        for (int i = 0; i < sn[color]; i++)
            in |= sub[color][i] == rank;
        if (in) {
            CHECK(c != MPI_COMM_NULL, "Comm_create: member got MPI_COMM_NULL");
            check_inter(c, sub[color], sn[color], sub[other], sn[other], "Comm_create");
            MPI_CHECK(MPI_Comm_free(&c));
        } else {
            CHECK(c == MPI_COMM_NULL, "Comm_create: non-member got a communicator");
        }
        MPI_CHECK(MPI_Group_free(&g));
    }
    /* Comm_create with MPI_GROUP_EMPTY on group 1: MPI_COMM_NULL everywhere. */
    MPI_CHECK(MPI_Comm_create(inter, color == 0 ? lg : MPI_GROUP_EMPTY, &c));
    CHECK(c == MPI_COMM_NULL, "Comm_create with one empty group gave a communicator");

    /* Split: colour 1 for everyone, but local rank 0 of group 0 takes colour 5, which group 1
     * lacks; keys reverse the order. */
    {
        int mycolor = (color == 0 && lrank == 0) ? 5 : 1;
        MPI_CHECK(MPI_Comm_split(inter, mycolor, -rank, &c));
        if (mycolor == 5) {
            CHECK(c == MPI_COMM_NULL, "split: a colour of one group only gave a communicator");
        } else {
            int l[4], r[4], nl = 0, nr = 0;
            for (int i = gn[color] - 1; i >= 0; i--)
                if (!(color == 0 && i == 0))
                    l[nl++] = world_of(color, i);
            for (int i = gn[other] - 1; i >= 0; i--)
                if (!(other == 0 && i == 0))
                    r[nr++] = world_of(other, i);
            if (nr == 0) {
                CHECK(c == MPI_COMM_NULL, "split: no remote process of my colour, but a communicator");
            } else {
                check_inter(c, l, nl, r, nr, "split");
                MPI_CHECK(MPI_Comm_free(&c));
            }
        }
    }

    /* Split_type(SHARED): the host of every world rank, named by its lowest world rank. */
    int host_of[4], my_host = rank, hosts_total = 0;
    {
        MPI_Comm node;
        MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
        MPI_CHECK(MPI_Allreduce(&rank, &my_host, 1, MPI_INT, MPI_MIN, node));
        MPI_CHECK(MPI_Comm_free(&node));
        MPI_CHECK(MPI_Allgather(&my_host, 1, MPI_INT, host_of, 1, MPI_INT, MPI_COMM_WORLD));
        for (int r = 0; r < size; r++)
            hosts_total += host_of[r] == r;
    }
    int sl[4], snl = 0, sr[4], snr = 0;
    for (int i = 0; i < gn[color]; i++)
        if (host_of[world_of(color, i)] == my_host)
            sl[snl++] = world_of(color, i);
    for (int i = 0; i < gn[other]; i++)
        if (host_of[world_of(other, i)] == my_host)
            sr[snr++] = world_of(other, i);
    for (int type = 0; type < 2; type++) {
        int split = type == 0 ? MPI_COMM_TYPE_SHARED : MPI_COMM_TYPE_HW_UNGUIDED;
        const char *what = type == 0 ? "split_type(SHARED)" : "split_type(HW_UNGUIDED)";
        /* HW_UNGUIDED must give strictly smaller communicators: on one host, with no finer
         * level known, ours gives MPI_COMM_NULL in both groups alike (MPICH may know finer
         * levels); across hosts, the host split. */
        if (type == 1 && tu_is_mpich())
            continue;
        MPI_CHECK(MPI_Comm_split_type(inter, split, 0, MPI_INFO_NULL, &c));
        if (snr == 0 || (type == 1 && hosts_total == 1)) {
            CHECK(c == MPI_COMM_NULL, "%s gave a communicator (other group's processes on this host: %d, hosts: %d)", what, snr,
                  hosts_total);
        } else {
            CHECK(c != MPI_COMM_NULL, "%s of an intercommunicator gave MPI_COMM_NULL", what);
            check_inter(c, sl, snl, sr, snr, what);
            MPI_CHECK(MPI_Comm_free(&c));
        }
    }
    MPI_CHECK(MPI_Comm_split_type(inter, MPI_UNDEFINED, 0, MPI_INFO_NULL, &c));
    CHECK(c == MPI_COMM_NULL, "split_type(MPI_UNDEFINED) gave a communicator");

    /* Create_group needs an intracommunicator. */
    c = MPI_COMM_NULL;
    CHECK_ERR_CLASS(MPI_Comm_create_group(inter, lg, 3, &c), MPI_ERR_COMM);

    MPI_CHECK(MPI_Group_free(&lg));
    MPI_CHECK(MPI_Comm_free(&inter));
    MPI_CHECK(MPI_Comm_free(&local));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
