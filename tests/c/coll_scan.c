/* ranks: 1 2 3 4 */
/* timeout: 120 */
/* MPI_Reduce_scatter_block, MPI_Reduce_scatter, MPI_Scan and MPI_Exscan (MPI-4.1 §6.10-6.11)
 * on MPI_COMM_WORLD: each in its blocking, nonblocking and persistent form (the persistent
 * one started twice with new data), their _c forms, with and without MPI_IN_PLACE, for
 * MPI_SUM, MPI_MAX and MPI_PROD on MPI_INT and MPI_DOUBLE. Inputs are small integers, so every
 * result is exact and must equal a fold over the ranks' inputs in rank order computed here.
 * Exscan must leave rank 0's receive buffer untouched. Reduce_scatter's counts are uneven and
 * include a zero. Then the argument checks: negative counts, a null recvcounts array, an
 * invalid op and datatype, an intercommunicator-free but invalid communicator. */
#include "testutil.h"

static int rank, size, runs;

enum { OSUM, OMAX, OPROD, NOPS };
static const char *opname[NOPS] = {"SUM", "MAX", "PROD"};
static MPI_Op mpiop(int o)
{
    MPI_Op t[NOPS] = {MPI_SUM, MPI_MAX, MPI_PROD};
    return t[o];
}

enum { F_RSB, F_RS, F_SCAN, F_EXSCAN, NFNS };
static const char *fname[NFNS] = {"Reduce_scatter_block", "Reduce_scatter", "Scan", "Exscan"};
/* mode: 0 blocking, 1 nonblocking, 2 persistent; +3: the _c form. */
static const char *modename[6] = {"", "I", "_init", "_c", "I_c", "_init_c"};

#define SENTINEL (-77.0)

static double gen(int o, int r, int i, int salt)
{
    switch (o) {
    case OSUM:
        return (r * 5 + i * 3 + salt) % 17 - 8;
    case OMAX:
        return (r * 7 + i * 3 + salt) % 11 - 5;
    default:
        return (r + i + salt) % 2 + 1;
    }
}

static double combine(int o, double a, double b)
{
    switch (o) {
    case OSUM:
        return a + b;
    case OMAX:
        return a > b ? a : b;
    default:
        return a * b;
    }
}

/* Ranks lo..hi-1 folded in rank order at element i. */
static double fold(int o, int lo, int hi, int i, int salt)
{
    double acc = gen(o, lo, i, salt);
    for (int r = lo + 1; r < hi; r++)
        acc = combine(o, acc, gen(o, r, i, salt));
    return acc;
}

static void put(MPI_Datatype dt, void *b, int i, double v)
{
    if (dt == MPI_INT)
        ((int *)b)[i] = (int)v;
    else
        ((double *)b)[i] = v;
}

static double get(MPI_Datatype dt, const void *b, int i)
{
    return dt == MPI_INT ? (double)((const int *)b)[i] : ((const double *)b)[i];
}

/* Starts (or runs) function f in the given mode; returns the request of modes 1 and 2. */
static MPI_Request call(int f, int mode, const void *s, void *r, int blk, const int *cnts,
                        const MPI_Count *ccnts, MPI_Datatype dt, MPI_Op op)
{
    MPI_Request q = MPI_REQUEST_NULL;
    MPI_Comm c = MPI_COMM_WORLD;
    MPI_Info in = MPI_INFO_NULL;
    switch (f * 6 + mode) {
    case F_RSB * 6 + 0: MPI_CHECK(MPI_Reduce_scatter_block(s, r, blk, dt, op, c)); break;
    case F_RSB * 6 + 1: MPI_CHECK(MPI_Ireduce_scatter_block(s, r, blk, dt, op, c, &q)); break;
    case F_RSB * 6 + 2: MPI_CHECK(MPI_Reduce_scatter_block_init(s, r, blk, dt, op, c, in, &q)); break;
    case F_RSB * 6 + 3: MPI_CHECK(MPI_Reduce_scatter_block_c(s, r, blk, dt, op, c)); break;
    case F_RSB * 6 + 4: MPI_CHECK(MPI_Ireduce_scatter_block_c(s, r, blk, dt, op, c, &q)); break;
    case F_RSB * 6 + 5: MPI_CHECK(MPI_Reduce_scatter_block_init_c(s, r, blk, dt, op, c, in, &q)); break;
    case F_RS * 6 + 0: MPI_CHECK(MPI_Reduce_scatter(s, r, cnts, dt, op, c)); break;
    case F_RS * 6 + 1: MPI_CHECK(MPI_Ireduce_scatter(s, r, cnts, dt, op, c, &q)); break;
    case F_RS * 6 + 2: MPI_CHECK(MPI_Reduce_scatter_init(s, r, cnts, dt, op, c, in, &q)); break;
    case F_RS * 6 + 3: MPI_CHECK(MPI_Reduce_scatter_c(s, r, ccnts, dt, op, c)); break;
    case F_RS * 6 + 4: MPI_CHECK(MPI_Ireduce_scatter_c(s, r, ccnts, dt, op, c, &q)); break;
    case F_RS * 6 + 5: MPI_CHECK(MPI_Reduce_scatter_init_c(s, r, ccnts, dt, op, c, in, &q)); break;
    case F_SCAN * 6 + 0: MPI_CHECK(MPI_Scan(s, r, blk, dt, op, c)); break;
    case F_SCAN * 6 + 1: MPI_CHECK(MPI_Iscan(s, r, blk, dt, op, c, &q)); break;
    case F_SCAN * 6 + 2: MPI_CHECK(MPI_Scan_init(s, r, blk, dt, op, c, in, &q)); break;
    case F_SCAN * 6 + 3: MPI_CHECK(MPI_Scan_c(s, r, blk, dt, op, c)); break;
    case F_SCAN * 6 + 4: MPI_CHECK(MPI_Iscan_c(s, r, blk, dt, op, c, &q)); break;
    case F_SCAN * 6 + 5: MPI_CHECK(MPI_Scan_init_c(s, r, blk, dt, op, c, in, &q)); break;
    case F_EXSCAN * 6 + 0: MPI_CHECK(MPI_Exscan(s, r, blk, dt, op, c)); break;
    case F_EXSCAN * 6 + 1: MPI_CHECK(MPI_Iexscan(s, r, blk, dt, op, c, &q)); break;
    case F_EXSCAN * 6 + 2: MPI_CHECK(MPI_Exscan_init(s, r, blk, dt, op, c, in, &q)); break;
    case F_EXSCAN * 6 + 3: MPI_CHECK(MPI_Exscan_c(s, r, blk, dt, op, c)); break;
    case F_EXSCAN * 6 + 4: MPI_CHECK(MPI_Iexscan_c(s, r, blk, dt, op, c, &q)); break;
    case F_EXSCAN * 6 + 5: MPI_CHECK(MPI_Exscan_init_c(s, r, blk, dt, op, c, in, &q)); break;
    }
    return q;
}

#define BLK 3
#define MAXN 64

/* Uneven counts with a zero: 1, 0, 3, 4. */
static int rs_count(int r)
{
    return r % 3 == 1 ? 0 : r + 1;
}

static void one(int f, int mode, int inplace, MPI_Datatype dt, const char *tname, int o)
{
    double sendbuf[MAXN], recvbuf[MAXN];
    int cnts[16];
    MPI_Count ccnts[16];
    int total = 0, off = 0;
    for (int r = 0; r < size; r++) {
        cnts[r] = f == F_RS ? rs_count(r) : BLK;
        ccnts[r] = cnts[r];
        if (r < rank)
            off += cnts[r];
        total += cnts[r];
    }
    int scan = f == F_SCAN || f == F_EXSCAN;
    int n = scan ? BLK : total;     /* elements of the contribution */
    int mine = scan ? BLK : cnts[rank];
    MPI_Request q = MPI_REQUEST_NULL;
    int persistent = mode % 3 == 2;
    for (int iter = 0; iter < (persistent ? 2 : 1); iter++) {
        int salt = iter * 3 + mode;
        void *s = inplace ? MPI_IN_PLACE : (void *)sendbuf;
        for (int i = 0; i < MAXN; i++) {
            put(dt, sendbuf, i, SENTINEL);
            put(dt, recvbuf, i, SENTINEL);
        }
        for (int i = 0; i < n; i++)
            put(dt, inplace ? recvbuf : sendbuf, i, gen(o, rank, i, salt));
        if (persistent) {
            if (iter == 0)
                q = call(f, mode, s, recvbuf, BLK, cnts, ccnts, dt, mpiop(o));
            MPI_CHECK(MPI_Start(&q));
            MPI_CHECK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            q = call(f, mode, s, recvbuf, BLK, cnts, ccnts, dt, mpiop(o));
            if (mode % 3 == 1)
                MPI_CHECK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        }
        for (int i = 0; i < mine; i++) {
            double want;
            if (f == F_SCAN)
                want = fold(o, 0, rank + 1, i, salt);
            else if (f == F_EXSCAN)
                want = rank == 0 ? (inplace ? gen(o, 0, i, salt) : SENTINEL) : fold(o, 0, rank, i, salt);
            else
                want = fold(o, 0, size, off + i, salt);
            double got = get(dt, recvbuf, i);
            CHECK(got == want, "MPI_%s (form %s)%s %s on %s, pass %d: element %d is %g, want %g",
                  fname[f], modename[mode], inplace ? " in place" : "", opname[o], tname, iter, i,
                  got, want);
        }
        if (!inplace)
            for (int i = mine; i < MAXN; i++)
                CHECK(get(dt, recvbuf, i) == SENTINEL, "MPI_%s (form %s) %s on %s wrote element %d past its result",
                      fname[f], modename[mode], opname[o], tname, i);
        runs++;
    }
    if (persistent)
        MPI_CHECK(MPI_Request_free(&q));
}

static void errors(void)
{
    int buf[4] = {0}, out[4];
    int cnts[16];
    for (int r = 0; r < size; r++)
        cnts[r] = -1;
    tu_errors_return();
    CHECK_ERR_CLASS(MPI_Exscan(buf, out, 1, MPI_INT, MPI_OP_NULL, MPI_COMM_WORLD), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Scan(buf, out, 1, MPI_INT, MPI_SUM, MPI_COMM_NULL), MPI_ERR_COMM);
    if (!tu_is_mpich()) {
        /* MPICH does not check these (negative counts pass; with MPI_Scan, a negative count or a null
         * datatype trips an assertion in its yaksa). */
        CHECK_ERR_CLASS(MPI_Reduce_scatter_block(buf, out, -1, MPI_INT, MPI_SUM, MPI_COMM_WORLD), MPI_ERR_COUNT);
        CHECK_ERR_CLASS(MPI_Reduce_scatter(buf, out, cnts, MPI_INT, MPI_SUM, MPI_COMM_WORLD), MPI_ERR_COUNT);
        CHECK_ERR_CLASS(MPI_Scan(buf, out, -1, MPI_INT, MPI_SUM, MPI_COMM_WORLD), MPI_ERR_COUNT);
        CHECK_ERR_CLASS(MPI_Scan(buf, out, 1, MPI_DATATYPE_NULL, MPI_SUM, MPI_COMM_WORLD), MPI_ERR_TYPE);
        CHECK_ERR_CLASS(MPI_Reduce_scatter(buf, out, NULL, MPI_INT, MPI_SUM, MPI_COMM_WORLD), MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Iscan(buf, out, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, NULL), MPI_ERR_ARG);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    MPI_Datatype dts[2] = {MPI_INT, MPI_DOUBLE};
    const char *tnames[2] = {"MPI_INT", "MPI_DOUBLE"};
    for (int f = 0; f < NFNS; f++)
        for (int mode = 0; mode < 6; mode++)
            for (int inplace = 0; inplace < 2; inplace++)
                for (int t = 0; t < 2; t++)
                    for (int o = 0; o < NOPS; o++)
                        one(f, mode, inplace, dts[t], tnames[t], o);
    CHECK(runs == NFNS * 2 * 2 * NOPS * 8, "only %d runs", runs);
    errors();
    MPI_CHECK(MPI_Finalize());
    return 0;
}
