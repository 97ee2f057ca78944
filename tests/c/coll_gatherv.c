/* ranks: 1 2 3 4 */
/* MPI_Gatherv, MPI_Scatterv, MPI_Allgatherv, MPI_Alltoallv, MPI_Alltoallw in every form
 * (blocking, I, _init started twice, and the _c forms of each), from every root, with and
 * without MPI_IN_PLACE: uneven counts (zero ones included) and displacements with gaps,
 * which must stay untouched (checked as -1), as must buffers a process does not use. Then
 * the argument errors: a bad root (MPI_ERR_ROOT), a negative count (MPI_ERR_COUNT), a null
 * count or displacement array (MPI_ERR_ARG; not checked by MPICH, which crashes). */
#include "testutil.h"

/* What rank `r` sends to rank `to` (alltoall) or to everyone (the others), element i. */
static int val(int r, int to, int i) { return r * 100000 + to * 1000 + i; }

enum { BLOCKING, NONBLOCKING, PERSISTENT, BLOCKING_C, NONBLOCKING_C, PERSISTENT_C, FORMS };
static const char *form_name[FORMS] = {"blocking", "I", "_init", "_c", "I_c", "_init_c"};
static int reps = 2;

static void finish(int form, MPI_Request *r)
{
    if (form == BLOCKING || form == BLOCKING_C)
        return;
    if (form == PERSISTENT || form == PERSISTENT_C) {
        for (int k = 0; k < reps; k++) {
            MPI_CHECK(MPI_Start(r));
            MPI_CHECK(MPI_Wait(r, MPI_STATUS_IGNORE));
        }
        MPI_CHECK(MPI_Request_free(r));
    } else {
        MPI_CHECK(MPI_Wait(r, MPI_STATUS_IGNORE));
        CHECK(*r == MPI_REQUEST_NULL);
    }
}

/* A v buffer's layout, in the int and the _c forms: block r has cnt[r] elements at displ[r]
 * (in elements; bytes for alltoallw's bdsp), with a gap before and after every block. */
#define MAXP 8
struct layout {
    int cnt[MAXP], dsp[MAXP], bdsp[MAXP], total;
    MPI_Count ccnt[MAXP];
    MPI_Aint cdsp[MAXP], cbdsp[MAXP];
};

static void layout(struct layout *l, int size, int (*count)(int))
{
    int at = 1;
    for (int r = 0; r < size; r++) {
        /* blocks in reverse rank order for odd sizes: displacements need not grow */
        int b = size % 2 ? size - 1 - r : r;
        l->cnt[b] = count(b);
        l->dsp[b] = at;
        at += l->cnt[b] + 2;
    }
    l->total = at;
    for (int r = 0; r < size; r++) {
        l->ccnt[r] = l->cnt[r];
        l->cdsp[r] = l->dsp[r];
        l->bdsp[r] = l->dsp[r] * (int)sizeof(int);
        l->cbdsp[r] = l->bdsp[r];
    }
}

static int me, np;
static int cnt_of(int r) { return (3 * r + 1) % 4; } /* 1 0 3 2: a zero count from 2 ranks */
static int a2a_of(int from, int to) { return (from + 2 * to) % 3; }
static int sym_of(int a, int b) { return (a + b) % 3; } /* symmetric: in-place alltoallv */
static int sendcnt_to(int to) { return a2a_of(me, to); }
static int recvcnt_from(int from) { return a2a_of(from, me); }
static int symcnt(int peer) { return sym_of(me, peer); }

/* Checks `buf` (a layout's `total` ints): block r holds want(r, i), everything else -1. */
static void check_layout(const char *what, const char *f, int root, const int *buf, const struct layout *l, int (*want)(int, int))
{
    for (int i = 0; i < l->total; i++) {
        int w = -1;
        for (int r = 0; r < np; r++)
            if (i >= l->dsp[r] && i < l->dsp[r] + l->cnt[r])
                w = want(r, i - l->dsp[r]);
        CHECK(buf[i] == w, "%s %s root %d: buf[%d] = %d, want %d", what, f, root, i, buf[i], w);
    }
}

static int want_gather(int r, int i) { return val(r, 0, i); }
static int want_a2a(int r, int i) { return val(r, me, i); }

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    me = tu_rank();
    np = tu_size();
    CHECK(np <= MAXP);
    struct layout g, s2, r2, sy;
    layout(&g, np, cnt_of);
    layout(&s2, np, sendcnt_to);
    layout(&r2, np, recvcnt_from);
    layout(&sy, np, symcnt);
    int big = g.total + s2.total + r2.total + sy.total + 16;
    int *sb = malloc(sizeof(int) * big), *rb = malloc(sizeof(int) * big);
    MPI_Datatype ints[MAXP];
    for (int r = 0; r < MAXP; r++)
        ints[r] = MPI_INT;

    for (int form = 0; form < FORMS; form++) {
        const char *f = form_name[form];
        int c = form >= BLOCKING_C, kind = form % 3;
        for (int in_place = 0; in_place < 2; in_place++) {
            /* --- Gatherv --- */
            for (int root = 0; root < np; root++) {
                MPI_Request rq = MPI_REQUEST_NULL;
                for (int i = 0; i < big; i++)
                    sb[i] = rb[i] = -1;
                for (int i = 0; i < g.cnt[me]; i++)
                    sb[i] = val(me, 0, i);
                const void *s = sb;
                if (in_place && me == root) {
                    s = MPI_IN_PLACE;
                    for (int i = 0; i < g.cnt[me]; i++)
                        rb[g.dsp[me] + i] = val(me, 0, i);
                }
                /* off the root the receive arrays are not significant: pass NULL there */
                int on = me == root;
                if (!c) {
                    const int *rc = on ? g.cnt : NULL, *rd = on ? g.dsp : NULL;
                    if (kind == 0) MPI_CHECK(MPI_Gatherv(s, g.cnt[me], MPI_INT, rb, rc, rd, MPI_INT, root, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Igatherv(s, g.cnt[me], MPI_INT, rb, rc, rd, MPI_INT, root, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Gatherv_init(s, g.cnt[me], MPI_INT, rb, rc, rd, MPI_INT, root, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                } else {
                    const MPI_Count *rc = on ? g.ccnt : NULL;
                    const MPI_Aint *rd = on ? g.cdsp : NULL;
                    if (kind == 0) MPI_CHECK(MPI_Gatherv_c(s, g.cnt[me], MPI_INT, rb, rc, rd, MPI_INT, root, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Igatherv_c(s, g.cnt[me], MPI_INT, rb, rc, rd, MPI_INT, root, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Gatherv_init_c(s, g.cnt[me], MPI_INT, rb, rc, rd, MPI_INT, root, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                }
                finish(form, &rq);
                if (on)
                    check_layout("Gatherv", f, root, rb, &g, want_gather);
                else
                    for (int i = 0; i < big; i++)
                        CHECK(rb[i] == -1, "Gatherv %s root %d: rb[%d] = %d off the root", f, root, i, rb[i]);
            }
            /* --- Scatterv --- */
            for (int root = 0; root < np; root++) {
                MPI_Request rq = MPI_REQUEST_NULL;
                for (int i = 0; i < big; i++)
                    sb[i] = rb[i] = -1;
                int on = me == root;
                if (on)
                    for (int r = 0; r < np; r++)
                        for (int i = 0; i < g.cnt[r]; i++)
                            sb[g.dsp[r] + i] = val(r, 0, i);
                void *d = in_place && on ? MPI_IN_PLACE : (void *)rb;
                if (!c) {
                    const int *sc = on ? g.cnt : NULL, *sd = on ? g.dsp : NULL;
                    if (kind == 0) MPI_CHECK(MPI_Scatterv(sb, sc, sd, MPI_INT, d, g.cnt[me], MPI_INT, root, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Iscatterv(sb, sc, sd, MPI_INT, d, g.cnt[me], MPI_INT, root, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Scatterv_init(sb, sc, sd, MPI_INT, d, g.cnt[me], MPI_INT, root, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                } else {
                    const MPI_Count *sc = on ? g.ccnt : NULL;
                    const MPI_Aint *sd = on ? g.cdsp : NULL;
                    if (kind == 0) MPI_CHECK(MPI_Scatterv_c(sb, sc, sd, MPI_INT, d, g.cnt[me], MPI_INT, root, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Iscatterv_c(sb, sc, sd, MPI_INT, d, g.cnt[me], MPI_INT, root, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Scatterv_init_c(sb, sc, sd, MPI_INT, d, g.cnt[me], MPI_INT, root, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                }
                finish(form, &rq);
                if (on)
                    check_layout("Scatterv (send buffer)", f, root, sb, &g, want_gather);
                for (int i = 0; i < big; i++) {
                    int w = d != MPI_IN_PLACE && i < g.cnt[me] ? val(me, 0, i) : -1;
                    CHECK(rb[i] == w, "Scatterv %s in_place %d root %d: rb[%d] = %d, want %d", f, in_place, root, i, rb[i], w);
                }
            }
            /* --- Allgatherv --- */
            {
                MPI_Request rq = MPI_REQUEST_NULL;
                for (int i = 0; i < big; i++)
                    sb[i] = rb[i] = -1;
                for (int i = 0; i < g.cnt[me]; i++)
                    sb[i] = val(me, 0, i);
                const void *s = sb;
                if (in_place) {
                    s = MPI_IN_PLACE;
                    for (int i = 0; i < g.cnt[me]; i++)
                        rb[g.dsp[me] + i] = val(me, 0, i);
                }
                if (!c) {
                    if (kind == 0) MPI_CHECK(MPI_Allgatherv(s, g.cnt[me], MPI_INT, rb, g.cnt, g.dsp, MPI_INT, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Iallgatherv(s, g.cnt[me], MPI_INT, rb, g.cnt, g.dsp, MPI_INT, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Allgatherv_init(s, g.cnt[me], MPI_INT, rb, g.cnt, g.dsp, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                } else {
                    if (kind == 0) MPI_CHECK(MPI_Allgatherv_c(s, g.cnt[me], MPI_INT, rb, g.ccnt, g.cdsp, MPI_INT, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Iallgatherv_c(s, g.cnt[me], MPI_INT, rb, g.ccnt, g.cdsp, MPI_INT, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Allgatherv_init_c(s, g.cnt[me], MPI_INT, rb, g.ccnt, g.cdsp, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                }
                finish(form, &rq);
                check_layout(in_place ? "Allgatherv in place" : "Allgatherv", f, -1, rb, &g, want_gather);
            }
            /* --- Alltoallv and Alltoallw (in place: symmetric counts, one start) --- */
            for (int w = 0; w < 2; w++) {
                MPI_Request rq = MPI_REQUEST_NULL;
                const struct layout *sl = in_place ? &sy : &s2, *rl = in_place ? &sy : &r2;
                for (int i = 0; i < big; i++)
                    sb[i] = rb[i] = -1;
                int *src = in_place ? rb : sb;
                for (int r = 0; r < np; r++)
                    for (int i = 0; i < sl->cnt[r]; i++)
                        src[sl->dsp[r] + i] = val(me, r, i);
                const void *s = in_place ? MPI_IN_PLACE : (const void *)sb;
                reps = in_place ? 1 : 2;
                if (!w && !c) {
                    if (kind == 0) MPI_CHECK(MPI_Alltoallv(s, sl->cnt, sl->dsp, MPI_INT, rb, rl->cnt, rl->dsp, MPI_INT, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Ialltoallv(s, sl->cnt, sl->dsp, MPI_INT, rb, rl->cnt, rl->dsp, MPI_INT, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Alltoallv_init(s, sl->cnt, sl->dsp, MPI_INT, rb, rl->cnt, rl->dsp, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                } else if (!w) {
                    if (kind == 0) MPI_CHECK(MPI_Alltoallv_c(s, sl->ccnt, sl->cdsp, MPI_INT, rb, rl->ccnt, rl->cdsp, MPI_INT, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Ialltoallv_c(s, sl->ccnt, sl->cdsp, MPI_INT, rb, rl->ccnt, rl->cdsp, MPI_INT, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Alltoallv_init_c(s, sl->ccnt, sl->cdsp, MPI_INT, rb, rl->ccnt, rl->cdsp, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                } else if (!c) {
                    if (kind == 0) MPI_CHECK(MPI_Alltoallw(s, sl->cnt, sl->bdsp, ints, rb, rl->cnt, rl->bdsp, ints, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Ialltoallw(s, sl->cnt, sl->bdsp, ints, rb, rl->cnt, rl->bdsp, ints, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Alltoallw_init(s, sl->cnt, sl->bdsp, ints, rb, rl->cnt, rl->bdsp, ints, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                } else {
                    if (kind == 0) MPI_CHECK(MPI_Alltoallw_c(s, sl->ccnt, sl->cbdsp, ints, rb, rl->ccnt, rl->cbdsp, ints, MPI_COMM_WORLD));
                    if (kind == 1) MPI_CHECK(MPI_Ialltoallw_c(s, sl->ccnt, sl->cbdsp, ints, rb, rl->ccnt, rl->cbdsp, ints, MPI_COMM_WORLD, &rq));
                    if (kind == 2) MPI_CHECK(MPI_Alltoallw_init_c(s, sl->ccnt, sl->cbdsp, ints, rb, rl->ccnt, rl->cbdsp, ints, MPI_COMM_WORLD, MPI_INFO_NULL, &rq));
                }
                finish(form, &rq);
                reps = 2;
                check_layout(w ? "Alltoallw" : "Alltoallv", f, in_place, rb, rl, want_a2a);
            }
        }
    }

    /* --- argument errors (every rank makes the same mistake, so none is left waiting) --- */
    tu_errors_return();
    {
        MPI_Request r;
        CHECK_ERR_CLASS(MPI_Gatherv(sb, 1, MPI_INT, rb, g.cnt, g.dsp, MPI_INT, np, MPI_COMM_WORLD), MPI_ERR_ROOT);
        CHECK_ERR_CLASS(MPI_Iscatterv(sb, g.cnt, g.dsp, MPI_INT, rb, 1, MPI_INT, -1, MPI_COMM_WORLD, &r), MPI_ERR_ROOT);
        CHECK_ERR_CLASS(MPI_Allgatherv(sb, -1, MPI_INT, rb, g.cnt, g.dsp, MPI_INT, MPI_COMM_WORLD), MPI_ERR_COUNT);
        int neg[MAXP];
        for (int i = 0; i < np; i++)
            neg[i] = -1 - i;
        CHECK_ERR_CLASS(MPI_Alltoallv(sb, neg, g.dsp, MPI_INT, rb, g.cnt, g.dsp, MPI_INT, MPI_COMM_WORLD), MPI_ERR_COUNT);
        if (!tu_is_mpich()) { /* MPICH 5.0.2 dereferences a null count or displacement array */
            CHECK_ERR_CLASS(MPI_Allgatherv(sb, 1, MPI_INT, rb, NULL, g.dsp, MPI_INT, MPI_COMM_WORLD), MPI_ERR_ARG);
            CHECK_ERR_CLASS(MPI_Alltoallv(sb, g.cnt, NULL, MPI_INT, rb, g.cnt, g.dsp, MPI_INT, MPI_COMM_WORLD), MPI_ERR_ARG);
            CHECK_ERR_CLASS(MPI_Alltoallw(sb, g.cnt, g.bdsp, ints, rb, NULL, g.bdsp, ints, MPI_COMM_WORLD), MPI_ERR_ARG);
        }
    }
    /* still in step after the errors */
    for (int i = 0; i < big; i++)
        sb[i] = rb[i] = -1;
    for (int i = 0; i < g.cnt[me]; i++)
        sb[i] = val(me, 0, i);
    MPI_CHECK(MPI_Allgatherv(sb, g.cnt[me], MPI_INT, rb, g.cnt, g.dsp, MPI_INT, MPI_COMM_WORLD));
    check_layout("Allgatherv after the errors", "", -1, rb, &g, want_gather);

    free(sb);
    free(rb);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
