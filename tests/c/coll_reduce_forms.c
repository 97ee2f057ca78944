/* ranks: 1 2 3 4 6 8 */
/* env: FERROMPI_COLL_BCAST=scatter_allgather FERROMPI_COLL_REDUCE=reduce_scatter_gather FERROMPI_COLL_ALLREDUCE=rabenseifner FERROMPI_COLL_ALLGATHER=bruck FERROMPI_COLL_ALLTOALL=bruck */
/* env: FERROMPI_COLL_ALLREDUCE=ring FERROMPI_COLL_ALLGATHER=recursive_doubling */
/* timeout: 90 */
/* Reduce/Allreduce forms: every root; MPI_IN_PLACE at the root of Reduce and on all ranks of
 * Allreduce; counts 0 (buffers untouched, NULL allowed), 1, 1000 and large (64 Ki ints,
 * 256 Ki doubles); recvbuf ignored (NULL) at Reduce's non-roots; MAXLOC in place; results
 * compared with references computed locally. */
#include "testutil.h"

#define LARGE (1 << 16)
#define LARGED (1 << 18)

static int rank, size;

static int ival(int r, int i) { return (r + 1) * 3 + (i % 1000) * (r % 2 ? -1 : 1); }

static void check_int_sum(const int *got, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        long ref = 0;
        for (int p = 0; p < size; p++)
            ref += ival(p, i);
        CHECK(got[i] == (int)ref, "%s: element %d is %d, expected %ld", what, i, got[i], ref);
    }
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    rank = tu_rank();
    size = tu_size();
    int *s = malloc(sizeof(int) * (LARGE + 1)), *r = malloc(sizeof(int) * (LARGE + 1));
    int counts[] = {1, 1000, LARGE};

    for (unsigned c = 0; c < 3; c++) {
        int n = counts[c];
        char what[96];
        for (int root = 0; root < size; root++) {
            /* plain Reduce; non-roots pass NULL as recvbuf */
            for (int i = 0; i < n; i++)
                s[i] = ival(rank, i);
            memset(r, 0x11, sizeof(int) * (n + 1));
            MPI_CHECK(MPI_Reduce(s, rank == root ? r : NULL, n, MPI_INT, MPI_SUM, root,
                                 MPI_COMM_WORLD));
            snprintf(what, sizeof what, "Reduce SUM count %d root %d", n, root);
            if (rank == root) {
                check_int_sum(r, n, what);
                CHECK(r[n] == 0x11111111, "%s wrote past the count", what);
            }
            for (int i = 0; i < n; i++)
                CHECK(s[i] == ival(rank, i), "%s changed the send buffer", what);

            /* in place at the root */
            for (int i = 0; i < n; i++)
                r[i] = ival(rank, i);
            if (rank == root)
                MPI_CHECK(MPI_Reduce(MPI_IN_PLACE, r, n, MPI_INT, MPI_SUM, root, MPI_COMM_WORLD));
            else
                MPI_CHECK(MPI_Reduce(r, NULL, n, MPI_INT, MPI_SUM, root, MPI_COMM_WORLD));
            snprintf(what, sizeof what, "Reduce IN_PLACE count %d root %d", n, root);
            if (rank == root)
                check_int_sum(r, n, what);
            if (n == LARGE && root > 1)
                break; /* large counts: roots 0 and 1 are enough */
        }
        /* Allreduce, then in place */
        for (int i = 0; i < n; i++)
            s[i] = ival(rank, i);
        memset(r, 0, sizeof(int) * n);
        MPI_CHECK(MPI_Allreduce(s, r, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
        snprintf(what, sizeof what, "Allreduce count %d", n);
        check_int_sum(r, n, what);
        for (int i = 0; i < n; i++)
            r[i] = ival(rank, i);
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, r, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
        snprintf(what, sizeof what, "Allreduce IN_PLACE count %d", n);
        check_int_sum(r, n, what);
    }

    /* count 0: nothing written, NULL buffers allowed */
    {
        int a = 7, b = 8;
        MPI_CHECK(MPI_Allreduce(&a, &b, 0, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
        CHECK(a == 7 && b == 8, "count 0 Allreduce wrote");
        MPI_CHECK(MPI_Reduce(&a, &b, 0, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD));
        CHECK(a == 7 && b == 8, "count 0 Reduce wrote");
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &b, 0, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
        CHECK(b == 8);
        MPI_CHECK(MPI_Allreduce(NULL, NULL, 0, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Reduce(NULL, NULL, 0, MPI_DOUBLE, MPI_SUM, size - 1, MPI_COMM_WORLD));
    }

    /* a large double MAX/MIN, in place */
    {
        double *d = malloc(sizeof(double) * LARGED);
        for (int i = 0; i < LARGED; i++)
            d[i] = (double)((i * 7 + rank * 13) % 101) - 50.0;
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, d, LARGED, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
        for (int i = 0; i < LARGED; i++) {
            double ref = -1e9;
            for (int p = 0; p < size; p++) {
                double v = (double)((i * 7 + p * 13) % 101) - 50.0;
                if (v > ref)
                    ref = v;
            }
            CHECK(d[i] == ref, "large MAX element %d: %g, expected %g", i, d[i], ref);
        }
        for (int i = 0; i < LARGED; i++)
            d[i] = (double)((i * 5 + rank * 17) % 97);
        int root = size / 2;
        if (rank == root)
            MPI_CHECK(
                MPI_Reduce(MPI_IN_PLACE, d, LARGED, MPI_DOUBLE, MPI_MIN, root, MPI_COMM_WORLD));
        else
            MPI_CHECK(MPI_Reduce(d, NULL, LARGED, MPI_DOUBLE, MPI_MIN, root, MPI_COMM_WORLD));
        if (rank == root)
            for (int i = 0; i < LARGED; i++) {
                double ref = 1e9;
                for (int p = 0; p < size; p++) {
                    double v = (double)((i * 5 + p * 17) % 97);
                    if (v < ref)
                        ref = v;
                }
                CHECK(d[i] == ref, "large MIN element %d", i);
            }
        free(d);
    }

    /* MAXLOC / MINLOC in place over many elements (ties: smallest index) */
    {
        enum { NP = 5000 };
        struct {
            int v, k;
        } *p = malloc(sizeof(*p) * NP);
        for (int m = 0; m < 2; m++) {
            for (int i = 0; i < NP; i++) {
                p[i].v = (i + rank * 3) % 5;
                p[i].k = rank;
            }
            MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, p, NP, MPI_2INT, m ? MPI_MINLOC : MPI_MAXLOC,
                                    MPI_COMM_WORLD));
            for (int i = 0; i < NP; i++) {
                int bv = (i + 0) % 5, bk = 0;
                for (int q = 1; q < size; q++) {
                    int v = (i + q * 3) % 5;
                    if (m ? v < bv : v > bv) {
                        bv = v;
                        bk = q;
                    }
                }
                CHECK(p[i].v == bv && p[i].k == bk, "%s element %d: (%d,%d), expected (%d,%d)",
                      m ? "MINLOC" : "MAXLOC", i, p[i].v, p[i].k, bv, bk);
            }
        }
        free(p);
    }

    free(s);
    free(r);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
