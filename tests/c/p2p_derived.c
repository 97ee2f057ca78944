/* ranks: 2 3 4 */
/* env: FERROMPI_SHM_SINGLE_COPY=0 */
/* timeout: 120 */
/* Derived datatypes in point-to-point: every rank sends to the next and receives from the
 * previous one (a ring), with the sender's and the receiver's layouts differing but their type
 * signatures matching. Each received byte is compared with a reference computed independently
 * (element i of the stream sits at an offset the test works out by hand); bytes the receive
 * type does not cover must stay untouched. Covered: a strided vector into a contiguous array
 * and back, eager and rendezvous sizes (a 24 MiB vector: the large path without any packed
 * copy of the whole message), a struct with padding, an indexed type with a negative
 * displacement, absolute addresses through MPI_BOTTOM, a resized type, predefined pair types
 * against their derived form, Sendrecv, Isend/Irecv, Get_count / Get_elements on derived
 * types, truncation, and an uncommitted type refused with MPI_ERR_TYPE. */
#include "testutil.h"
#include <stddef.h>

static int rank, size, next, prev;

static int val(int i, int who)
{
    return (int)((unsigned)(i + 1) * 2654435761u ^ (unsigned)(who + 1) * 40503u);
}

/* Vector of `n` ints with stride 3 (1 int used of every 3) into a contiguous array and back. */
static void strided(int n, int tag)
{
    MPI_Datatype vec;
    MPI_CHECK(MPI_Type_vector(n, 1, 3, MPI_INT, &vec));
    MPI_CHECK(MPI_Type_commit(&vec));
    int *sparse = malloc(sizeof(int) * 3 * (size_t)n);
    int *dense = malloc(sizeof(int) * (size_t)n);
    CHECK(sparse && dense, "malloc");
    for (int i = 0; i < 3 * n; i++)
        sparse[i] = (i % 3 == 0) ? val(i / 3, rank) : -7;
    MPI_Status st;
    /* vector -> contiguous */
    MPI_CHECK(MPI_Sendrecv(sparse, 1, vec, next, tag, dense, n, MPI_INT, prev, tag, MPI_COMM_WORLD, &st));
    CHECK_STATUS(st, prev, tag, MPI_INT, n);
    for (int i = 0; i < n; i++)
        CHECK(dense[i] == val(i, prev), "n %d: dense[%d] = %d, want %d", n, i, dense[i], val(i, prev));
    /* contiguous -> vector: the ints between the used ones stay -1 */
    for (int i = 0; i < n; i++)
        dense[i] = val(i, rank) ^ 0x5555;
    for (int i = 0; i < 3 * n; i++)
        sparse[i] = -1;
    MPI_CHECK(MPI_Sendrecv(dense, n, MPI_INT, next, tag + 1, sparse, 1, vec, prev, tag + 1, MPI_COMM_WORLD, &st));
    int count = -1;
    MPI_CHECK(MPI_Get_count(&st, vec, &count));
    CHECK(count == 1, "n %d: Get_count(vec) = %d", n, count);
    MPI_CHECK(MPI_Get_elements(&st, vec, &count));
    CHECK(count == n, "n %d: Get_elements(vec) = %d", n, count);
    for (int i = 0; i < 3 * n; i++) {
        int want = (i % 3 == 0) ? (val(i / 3, prev) ^ 0x5555) : -1;
        CHECK(sparse[i] == want, "n %d: sparse[%d] = %d, want %d", n, i, sparse[i], want);
    }
    MPI_CHECK(MPI_Type_free(&vec));
    free(sparse);
    free(dense);
}

struct rec {
    char c;     /* offset 0, then 7 bytes of padding */
    double d;   /* 8 */
    short s[3]; /* 16, then 2 bytes of padding */
    int i;      /* 24 */
};              /* 32 bytes, 8 of them padding */

/* A struct type with padding, sent as an array of structs and received as the same struct
 * type, and as its signature spelled out as a packed buffer of primitives. */
static void structs(void)
{
    enum { N = 100 };
    int bl[4] = {1, 1, 3, 1};
    MPI_Aint disp[4] = {offsetof(struct rec, c), offsetof(struct rec, d), offsetof(struct rec, s),
                        offsetof(struct rec, i)};
    MPI_Datatype types[4] = {MPI_CHAR, MPI_DOUBLE, MPI_SHORT, MPI_INT};
    MPI_Datatype t0, trec;
    MPI_CHECK(MPI_Type_create_struct(4, bl, disp, types, &t0));
    MPI_CHECK(MPI_Type_create_resized(t0, 0, sizeof(struct rec), &trec));
    MPI_CHECK(MPI_Type_commit(&trec));
    struct rec *out = calloc(N, sizeof *out), *in = malloc(N * sizeof *in);
    CHECK(out && in, "malloc");
    for (int k = 0; k < N; k++) {
        out[k].c = (char)('a' + (k + rank) % 26);
        out[k].d = k * 0.5 + rank;
        for (int j = 0; j < 3; j++)
            out[k].s[j] = (short)(k * 3 + j + rank);
        out[k].i = val(k, rank);
    }
    memset(in, 0xAB, N * sizeof *in);
    MPI_Status st;
    MPI_CHECK(MPI_Sendrecv(out, N, trec, next, 20, in, N, trec, prev, 20, MPI_COMM_WORLD, &st));
    CHECK_STATUS(st, prev, 20, trec, N);
    for (int k = 0; k < N; k++) {
        CHECK(in[k].c == (char)('a' + (k + prev) % 26) && in[k].d == k * 0.5 + prev && in[k].i == val(k, prev),
              "struct %d: %c %g %d", k, in[k].c, in[k].d, in[k].i);
        for (int j = 0; j < 3; j++)
            CHECK(in[k].s[j] == (short)(k * 3 + j + prev), "struct %d short %d", k, j);
        const unsigned char *p = (const unsigned char *)&in[k];
        for (int b = 1; b < 8; b++)
            CHECK(p[b] == 0xAB, "struct %d: padding byte %d written", k, b);
        CHECK(p[22] == 0xAB && p[23] == 0xAB, "struct %d: padding after s written", k);
    }
    MPI_CHECK(MPI_Type_free(&t0));
    MPI_CHECK(MPI_Type_free(&trec));
    free(out);
    free(in);
}

/* Indexed with a negative displacement, received through MPI_BOTTOM with absolute addresses,
 * and a large vector (rendezvous) with Isend/Irecv. */
static void indexed_bottom_large(void)
{
    int base[16];
    for (int i = 0; i < 16; i++)
        base[i] = val(i, rank);
    /* blocks [8..9], [2..4], [-? relative to base+8]: displacements relative to &base[8] */
    int bl[3] = {2, 3, 1};
    int disp[3] = {0, -6, 7}; /* base[8],base[9], base[2..4], base[15] */
    MPI_Datatype idx;
    MPI_CHECK(MPI_Type_indexed(3, bl, disp, MPI_INT, &idx));
    MPI_CHECK(MPI_Type_commit(&idx));
    int got[16];
    for (int i = 0; i < 16; i++)
        got[i] = -3;
    MPI_Aint addr[2];
    MPI_CHECK(MPI_Get_address(&got[1], &addr[0]));
    MPI_CHECK(MPI_Get_address(&got[10], &addr[1]));
    int hbl[2] = {3, 3};
    MPI_Datatype abs;
    MPI_CHECK(MPI_Type_create_hindexed(2, hbl, addr, MPI_INT, &abs));
    MPI_CHECK(MPI_Type_commit(&abs));
    MPI_Status st;
    MPI_CHECK(MPI_Sendrecv(&base[8], 1, idx, next, 30, MPI_BOTTOM, 1, abs, prev, 30, MPI_COMM_WORLD, &st));
    int sent_order[6] = {8, 9, 2, 3, 4, 15};
    int recv_at[6] = {1, 2, 3, 10, 11, 12};
    for (int k = 0; k < 6; k++)
        CHECK(got[recv_at[k]] == val(sent_order[k], prev), "indexed/bottom element %d", k);
    for (int i = 0; i < 16; i++) {
        int used = 0;
        for (int k = 0; k < 6; k++)
            used |= recv_at[k] == i;
        if (!used)
            CHECK(got[i] == -3, "got[%d] written", i);
    }
    MPI_CHECK(MPI_Type_free(&idx));
    MPI_CHECK(MPI_Type_free(&abs));

    /* 24 MiB of ints spread as a vector of 2-int blocks with stride 3: 16 MiB of payload. */
    int nblk = 2 * 1024 * 1024;
    MPI_Datatype big;
    MPI_CHECK(MPI_Type_vector(nblk, 2, 3, MPI_INT, &big));
    MPI_CHECK(MPI_Type_commit(&big));
    int *s = malloc(sizeof(int) * 3 * (size_t)nblk), *r = malloc(sizeof(int) * 3 * (size_t)nblk);
    CHECK(s && r, "malloc");
    for (size_t i = 0; i < 3 * (size_t)nblk; i++) {
        s[i] = val((int)i, rank);
        r[i] = -9;
    }
    MPI_Request rq[2];
    MPI_CHECK(MPI_Irecv(r, 1, big, prev, 31, MPI_COMM_WORLD, &rq[0]));
    MPI_CHECK(MPI_Isend(s, 1, big, next, 31, MPI_COMM_WORLD, &rq[1]));
    MPI_CHECK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    for (size_t i = 0; i < 3 * (size_t)nblk; i++) {
        int want = (i % 3 == 2) ? -9 : val((int)i, prev);
        if (r[i] != want)
            CHECK(0, "large vector: r[%zu] = %d, want %d", i, r[i], want);
    }
    MPI_CHECK(MPI_Type_free(&big));
    free(s);
    free(r);
}

/* A predefined pair type against its derived spelling (same signature), and truncation. */
static void pairs_and_truncation(void)
{
    enum { N = 10 };
    struct { double v; int i; } out[N], in[N];
    memset(in, 0, sizeof in);
    for (int k = 0; k < N; k++) {
        out[k].v = k + 0.25 * rank;
        out[k].i = val(k, rank);
    }
    int bl[2] = {1, 1};
    MPI_Aint disp[2] = {0, sizeof(double)};
    MPI_Datatype types[2] = {MPI_DOUBLE, MPI_INT}, t0, mine;
    MPI_CHECK(MPI_Type_create_struct(2, bl, disp, types, &t0));
    MPI_CHECK(MPI_Type_create_resized(t0, 0, sizeof out[0], &mine));
    MPI_CHECK(MPI_Type_commit(&mine));
    MPI_Status st;
    MPI_CHECK(MPI_Sendrecv(out, N, MPI_DOUBLE_INT, next, 40, in, N, mine, prev, 40, MPI_COMM_WORLD, &st));
    int count = -1;
    MPI_CHECK(MPI_Get_count(&st, MPI_DOUBLE_INT, &count));
    CHECK(count == N, "Get_count(MPI_DOUBLE_INT) = %d", count);
    MPI_CHECK(MPI_Get_elements(&st, mine, &count));
    CHECK(count == 2 * N, "Get_elements(pair) = %d", count);
    for (int k = 0; k < N; k++)
        CHECK(in[k].v == k + 0.25 * prev && in[k].i == val(k, prev), "pair %d", k);
    MPI_CHECK(MPI_Type_free(&t0));
    MPI_CHECK(MPI_Type_free(&mine));

    /* Truncation: 5 elements of a 2-int vector into room for 3. */
    MPI_Datatype v2;
    MPI_CHECK(MPI_Type_vector(2, 1, 2, MPI_INT, &v2));
    MPI_CHECK(MPI_Type_commit(&v2));
    int src[20], dst[12];
    for (int i = 0; i < 20; i++)
        src[i] = val(i, rank);
    for (int i = 0; i < 12; i++)
        dst[i] = -5;
    MPI_Request rq;
    MPI_CHECK(MPI_Irecv(dst, 3, v2, prev, 41, MPI_COMM_WORLD, &rq));
    MPI_CHECK(MPI_Send(src, 5, v2, next, 41, MPI_COMM_WORLD));
    int rc = MPI_Wait(&rq, &st);
    CHECK(tu_class_of(rc) == MPI_ERR_TRUNCATE, "truncation: rc %d class %d", rc, tu_class_of(rc));
    /* v2 elements have extent 3 ints; 3 of them cover ints 0,2, 3,5, 6,8. */
    int covered[6] = {0, 2, 3, 5, 6, 8};
    int sent[6] = {0, 2, 3, 5, 6, 8};
    for (int k = 0; k < 6; k++)
        CHECK(dst[covered[k]] == val(sent[k], prev), "truncated element %d", k);
    CHECK(dst[1] == -5 && dst[4] == -5 && dst[7] == -5 && dst[9] == -5, "gaps written");
    MPI_CHECK(MPI_Type_free(&v2));
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    rank = tu_rank();
    size = tu_size();
    next = (rank + 1) % size;
    prev = (rank + size - 1) % size;
    tu_errors_return();

    strided(5, 1);
    strided(40000, 3); /* 160 KB: rendezvous */
    structs();
    indexed_bottom_large();
    pairs_and_truncation();

    /* An uncommitted type cannot be used for communication. */
    MPI_Datatype raw;
    MPI_CHECK(MPI_Type_contiguous(2, MPI_INT, &raw));
    int x[2] = {0, 0};
    CHECK_ERR_CLASS(MPI_Send(x, 1, raw, next, 50, MPI_COMM_WORLD), MPI_ERR_TYPE);
    MPI_CHECK(MPI_Type_free(&raw));

    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        printf("p2p_derived: ok\n");
    MPI_Finalize();
    return 0;
}
