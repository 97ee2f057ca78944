/* ranks: 1 2 3 4 */
/* timeout: 120 */
/* User-defined operations in the reducing collectives on MPI_COMM_WORLD: MPI_Reduce (every
 * root), MPI_Allreduce, MPI_Reduce_scatter_block, MPI_Reduce_scatter (uneven counts with a
 * zero), MPI_Scan and MPI_Exscan, each in its blocking, nonblocking and persistent form (the
 * persistent one started twice with new data) and their _c forms (with an operation made by
 * MPI_Op_create_c), with MPI_IN_PLACE where the standard allows it; requests complete by
 * MPI_Wait, or by MPI_Test in a loop.
 * - A non-commutative operation: the product of 2x2 int matrices on a contiguous type of 4
 *   ints, `inout = in * inout`. Each rank's matrices differ, so a result combined in any order
 *   but rank order differs from the product computed here (M0 * M1 * ... * Mn-1).
 * - A commutative sum on a vector type with a gap inside each element (ints at 0 and 8 of 12
 *   bytes): the gaps of the receive buffers must keep their contents.
 * The functions check the datatype handle they get and call MPI (MPI_Type_size,
 * MPI_Comm_rank), which must not deadlock. Then MPI_ERR_OP for predefined operations not
 * defined on the type, under MPI_ERRORS_RETURN. */
#include "testutil.h"

#define N 3        /* elements per rank's block */
#define MAXB 4     /* most blocks per buffer (ranks) */
#define SENT (-99) /* what receive buffers hold before a call */

static int rank, size, wrong_type;
static MPI_Datatype mat_t, gap_t;
static MPI_Op op_mat, op_mat_c, op_gap, op_gap_c;

/* ---- the operations ---------------------------------------------------------------------- */

static void mat_body(const int *in, int *io, long n, MPI_Datatype dt)
{
    int sz = 0, r = -1;
    MPI_Type_size(dt, &sz);
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    if (dt != mat_t || sz != 16 || r != rank)
        wrong_type++;
    for (long k = 0; k < n; k++) {
        const int *a = in + 4 * k;
        int *b = io + 4 * k;
        int c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                    a[2] * b[1] + a[3] * b[3]};
        memcpy(b, c, sizeof c);
    }
}
static void mat_fn(void *in, void *io, int *len, MPI_Datatype *dt) { mat_body(in, io, *len, *dt); }
static void mat_fn_c(void *in, void *io, MPI_Count *len, MPI_Datatype *dt) { mat_body(in, io, (long)*len, *dt); }

static void gap_body(const int *in, int *io, long n, MPI_Datatype dt)
{
    int sz = 0;
    MPI_Type_size(dt, &sz);
    if (dt != gap_t || sz != 8)
        wrong_type++;
    for (long k = 0; k < n; k++) {
        io[3 * k] += in[3 * k];
        io[3 * k + 2] += in[3 * k + 2];
    }
}
static void gap_fn(void *in, void *io, int *len, MPI_Datatype *dt) { gap_body(in, io, *len, *dt); }
static void gap_fn_c(void *in, void *io, MPI_Count *len, MPI_Datatype *dt) { gap_body(in, io, (long)*len, *dt); }

/* ---- data and reference ------------------------------------------------------------------ */

/* Element e of rank r's contribution. */
static void mat_of(int r, int e, int salt, int m[4])
{
    m[0] = r + 1 + salt;
    m[1] = e % 3 + 1;
    m[2] = (r + e + salt) % 2;
    m[3] = 1;
}
static void gap_of(int r, int e, int salt, int v[3])
{
    v[0] = r * 10 + e + salt;
    v[1] = 7777; /* gap: never read by the operation */
    v[2] = r * 100 - e + salt;
}

/* The reduction of element e over ranks lo..hi-1 in rank order. */
static void mat_ref(int lo, int hi, int e, int salt, int acc[4])
{
    mat_of(lo, e, salt, acc);
    for (int r = lo + 1; r < hi; r++) {
        int b[4];
        mat_of(r, e, salt, b);
        mat_body(acc, b, 1, mat_t);
        memcpy(acc, b, sizeof b);
    }
}
static void gap_ref(int lo, int hi, int e, int salt, int acc[3])
{
    acc[0] = acc[2] = 0;
    for (int r = lo; r < hi; r++) {
        int v[3];
        gap_of(r, e, salt, v);
        acc[0] += v[0];
        acc[2] += v[2];
    }
}

/* ---- the cases --------------------------------------------------------------------------- */

enum { F_REDUCE, F_ALLREDUCE, F_RSB, F_RS, F_SCAN, F_EXSCAN, NFNS };
static const char *fname[NFNS] = {"Reduce", "Allreduce", "Reduce_scatter_block", "Reduce_scatter", "Scan", "Exscan"};
/* mode: 0 blocking, 1 nonblocking, 2 persistent; +3: the _c form. */
static const char *modename[6] = {"", "I", "_init", "_c", "I_c", "_init_c"};

typedef struct {
    int fn, gap, root, inplace;
} Case;

static int sendbuf[MAXB * N * 4], recvbuf[MAXB * N * 4];
static int counts[MAXB];
static MPI_Count ccounts[MAXB];

static int ints_per(const Case *c) { return c->gap ? 3 : 4; }

/* Elements of the whole operand (all blocks) and of this rank's result. */
static int whole(const Case *c)
{
    switch (c->fn) {
    case F_RSB: return N * size;
    case F_RS: {
        int t = 0;
        for (int i = 0; i < size; i++)
            t += counts[i];
        return t;
    }
    default: return N;
    }
}

static void fill(const Case *c, int salt)
{
    int w = whole(c), k = ints_per(c);
    for (int i = 0; i < MAXB * N * 4; i++)
        sendbuf[i] = recvbuf[i] = SENT;
    /* MPI_IN_PLACE: the contribution is in the receive buffer (a reduce's root's only). */
    int in_recv = c->inplace && !(c->fn == F_REDUCE && rank != c->root);
    int *contrib = in_recv ? recvbuf : sendbuf;
    for (int e = 0; e < w; e++) {
        if (c->gap)
            gap_of(rank, e, salt, contrib + k * e);
        else
            mat_of(rank, e, salt, contrib + k * e);
    }
    if (c->gap && in_recv)
        for (int e = 0; e < w; e++)
            recvbuf[3 * e + 1] = SENT; /* the gaps of the receive buffer */
}

static void check(const Case *c, int mode, int salt)
{
    int k = ints_per(c), first = 0, n = 0, lo = 0, hi = size;
    switch (c->fn) {
    case F_REDUCE: n = rank == c->root ? N : 0; break;
    case F_ALLREDUCE: n = N; break;
    case F_RSB: first = rank * N; n = N; break;
    case F_RS:
        for (int i = 0; i < rank; i++)
            first += counts[i];
        n = counts[rank];
        break;
    case F_SCAN: n = N; hi = rank + 1; break;
    case F_EXSCAN: n = rank > 0 ? N : 0; hi = rank; break;
    }
    for (int e = 0; e < n; e++) {
        int want[4], *got = recvbuf + k * e;
        if (c->gap)
            gap_ref(lo, hi, first + e, salt, want);
        else
            mat_ref(lo, hi, first + e, salt, want);
        for (int j = 0; j < k; j++) {
            int w = c->gap && j == 1 ? SENT : want[j];
            CHECK(got[j] == w, "MPI_%s%s (%s, root %d, in place %d, salt %d): element %d int %d is %d, want %d",
                  fname[c->fn], modename[mode], c->gap ? "gap sum" : "matrix product", c->root, c->inplace, salt, e, j,
                  got[j], w);
        }
    }
    /* Exscan leaves rank 0's buffer alone; a reduce's non-root receive buffer is not used. */
    if ((c->fn == F_EXSCAN && rank == 0) || (c->fn == F_REDUCE && rank != c->root))
        for (int i = 0; i < N * k; i++)
            CHECK(recvbuf[i] == SENT, "MPI_%s%s wrote the receive buffer of rank %d", fname[c->fn], modename[mode], rank);
}

/* Makes the call in `mode`; for modes 1, 2, 4, 5 `req` receives the request. */
static void issue(const Case *c, int mode, MPI_Request *req)
{
    MPI_Datatype t = c->gap ? gap_t : mat_t;
    int cf = mode >= 3, m = mode % 3;
    MPI_Op op = c->gap ? (cf ? op_gap_c : op_gap) : (cf ? op_mat_c : op_mat);
    const void *sb = c->inplace ? MPI_IN_PLACE : sendbuf;
    void *rb = recvbuf;
    MPI_Comm w = MPI_COMM_WORLD;
    MPI_Info i = MPI_INFO_NULL;
    switch (c->fn) {
    case F_REDUCE:
        if (c->inplace && rank != c->root)
            sb = sendbuf;
        if (!cf) {
            if (m == 0) MPI_CHECK(MPI_Reduce(sb, rb, N, t, op, c->root, w));
            if (m == 1) MPI_CHECK(MPI_Ireduce(sb, rb, N, t, op, c->root, w, req));
            if (m == 2) MPI_CHECK(MPI_Reduce_init(sb, rb, N, t, op, c->root, w, i, req));
        } else {
            if (m == 0) MPI_CHECK(MPI_Reduce_c(sb, rb, N, t, op, c->root, w));
            if (m == 1) MPI_CHECK(MPI_Ireduce_c(sb, rb, N, t, op, c->root, w, req));
            if (m == 2) MPI_CHECK(MPI_Reduce_init_c(sb, rb, N, t, op, c->root, w, i, req));
        }
        break;
    case F_ALLREDUCE:
        if (!cf) {
            if (m == 0) MPI_CHECK(MPI_Allreduce(sb, rb, N, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Iallreduce(sb, rb, N, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Allreduce_init(sb, rb, N, t, op, w, i, req));
        } else {
            if (m == 0) MPI_CHECK(MPI_Allreduce_c(sb, rb, N, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Iallreduce_c(sb, rb, N, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Allreduce_init_c(sb, rb, N, t, op, w, i, req));
        }
        break;
    case F_RSB:
        if (!cf) {
            if (m == 0) MPI_CHECK(MPI_Reduce_scatter_block(sb, rb, N, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Ireduce_scatter_block(sb, rb, N, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Reduce_scatter_block_init(sb, rb, N, t, op, w, i, req));
        } else {
            if (m == 0) MPI_CHECK(MPI_Reduce_scatter_block_c(sb, rb, N, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Ireduce_scatter_block_c(sb, rb, N, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Reduce_scatter_block_init_c(sb, rb, N, t, op, w, i, req));
        }
        break;
    case F_RS:
        if (!cf) {
            if (m == 0) MPI_CHECK(MPI_Reduce_scatter(sb, rb, counts, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Ireduce_scatter(sb, rb, counts, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Reduce_scatter_init(sb, rb, counts, t, op, w, i, req));
        } else {
            if (m == 0) MPI_CHECK(MPI_Reduce_scatter_c(sb, rb, ccounts, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Ireduce_scatter_c(sb, rb, ccounts, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Reduce_scatter_init_c(sb, rb, ccounts, t, op, w, i, req));
        }
        break;
    case F_SCAN:
        if (!cf) {
            if (m == 0) MPI_CHECK(MPI_Scan(sb, rb, N, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Iscan(sb, rb, N, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Scan_init(sb, rb, N, t, op, w, i, req));
        } else {
            if (m == 0) MPI_CHECK(MPI_Scan_c(sb, rb, N, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Iscan_c(sb, rb, N, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Scan_init_c(sb, rb, N, t, op, w, i, req));
        }
        break;
    case F_EXSCAN:
        if (!cf) {
            if (m == 0) MPI_CHECK(MPI_Exscan(sb, rb, N, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Iexscan(sb, rb, N, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Exscan_init(sb, rb, N, t, op, w, i, req));
        } else {
            if (m == 0) MPI_CHECK(MPI_Exscan_c(sb, rb, N, t, op, w));
            if (m == 1) MPI_CHECK(MPI_Iexscan_c(sb, rb, N, t, op, w, req));
            if (m == 2) MPI_CHECK(MPI_Exscan_init_c(sb, rb, N, t, op, w, i, req));
        }
        break;
    }
}

static void run(Case c)
{
    for (int mode = 0; mode < 6; mode++) {
        MPI_Request req = MPI_REQUEST_NULL;
        fill(&c, 0);
        issue(&c, mode, &req);
        if (mode % 3 == 2) {
            for (int salt = 1; salt <= 2; salt++) {
                fill(&c, salt);
                MPI_CHECK(MPI_Start(&req));
                MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
                check(&c, mode, salt);
            }
            MPI_CHECK(MPI_Request_free(&req));
            continue;
        }
        /* The _c nonblocking form completes by MPI_Test (progress that runs user steps). */
        for (int done = 0; mode == 4 && !done;)
            MPI_CHECK(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
        if (mode == 1)
            MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        check(&c, mode, 0);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK(size <= MAXB, "at most %d ranks", MAXB);
    for (int i = 0; i < size; i++)
        ccounts[i] = counts[i] = i % 3 + (i == 0); /* 1 1 2 0 */

    MPI_CHECK(MPI_Type_contiguous(4, MPI_INT, &mat_t));
    MPI_CHECK(MPI_Type_commit(&mat_t));
    MPI_CHECK(MPI_Type_vector(2, 1, 2, MPI_INT, &gap_t));
    MPI_CHECK(MPI_Type_commit(&gap_t));
    MPI_CHECK(MPI_Op_create(mat_fn, 0, &op_mat));
    MPI_CHECK(MPI_Op_create_c(mat_fn_c, 0, &op_mat_c));
    MPI_CHECK(MPI_Op_create(gap_fn, 1, &op_gap));
    MPI_CHECK(MPI_Op_create_c(gap_fn_c, 1, &op_gap_c));

    for (int gap = 0; gap <= 1; gap++) {
        for (int root = 0; root < size; root++)
            for (int inplace = 0; inplace <= 1; inplace++)
                run((Case){F_REDUCE, gap, root, inplace});
        for (int inplace = 0; inplace <= 1; inplace++) {
            run((Case){F_ALLREDUCE, gap, 0, inplace});
            run((Case){F_RSB, gap, 0, inplace});
            run((Case){F_RS, gap, 0, inplace});
            run((Case){F_SCAN, gap, 0, inplace});
        }
        run((Case){F_EXSCAN, gap, 0, 0});
    }
    CHECK(wrong_type == 0, "%d calls of a user function with the wrong datatype", wrong_type);

    /* Predefined operations not defined on the type. */
    tu_errors_return();
    double d[2] = {1, 2}, r[2];
    CHECK_ERR_CLASS(MPI_Allreduce(d, r, 2, MPI_DOUBLE, MPI_BAND, MPI_COMM_WORLD), MPI_ERR_OP);
    MPI_Request req;
    CHECK_ERR_CLASS(MPI_Iallreduce(d, r, 2, MPI_DOUBLE, MPI_BXOR, MPI_COMM_WORLD, &req), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Reduce(d, r, 1, MPI_DOUBLE, MPI_MAXLOC, 0, MPI_COMM_WORLD), MPI_ERR_OP);

    MPI_CHECK(MPI_Op_free(&op_gap));
    MPI_CHECK(MPI_Op_free(&op_mat));
    MPI_CHECK(MPI_Op_free(&op_mat_c));
    MPI_CHECK(MPI_Op_free(&op_gap_c));
    MPI_CHECK(MPI_Type_free(&mat_t));
    MPI_CHECK(MPI_Type_free(&gap_t));
    MPI_Finalize();
    return 0;
}
