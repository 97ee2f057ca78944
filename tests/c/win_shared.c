/* ranks: 1 2 3 4 */
/* MPI_Win_allocate_shared over the ranks of one host (MPI_Comm_split_type SHARED): each
 * rank's segment (of different sizes, one empty) is reachable by direct loads and stores from
 * every rank through MPI_Win_shared_query (and its _c form; MPI_PROC_NULL gives the first
 * non-empty segment), the segments are contiguous, and RMA operations on the window land in
 * the same memory. MPI_Win_shared_query on a window of another flavor finds no shared memory. */
#include "testutil.h"

static int seg_len(int r) { return r == 1 ? 0 : 8 * (r + 1); }

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    tu_errors_return();
    MPI_Comm host;
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host));
    int rank, size;
    MPI_Comm_rank(host, &rank);
    MPI_Comm_size(host, &size);

    int *mine = NULL;
    MPI_Win win;
    MPI_CHECK(MPI_Win_allocate_shared(seg_len(rank) * sizeof(int), sizeof(int), MPI_INFO_NULL, host, &mine, &win));
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    void *v;
    int flag;
    MPI_CHECK(MPI_Win_get_attr(win, MPI_WIN_CREATE_FLAVOR, &v, &flag));
    CHECK(flag && *(int *)v == MPI_WIN_FLAVOR_SHARED, "flavor %d", *(int *)v);

    MPI_CHECK(MPI_Win_lock_all(MPI_MODE_NOCHECK, win));
    for (int i = 0; i < seg_len(rank); i++)
        mine[i] = rank * 1000 + i;
    MPI_CHECK(MPI_Win_sync(win));
    MPI_CHECK(MPI_Barrier(host));
    MPI_CHECK(MPI_Win_sync(win));

    /* Every segment, through the pointers shared_query gives. */
    char *prev_end = NULL;
    for (int r = 0; r < size; r++) {
        MPI_Aint sz = -1;
        int unit = -1;
        int *base = NULL;
        MPI_CHECK(MPI_Win_shared_query(win, r, &sz, &unit, &base));
        CHECK(sz == (MPI_Aint)(seg_len(r) * sizeof(int)) && unit == (int)sizeof(int), "rank %d: size %ld unit %d", r, (long)sz, unit);
        if (r == rank && sz > 0)
            CHECK(base == mine, "own segment at %p, allocate said %p", (void *)base, (void *)mine);
        if (sz > 0 && prev_end)
            CHECK((char *)base == prev_end, "segment of rank %d at %p, not contiguous with %p", r, (void *)base, (void *)prev_end);
        if (sz > 0)
            prev_end = (char *)base + sz;
        for (int i = 0; i < seg_len(r); i++)
            CHECK(base[i] == r * 1000 + i, "rank %d's segment [%d] = %d", r, i, base[i]);
    }
    MPI_Aint sz;
    MPI_Aint unit_c;
    int *first;
    MPI_CHECK(MPI_Win_shared_query_c(win, MPI_PROC_NULL, &sz, &unit_c, &first));
    CHECK(sz == 8 * sizeof(int) && unit_c == sizeof(int) && first[0] == 0 && first[7] == 7, "PROC_NULL query: size %ld", (long)sz);
    MPI_CHECK(MPI_Barrier(host));

    /* RMA puts: every rank puts 7000 + rank into element `rank` of every non-empty segment,
     * each seen there by plain loads. */
    int val = 7000 + rank;
    for (int t = 0; t < size; t++)
        if (seg_len(t) > 0)
            MPI_CHECK(MPI_Put(&val, 1, MPI_INT, t, rank, 1, MPI_INT, win));
    MPI_CHECK(MPI_Win_flush_all(win));
    MPI_CHECK(MPI_Win_sync(win));
    MPI_CHECK(MPI_Barrier(host));
    MPI_CHECK(MPI_Win_sync(win));
    for (int i = 0; i < seg_len(rank); i++) {
        int want = i < size ? 7000 + i : rank * 1000 + i;
        CHECK(mine[i] == want, "after puts: mine[%d] = %d, expected %d", i, mine[i], want);
    }
    MPI_CHECK(MPI_Barrier(host));
    MPI_CHECK(MPI_Win_unlock_all(win));
    MPI_CHECK(MPI_Win_free(&win));

    /* Other flavors (MPI-4.0): memory that is not shared reads as size 0 and NULL; our own
     * memory may be given as itself. */
    int buf[4];
    MPI_CHECK(MPI_Win_create(buf, sizeof buf, 1, MPI_INFO_NULL, host, &win));
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    int *b;
    int u;
    for (int r = 0; r < size; r++) {
        MPI_CHECK(MPI_Win_shared_query(win, r, &sz, &u, &b));
        CHECK((sz == 0 && b == NULL) || (r == rank && sz == sizeof buf && b == buf), "query of rank %d of a created window: size %ld at %p", r, (long)sz, (void *)b);
    }
    MPI_CHECK(MPI_Win_free(&win));

    MPI_Comm_free(&host);
    MPI_Finalize();
    return 0;
}
