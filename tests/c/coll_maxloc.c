/* ranks: 1 2 3 4 */
/* MPI_MAXLOC and MPI_MINLOC on the pair types and on derived types built from them
 * (MPI_Type_contiguous(3, MPI_2INT), a vector of MPI_DOUBLE_INT with a gap between its
 * blocks, a contiguous type of MPI_SHORT_INT, MPI_LONG_INT itself), and MPI_SUM on a vector of
 * MPI_INT (a derived type of one basic type): in MPI_Reduce_local, MPI_Reduce (root size-1),
 * MPI_Allreduce, MPI_Iallreduce, MPI_Allreduce_init (started twice), MPI_Scan and
 * MPI_Reduce_scatter_block. Values tie often, so the lower index must win ties; every result
 * is computed here, and the gaps of receive buffers must keep their contents. */
#include "testutil.h"

#define PAIRS 6 /* pairs (or ints) in one operand */
#define SENT (-55)

static int rank, size;

struct ii { int v, i; };
struct di { double v; int i; };
struct si { short v; int i; };
struct li { long v; int i; };

/* A buffer of PAIRS pairs of one kind, laid out as the case's datatype says: `stride` pairs
 * apart (2: the vector with a gap of one pair after each pair). */
typedef struct {
    const char *name;
    MPI_Datatype pair, type; /* the pair type and the datatype of the call */
    int count;               /* elements of `type` covering PAIRS pairs */
    int stride;              /* pair slots from one pair to the next */
    MPI_Op op;
} Case;

static int value(int r, int e, int salt) { return (r * 3 + e * 5 + salt) % 4 - (e % 2); }

static size_t pair_size(MPI_Datatype p)
{
    if (p == MPI_2INT) return sizeof(struct ii);
    if (p == MPI_DOUBLE_INT) return sizeof(struct di);
    if (p == MPI_SHORT_INT) return sizeof(struct si);
    if (p == MPI_LONG_INT) return sizeof(struct li);
    return sizeof(int);
}

static void put(const Case *c, void *buf, int slot, int v, int i)
{
    char *p = (char *)buf + slot * pair_size(c->pair);
    if (c->pair == MPI_2INT) *(struct ii *)p = (struct ii){v, i};
    else if (c->pair == MPI_DOUBLE_INT) { ((struct di *)p)->v = v; ((struct di *)p)->i = i; }
    else if (c->pair == MPI_SHORT_INT) { ((struct si *)p)->v = (short)v; ((struct si *)p)->i = i; }
    else if (c->pair == MPI_LONG_INT) { ((struct li *)p)->v = v; ((struct li *)p)->i = i; }
    else *(int *)p = v;
}

static void get(const Case *c, const void *buf, int slot, int *v, int *i)
{
    const char *p = (const char *)buf + slot * pair_size(c->pair);
    *i = 0;
    if (c->pair == MPI_2INT) { *v = ((const struct ii *)p)->v; *i = ((const struct ii *)p)->i; }
    else if (c->pair == MPI_DOUBLE_INT) { *v = (int)((const struct di *)p)->v; *i = ((const struct di *)p)->i; }
    else if (c->pair == MPI_SHORT_INT) { *v = ((const struct si *)p)->v; *i = ((const struct si *)p)->i; }
    else if (c->pair == MPI_LONG_INT) { *v = (int)((const struct li *)p)->v; *i = ((const struct li *)p)->i; }
    else *v = *(const int *)p;
}

/* The reduction of pair e over ranks lo..hi-1. */
static void want(const Case *c, int lo, int hi, int e, int salt, int *v, int *i)
{
    *v = value(lo, e, salt);
    *i = lo;
    for (int r = lo + 1; r < hi; r++) {
        int x = value(r, e, salt);
        if (c->op == MPI_SUM)
            *v += x;
        else if (c->op == MPI_MAXLOC ? x > *v : x < *v) {
            *v = x;
            *i = r;
        }
    }
    if (c->op == MPI_SUM)
        *i = 0;
}

/* Fills `buf` (PAIRS pairs, each `stride` slots apart, of rank `r`); the other slots and
 * bytes get SENT. */
static void fill(const Case *c, void *buf, size_t bytes, int r, int salt)
{
    memset(buf, 0, bytes);
    for (size_t k = 0; k < bytes / sizeof(int); k++)
        ((int *)buf)[k] = SENT;
    for (int e = 0; e < PAIRS; e++)
        put(c, buf, e * c->stride, value(r, e, salt), r);
}

static void expect(const Case *c, const char *call, const void *buf, int first, int n, int lo, int hi, int salt)
{
    for (int e = 0; e < n; e++) {
        int v, i, wv, wi;
        get(c, buf, e * c->stride, &v, &i);
        want(c, lo, hi, first + e, salt, &wv, &wi);
        CHECK(v == wv && i == wi, "%s on %s: pair %d is (%d, %d), want (%d, %d)", call, c->name, e, v, i, wv, wi);
        /* The gap after each pair of the vector is left alone. */
        if (c->stride == 2 && e + 1 < n) {
            const int *gap = (const int *)((const char *)buf + (2 * e + 1) * pair_size(c->pair));
            CHECK(gap[0] == SENT, "%s on %s wrote the gap after pair %d", call, c->name, e);
        }
    }
}

static void run(const Case *c)
{
    enum { BYTES = PAIRS * 2 * 32 * 4 };
    static char in[BYTES], out[BYTES];
    size_t len = (size_t)PAIRS * c->stride * pair_size(c->pair);

    /* Reduce_local: the pairs of rank - 1 into those of this rank. MPICH 5.0.2 refuses
     * predefined operations on derived types here (MPI_ERR_OP), which the standard allows. */
    if (c->type == c->pair || !tu_is_mpich()) {
        fill(c, in, len, rank - 1, 0);
        fill(c, out, len, rank, 0);
        MPI_CHECK(MPI_Reduce_local(in, out, c->count, c->type, c->op));
        expect(c, "MPI_Reduce_local", out, 0, PAIRS, rank - 1, rank + 1, 0);
    }

    fill(c, in, len, rank, 0);
    fill(c, out, len, -1, 0);
    MPI_CHECK(MPI_Reduce(in, out, c->count, c->type, c->op, size - 1, MPI_COMM_WORLD));
    if (rank == size - 1)
        expect(c, "MPI_Reduce", out, 0, PAIRS, 0, size, 0);

    fill(c, out, len, -1, 0);
    MPI_CHECK(MPI_Allreduce(in, out, c->count, c->type, c->op, MPI_COMM_WORLD));
    expect(c, "MPI_Allreduce", out, 0, PAIRS, 0, size, 0);

    fill(c, out, len, rank, 0);
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, out, c->count, c->type, c->op, MPI_COMM_WORLD));
    expect(c, "MPI_Allreduce (in place)", out, 0, PAIRS, 0, size, 0);

    MPI_Request req;
    fill(c, out, len, -1, 0);
    MPI_CHECK(MPI_Iallreduce(in, out, c->count, c->type, c->op, MPI_COMM_WORLD, &req));
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    expect(c, "MPI_Iallreduce", out, 0, PAIRS, 0, size, 0);

    MPI_CHECK(MPI_Allreduce_init(in, out, c->count, c->type, c->op, MPI_COMM_WORLD, MPI_INFO_NULL, &req));
    for (int salt = 1; salt <= 2; salt++) {
        fill(c, in, len, rank, salt);
        fill(c, out, len, -1, 0);
        MPI_CHECK(MPI_Start(&req));
        MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        expect(c, "MPI_Allreduce_init", out, 0, PAIRS, 0, size, salt);
    }
    MPI_CHECK(MPI_Request_free(&req));

    fill(c, in, len, rank, 0);
    fill(c, out, len, -1, 0);
    MPI_CHECK(MPI_Scan(in, out, c->count, c->type, c->op, MPI_COMM_WORLD));
    expect(c, "MPI_Scan", out, 0, PAIRS, 0, rank + 1, 0);

    /* Reduce_scatter_block over `size` blocks of the case's type: needs a whole operand per
     * rank, so the pairs are spread over size * count elements. */
    int per = c->count / size;
    if (per > 0 && per * size == c->count) {
        fill(c, out, len, -1, 0);
        MPI_CHECK(MPI_Reduce_scatter_block(in, out, per, c->type, c->op, MPI_COMM_WORLD));
        int pairs_per = PAIRS / size;
        expect(c, "MPI_Reduce_scatter_block", out, rank * pairs_per, pairs_per, 0, size, 0);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    MPI_Datatype ii3, di_vec, si2, int_vec;
    MPI_CHECK(MPI_Type_contiguous(3, MPI_2INT, &ii3));
    MPI_CHECK(MPI_Type_commit(&ii3));
    /* Two pairs, two pair extents apart: a gap of one pair between them. Resized so that
     * consecutive elements continue the pattern (pair, gap, pair, gap). */
    MPI_Datatype v;
    MPI_CHECK(MPI_Type_vector(2, 1, 2, MPI_DOUBLE_INT, &v));
    MPI_CHECK(MPI_Type_create_resized(v, 0, 4 * sizeof(struct di), &di_vec));
    MPI_CHECK(MPI_Type_commit(&di_vec));
    MPI_CHECK(MPI_Type_free(&v));
    MPI_CHECK(MPI_Type_contiguous(2, MPI_SHORT_INT, &si2));
    MPI_CHECK(MPI_Type_commit(&si2));
    MPI_CHECK(MPI_Type_vector(3, 1, 2, MPI_INT, &v));
    MPI_CHECK(MPI_Type_create_resized(v, 0, 6 * sizeof(int), &int_vec));
    MPI_CHECK(MPI_Type_commit(&int_vec));
    MPI_CHECK(MPI_Type_free(&v));

    Case cases[] = {
        {"MPI_2INT", MPI_2INT, MPI_2INT, PAIRS, 1, MPI_MAXLOC},
        {"MPI_DOUBLE_INT", MPI_DOUBLE_INT, MPI_DOUBLE_INT, PAIRS, 1, MPI_MINLOC},
        {"MPI_LONG_INT", MPI_LONG_INT, MPI_LONG_INT, PAIRS, 1, MPI_MAXLOC},
        {"contiguous(3, MPI_2INT)", MPI_2INT, ii3, PAIRS / 3, 1, MPI_MAXLOC},
        {"contiguous(3, MPI_2INT)", MPI_2INT, ii3, PAIRS / 3, 1, MPI_MINLOC},
        {"vector of MPI_DOUBLE_INT", MPI_DOUBLE_INT, di_vec, PAIRS / 2, 2, MPI_MAXLOC},
        {"vector of MPI_DOUBLE_INT", MPI_DOUBLE_INT, di_vec, PAIRS / 2, 2, MPI_MINLOC},
        {"contiguous(2, MPI_SHORT_INT)", MPI_SHORT_INT, si2, PAIRS / 2, 1, MPI_MINLOC},
        {"vector of MPI_INT", MPI_INT, int_vec, PAIRS / 3, 2, MPI_SUM},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        /* MPICH 5.0.2 refuses predefined operations on these derived types (MPI_ERR_OP,
         * "operation not defined for this datatype"; for MPI_SUM on the resized vector of
         * MPI_INT too), which MPI-4.1 §6.9.2 allows: their elements are all of a type the
         * operation supports. The predefined pair types run everywhere. */
        if (tu_is_mpich() && cases[k].type != cases[k].pair)
            continue;
        run(&cases[k]);
    }

    MPI_CHECK(MPI_Type_free(&ii3));
    MPI_CHECK(MPI_Type_free(&di_vec));
    MPI_CHECK(MPI_Type_free(&si2));
    MPI_CHECK(MPI_Type_free(&int_vec));
    MPI_Finalize();
    return 0;
}
