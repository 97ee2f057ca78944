/* ranks: 2 3 4 */
/* timeout: 120 */
/* The gather-like collectives and the reduce-scatters on an intercommunicator between the even
 * and the odd world ranks, each in its blocking, nonblocking and persistent form:
 * - Gather, Gatherv, Scatter, Scatterv from every root of either group (MPI_ROOT at the root,
 *   MPI_PROC_NULL at the rest of its group, whose buffers must stay untouched; the other group
 *   names the root's remote rank);
 * - Allgather, Allgatherv, Alltoall, Alltoallv, Alltoallw: each process exchanges with every
 *   process of the other group (a buffer has one block per remote rank);
 * - Reduce_scatter_block and Reduce_scatter (uneven counts, a zero with some sizes): each group
 *   gets the other group's reduction cut by its own counts, for MPI_SUM and a non-commutative
 *   user operation (2x2 matrix product: the other group's matrices in its rank order), and
 *   Reduce and Allreduce with that operation;
 * v forms use counts that differ per block and displacements with gaps, which must stay
 * untouched. Every value is computed here from world ranks. Then MPI_Scan on an
 * intercommunicator fails with MPI_ERR_COMM. */
#include "testutil.h"

#define N 3
#define SENT (-999)
#define MAXP 4 /* processes per group at most */

static int grp[2][64], gn[2];
static int rank, color, other, lrank, ln, rn;
static MPI_Comm inter;
static MPI_Datatype mat_t;
static MPI_Op op_mat;

/* Runs `B` (blocking), `I` (nonblocking, into rq) or `P` (persistent, into rq) as `form` says. */
#define RUN3(form, B, I, P)                                                                        \
    do {                                                                                           \
        MPI_Request rq;                                                                            \
        if ((form) == 0) {                                                                         \
            MPI_CHECK(B);                                                                          \
        } else if ((form) == 1) {                                                                  \
            MPI_CHECK(I);                                                                          \
            MPI_CHECK(MPI_Wait(&rq, MPI_STATUS_IGNORE));                                           \
        } else {                                                                                   \
            MPI_CHECK(P);                                                                          \
            MPI_CHECK(MPI_Start(&rq));                                                             \
            MPI_CHECK(MPI_Wait(&rq, MPI_STATUS_IGNORE));                                           \
            MPI_CHECK(MPI_Request_free(&rq));                                                      \
        }                                                                                          \
    } while (0)

static const char *formname[3] = {"", "I", "_init"};

static void mat_fn(void *inv, void *iov, int *len, MPI_Datatype *dt)
{
    const int *in = inv;
    int *io = iov;
    (void)dt;
    for (int k = 0; k < *len; k++) {
        const int *a = in + 4 * k;
        int *b = io + 4 * k;
        int c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                    a[2] * b[1] + a[3] * b[3]};
        memcpy(b, c, sizeof c);
    }
}

/* Matrix e of world rank w. */
static void mat_of(int w, int e, int m[4])
{
    m[0] = w + 1;
    m[1] = e % 3 + 1;
    m[2] = (w + e) % 2;
    m[3] = 1;
}

/* The product of matrix e over group g in its rank order. */
static void mat_prod(int g, int e, int acc[4])
{
    mat_of(grp[g][0], e, acc);
    for (int k = 1; k < gn[g]; k++) {
        int b[4], one = 1;
        mat_of(grp[g][k], e, b);
        mat_fn(acc, b, &one, &mat_t);
        memcpy(acc, b, sizeof b);
    }
}

static int rootarg(int g, int root) { return g == color ? (lrank == root ? MPI_ROOT : MPI_PROC_NULL) : root; }

/* Block counts and displacements of the v forms: block k of `count_of(k)` elements at k*(N+1). */
static int vcount(int k) { return k % 2 + 1; }

static void rooted(int form)
{
    for (int g = 0; g < 2; g++) {
        for (int root = 0; root < gn[g]; root++) {
            int arg = rootarg(g, root), rw = grp[g][root];
            int send[MAXP * (N + 1)], recv[MAXP * (N + 1)], counts[MAXP], displs[MAXP];
            for (int k = 0; k < MAXP; k++) {
                counts[k] = vcount(k);
                displs[k] = k * (N + 1);
            }

            /* Gather: the root gets remote rank k's block in block k. */
            for (int i = 0; i < MAXP * (N + 1); i++) {
                send[i] = 1000 * rank + i;
                recv[i] = SENT;
            }
            RUN3(form, MPI_Gather(send, N, MPI_INT, recv, N, MPI_INT, arg, inter),
                 MPI_Igather(send, N, MPI_INT, recv, N, MPI_INT, arg, inter, &rq),
                 MPI_Gather_init(send, N, MPI_INT, recv, N, MPI_INT, arg, inter, MPI_INFO_NULL, &rq));
            for (int k = 0; k < rn; k++)
                for (int i = 0; i < N; i++) {
                    int want = arg == MPI_ROOT ? 1000 * grp[other][k] + i : SENT;
                    CHECK(recv[k * N + i] == want, "MPI_%sgather group %d root %d: block %d [%d] = %d, want %d",
                          formname[form], g, root, k, i, recv[k * N + i], want);
                }

            /* Gatherv: remote rank k sends vcount(k) elements into block k at k*(N+1). */
            for (int i = 0; i < MAXP * (N + 1); i++)
                recv[i] = SENT;
            RUN3(form, MPI_Gatherv(send, vcount(lrank), MPI_INT, recv, counts, displs, MPI_INT, arg, inter),
                 MPI_Igatherv(send, vcount(lrank), MPI_INT, recv, counts, displs, MPI_INT, arg, inter, &rq),
                 MPI_Gatherv_init(send, vcount(lrank), MPI_INT, recv, counts, displs, MPI_INT, arg, inter, MPI_INFO_NULL, &rq));
            for (int k = 0; k < rn; k++)
                for (int i = 0; i <= N; i++) {
                    int want = arg == MPI_ROOT && i < vcount(k) ? 1000 * grp[other][k] + i : SENT;
                    CHECK(recv[k * (N + 1) + i] == want, "MPI_%sgatherv group %d root %d: block %d [%d] = %d, want %d",
                          formname[form], g, root, k, i, recv[k * (N + 1) + i], want);
                }

            /* Scatter: the root sends block k to remote rank k. */
            for (int i = 0; i < MAXP * (N + 1); i++) {
                send[i] = 1000 * rank + i;
                recv[i] = SENT;
            }
            RUN3(form, MPI_Scatter(send, N, MPI_INT, recv, N, MPI_INT, arg, inter),
                 MPI_Iscatter(send, N, MPI_INT, recv, N, MPI_INT, arg, inter, &rq),
                 MPI_Scatter_init(send, N, MPI_INT, recv, N, MPI_INT, arg, inter, MPI_INFO_NULL, &rq));
            for (int i = 0; i < N; i++) {
                int want = g != color ? 1000 * rw + lrank * N + i : SENT;
                CHECK(recv[i] == want, "MPI_%sscatter group %d root %d: [%d] = %d, want %d", formname[form], g, root, i,
                      recv[i], want);
            }

            /* Scatterv: vcount(k) elements from k*(N+1) to remote rank k. */
            for (int i = 0; i < MAXP * (N + 1); i++)
                recv[i] = SENT;
            RUN3(form, MPI_Scatterv(send, counts, displs, MPI_INT, recv, vcount(lrank), MPI_INT, arg, inter),
                 MPI_Iscatterv(send, counts, displs, MPI_INT, recv, vcount(lrank), MPI_INT, arg, inter, &rq),
                 MPI_Scatterv_init(send, counts, displs, MPI_INT, recv, vcount(lrank), MPI_INT, arg, inter, MPI_INFO_NULL, &rq));
            for (int i = 0; i <= N; i++) {
                int want = g != color && i < vcount(lrank) ? 1000 * rw + lrank * (N + 1) + i : SENT;
                CHECK(recv[i] == want, "MPI_%sscatterv group %d root %d: [%d] = %d, want %d", formname[form], g, root, i,
                      recv[i], want);
            }
        }
    }
}

static void all_to(int form)
{
    int send[MAXP * (N + 1)], recv[MAXP * (N + 1)], counts[MAXP], displs[MAXP], bdispls[MAXP];
    int scounts[MAXP], rcounts[MAXP];
    MPI_Datatype types[MAXP];
    for (int k = 0; k < MAXP; k++) {
        counts[k] = vcount(k);
        displs[k] = k * (N + 1);
        bdispls[k] = displs[k] * (int)sizeof(int);
        types[k] = MPI_INT;
        /* Alltoallv: (sender's rank + receiver's rank) % 2 + 1 elements, the same both ways. */
        scounts[k] = rcounts[k] = (lrank + k) % 2 + 1;
    }

    /* Allgather: block k from remote rank k. */
    for (int i = 0; i < MAXP * (N + 1); i++) {
        send[i] = 1000 * rank + i;
        recv[i] = SENT;
    }
    RUN3(form, MPI_Allgather(send, N, MPI_INT, recv, N, MPI_INT, inter),
         MPI_Iallgather(send, N, MPI_INT, recv, N, MPI_INT, inter, &rq),
         MPI_Allgather_init(send, N, MPI_INT, recv, N, MPI_INT, inter, MPI_INFO_NULL, &rq));
    for (int k = 0; k < rn; k++)
        for (int i = 0; i < N; i++)
            CHECK(recv[k * N + i] == 1000 * grp[other][k] + i, "MPI_%sallgather: block %d [%d] = %d", formname[form], k, i,
                  recv[k * N + i]);
    CHECK(recv[rn * N] == SENT, "MPI_%sallgather wrote past the remote group's blocks", formname[form]);

    /* Allgatherv. */
    for (int i = 0; i < MAXP * (N + 1); i++)
        recv[i] = SENT;
    RUN3(form, MPI_Allgatherv(send, vcount(lrank), MPI_INT, recv, counts, displs, MPI_INT, inter),
         MPI_Iallgatherv(send, vcount(lrank), MPI_INT, recv, counts, displs, MPI_INT, inter, &rq),
         MPI_Allgatherv_init(send, vcount(lrank), MPI_INT, recv, counts, displs, MPI_INT, inter, MPI_INFO_NULL, &rq));
    for (int k = 0; k < rn; k++)
        for (int i = 0; i <= N; i++) {
            int want = i < vcount(k) ? 1000 * grp[other][k] + i : SENT;
            CHECK(recv[k * (N + 1) + i] == want, "MPI_%sallgatherv: block %d [%d] = %d, want %d", formname[form], k, i,
                  recv[k * (N + 1) + i], want);
        }

    /* Alltoall: block k of the sender goes to remote rank k. */
    for (int i = 0; i < MAXP * (N + 1); i++) {
        send[i] = 1000 * rank + i;
        recv[i] = SENT;
    }
    RUN3(form, MPI_Alltoall(send, N, MPI_INT, recv, N, MPI_INT, inter),
         MPI_Ialltoall(send, N, MPI_INT, recv, N, MPI_INT, inter, &rq),
         MPI_Alltoall_init(send, N, MPI_INT, recv, N, MPI_INT, inter, MPI_INFO_NULL, &rq));
    for (int k = 0; k < rn; k++)
        for (int i = 0; i < N; i++) {
            int want = 1000 * grp[other][k] + lrank * N + i;
            CHECK(recv[k * N + i] == want, "MPI_%salltoall: block %d [%d] = %d, want %d", formname[form], k, i,
                  recv[k * N + i], want);
        }

    /* Alltoallv and Alltoallw: block k at k*(N+1), (lrank + k) % 2 + 1 elements. */
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < MAXP * (N + 1); i++)
            recv[i] = SENT;
        if (w == 0)
            RUN3(form, MPI_Alltoallv(send, scounts, displs, MPI_INT, recv, rcounts, displs, MPI_INT, inter),
                 MPI_Ialltoallv(send, scounts, displs, MPI_INT, recv, rcounts, displs, MPI_INT, inter, &rq),
                 MPI_Alltoallv_init(send, scounts, displs, MPI_INT, recv, rcounts, displs, MPI_INT, inter, MPI_INFO_NULL, &rq));
        else
            RUN3(form, MPI_Alltoallw(send, scounts, bdispls, types, recv, rcounts, bdispls, types, inter),
                 MPI_Ialltoallw(send, scounts, bdispls, types, recv, rcounts, bdispls, types, inter, &rq),
                 MPI_Alltoallw_init(send, scounts, bdispls, types, recv, rcounts, bdispls, types, inter, MPI_INFO_NULL, &rq));
        for (int k = 0; k < rn; k++)
            for (int i = 0; i <= N; i++) {
                int want = i < rcounts[k] ? 1000 * grp[other][k] + lrank * (N + 1) + i : SENT;
                CHECK(recv[k * (N + 1) + i] == want, "MPI_%salltoall%c: block %d [%d] = %d, want %d", formname[form],
                      w ? 'w' : 'v', k, i, recv[k * (N + 1) + i], want);
            }
    }
}

/* Reduce_scatter(_block), Reduce and Allreduce: SUM on MPI_INT (mat == 0) or the matrix
 * product on mat_t (mat == 1), whose elements are 4 ints. */
static void reductions(int form, int mat)
{
    enum { MAXE = MAXP * MAXP + 1 };
    int send[MAXE * 4], recv[MAXE * 4], counts[MAXP];
    int k4 = mat ? 4 : 1;
    MPI_Datatype t = mat ? mat_t : MPI_INT;
    MPI_Op op = mat ? op_mat : MPI_SUM;
    for (int e = 0; e < MAXE; e++) {
        if (mat)
            mat_of(rank, e, send + 4 * e);
        else
            send[e] = rank * 100 + e;
    }
    /* Element e of the other group's reduction. */
#define WANT(e, j, out)                                                                            \
    do {                                                                                           \
        if (mat) {                                                                                 \
            int m_[4];                                                                             \
            mat_prod(other, (e), m_);                                                              \
            (out) = m_[j];                                                                         \
        } else {                                                                                   \
            (out) = 0;                                                                             \
            for (int q_ = 0; q_ < rn; q_++)                                                        \
                (out) += grp[other][q_] * 100 + (e);                                               \
        }                                                                                          \
    } while (0)

    /* Reduce_scatter_block: rn elements per process of this group, ln * rn in all (the same
     * in both groups). */
    for (int i = 0; i < MAXE * 4; i++)
        recv[i] = SENT;
    RUN3(form, MPI_Reduce_scatter_block(send, recv, rn, t, op, inter),
         MPI_Ireduce_scatter_block(send, recv, rn, t, op, inter, &rq),
         MPI_Reduce_scatter_block_init(send, recv, rn, t, op, inter, MPI_INFO_NULL, &rq));
    for (int e = 0; e < rn; e++)
        for (int j = 0; j < k4; j++) {
            int want;
            WANT(lrank * rn + e, j, want);
            CHECK(recv[e * k4 + j] == want, "MPI_%sReduce_scatter_block (%s): element %d [%d] = %d, want %d",
                  formname[form], mat ? "matrix" : "sum", e, j, recv[e * k4 + j], want);
        }

    /* Reduce_scatter: uneven counts summing to ln * rn. */
    for (int k = 0; k < ln; k++)
        counts[k] = rn;
    if (ln > 1) {
        counts[0]++;
        counts[ln - 1]--;
    }
    int first = 0;
    for (int k = 0; k < lrank; k++)
        first += counts[k];
    for (int i = 0; i < MAXE * 4; i++)
        recv[i] = SENT;
    RUN3(form, MPI_Reduce_scatter(send, recv, counts, t, op, inter),
         MPI_Ireduce_scatter(send, recv, counts, t, op, inter, &rq),
         MPI_Reduce_scatter_init(send, recv, counts, t, op, inter, MPI_INFO_NULL, &rq));
    for (int e = 0; e < counts[lrank]; e++)
        for (int j = 0; j < k4; j++) {
            int want;
            WANT(first + e, j, want);
            CHECK(recv[e * k4 + j] == want, "MPI_%sReduce_scatter (%s): element %d [%d] = %d, want %d", formname[form],
                  mat ? "matrix" : "sum", e, j, recv[e * k4 + j], want);
        }
    CHECK(recv[counts[lrank] * k4] == SENT, "MPI_%sReduce_scatter wrote past this rank's block", formname[form]);

    if (!mat)
        return;
    /* Allreduce and Reduce (every root) of N matrices. */
    for (int i = 0; i < MAXE * 4; i++)
        recv[i] = SENT;
    RUN3(form, MPI_Allreduce(send, recv, N, t, op, inter), MPI_Iallreduce(send, recv, N, t, op, inter, &rq),
         MPI_Allreduce_init(send, recv, N, t, op, inter, MPI_INFO_NULL, &rq));
    for (int e = 0; e < N; e++)
        for (int j = 0; j < 4; j++) {
            int want;
            WANT(e, j, want);
            CHECK(recv[e * 4 + j] == want, "MPI_%sAllreduce (matrix): element %d [%d] = %d, want %d", formname[form], e,
                  j, recv[e * 4 + j], want);
        }
    for (int g = 0; g < 2; g++)
        for (int root = 0; root < gn[g]; root++) {
            int arg = rootarg(g, root);
            for (int i = 0; i < MAXE * 4; i++)
                recv[i] = SENT;
            RUN3(form, MPI_Reduce(send, recv, N, t, op, arg, inter), MPI_Ireduce(send, recv, N, t, op, arg, inter, &rq),
                 MPI_Reduce_init(send, recv, N, t, op, arg, inter, MPI_INFO_NULL, &rq));
            for (int e = 0; e < N; e++)
                for (int j = 0; j < 4; j++) {
                    int want = SENT;
                    if (arg == MPI_ROOT)
                        WANT(e, j, want);
                    CHECK(recv[e * 4 + j] == want, "MPI_%sReduce (matrix) group %d root %d: element %d [%d] = %d, want %d",
                          formname[form], g, root, e, j, recv[e * 4 + j], want);
                }
        }
#undef WANT
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    rank = tu_rank();
    int size = tu_size();
    CHECK(size <= 2 * MAXP, "at most %d ranks", 2 * MAXP);
    for (int r = 0; r < size; r++)
        grp[r % 2][gn[r % 2]++] = r;
    color = rank % 2;
    other = 1 - color;
    MPI_Comm local;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &local));
    MPI_CHECK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, grp[other][0], 1, &inter));
    MPI_CHECK(MPI_Comm_rank(inter, &lrank));
    ln = gn[color];
    rn = gn[other];
    MPI_CHECK(MPI_Type_contiguous(4, MPI_INT, &mat_t));
    MPI_CHECK(MPI_Type_commit(&mat_t));
    MPI_CHECK(MPI_Op_create(mat_fn, 0, &op_mat));

    for (int form = 0; form < 3; form++) {
        rooted(form);
        all_to(form);
        reductions(form, 0);
        reductions(form, 1);
    }

    /* Scan and Exscan are defined on intracommunicators only. */
    MPI_CHECK(MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN));
    int a = 1, b = 0;
    CHECK_ERR_CLASS(MPI_Scan(&a, &b, 1, MPI_INT, MPI_SUM, inter), MPI_ERR_COMM);

    MPI_CHECK(MPI_Op_free(&op_mat));
    MPI_CHECK(MPI_Type_free(&mat_t));
    MPI_CHECK(MPI_Comm_free(&inter));
    MPI_CHECK(MPI_Comm_free(&local));
    MPI_Finalize();
    return 0;
}
