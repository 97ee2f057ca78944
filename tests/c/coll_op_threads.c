/* ranks: 1 2 3 4 */
/* timeout: 90 */
/* User operations in collectives under MPI_THREAD_MULTIPLE: on each rank one thread runs
 * nonblocking allreduces with a non-commutative user operation on one communicator and waits
 * for them (or tests them in a loop), while another runs blocking reduces and scans with it on
 * a second communicator. The operation calls MPI (MPI_Comm_rank, MPI_Type_size) from whichever
 * thread runs it, which must not deadlock with the other thread inside MPI; every result is the
 * rank-order product computed here. If MULTIPLE is not provided, the test says so and passes. */
#include "testutil.h"
#include <pthread.h>

#define N 2
#define ITERS 100

static int rank, size;
static MPI_Datatype mat_t;
static MPI_Op op_mat;
static MPI_Comm comms[2];

static void mat_fn(void *inv, void *iov, int *len, MPI_Datatype *dt)
{
    int r = -1, sz = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Type_size(*dt, &sz);
    const int *in = inv;
    int *io = iov;
    for (int k = 0; k < *len; k++) {
        const int *a = in + 4 * k;
        int *b = io + 4 * k;
        int c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                    a[2] * b[1] + a[3] * b[3]};
        memcpy(b, c, sizeof c);
    }
    if (r != rank || sz != 16)
        io[0] = -12345; /* shows in the result */
}

static void mat_of(int r, int e, int it, int m[4])
{
    m[0] = (r + it) % 3 + 1;
    m[1] = e + 1;
    m[2] = (r + e + it) % 2;
    m[3] = 1;
}

/* The product of matrix e over ranks 0..hi-1. */
static void product(int hi, int e, int it, int acc[4])
{
    mat_of(0, e, it, acc);
    for (int r = 1; r < hi; r++) {
        int b[4], one = 1;
        mat_of(r, e, it, b);
        mat_fn(acc, b, &one, &mat_t);
        memcpy(acc, b, sizeof b);
    }
}

static void expect(const int *got, int hi, int it, const char *what)
{
    for (int e = 0; e < N; e++) {
        int want[4];
        product(hi, e, it, want);
        for (int j = 0; j < 4; j++)
            CHECK(got[4 * e + j] == want[j], "%s iteration %d: matrix %d [%d] = %d, want %d", what, it, e, j,
                  got[4 * e + j], want[j]);
    }
}

static void *nonblocking(void *arg)
{
    (void)arg;
    for (int it = 0; it < ITERS; it++) {
        int send[4 * N], recv[4 * N];
        for (int e = 0; e < N; e++)
            mat_of(rank, e, it, send + 4 * e);
        MPI_Request rq;
        MPI_CHECK(MPI_Iallreduce(send, recv, N, mat_t, op_mat, comms[0], &rq));
        if (it % 2) {
            MPI_CHECK(MPI_Wait(&rq, MPI_STATUS_IGNORE));
        } else {
            for (int done = 0; !done;)
                MPI_CHECK(MPI_Test(&rq, &done, MPI_STATUS_IGNORE));
        }
        expect(recv, size, it, "MPI_Iallreduce");
    }
    return NULL;
}

static void *blocking(void *arg)
{
    (void)arg;
    for (int it = 0; it < ITERS; it++) {
        int send[4 * N], recv[4 * N];
        for (int e = 0; e < N; e++)
            mat_of(rank, e, it, send + 4 * e);
        int root = it % size;
        MPI_CHECK(MPI_Reduce(send, recv, N, mat_t, op_mat, root, comms[1]));
        if (rank == root)
            expect(recv, size, it, "MPI_Reduce");
        MPI_CHECK(MPI_Scan(send, recv, N, mat_t, op_mat, comms[1]));
        expect(recv, rank + 1, it, "MPI_Scan");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int provided;
    MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    if (provided < MPI_THREAD_MULTIPLE) {
        printf("MPI_THREAD_MULTIPLE not provided; nothing to test\n");
        MPI_Finalize();
        return 0;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_CHECK(MPI_Type_contiguous(4, MPI_INT, &mat_t));
    MPI_CHECK(MPI_Type_commit(&mat_t));
    MPI_CHECK(MPI_Op_create(mat_fn, 0, &op_mat));
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comms[0]));
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comms[1]));

    pthread_t t[2];
    CHECK(pthread_create(&t[0], NULL, nonblocking, NULL) == 0);
    CHECK(pthread_create(&t[1], NULL, blocking, NULL) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);

    MPI_CHECK(MPI_Comm_free(&comms[0]));
    MPI_CHECK(MPI_Comm_free(&comms[1]));
    MPI_CHECK(MPI_Op_free(&op_mat));
    MPI_CHECK(MPI_Type_free(&mat_t));
    MPI_Finalize();
    return 0;
}
