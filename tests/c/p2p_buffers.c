/* ranks: 1 2 3 */
/* Buffers for buffered sends (MPI-4.1 3.6): a communicator's own (MPI_Comm_attach_buffer),
 * used by buffered sends on it, while the process has none (a buffered send on another
 * communicator then fails with MPI_ERR_BUFFER); MPI_Comm_flush_buffer, MPI_Comm_iflush_buffer,
 * MPI_Buffer_flush, MPI_Buffer_iflush (complete once the buffered sends have left the
 * buffer; the buffer stays attached); detach handing back the address and size; and
 * MPI_BUFFER_AUTOMATIC on both (detach gives the constant back). */
#include "testutil.h"

#define N 1000

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    MPI_Comm comm;
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
    MPI_CHECK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
    int out[N], in[N];
    for (int i = 0; i < N; i++)
        out[i] = rank * N + i;

    /* The communicator's buffer. */
    int bytes = (int)sizeof out + MPI_BSEND_OVERHEAD;
    char *cbuf = malloc(bytes);
    MPI_CHECK(MPI_Comm_attach_buffer(comm, cbuf, bytes));
    MPI_CHECK(MPI_Bsend(out, N, MPI_INT, next, 1, comm));
    /* The process has no buffer: a buffered send on another communicator fails. */
    CHECK_ERR_CLASS(MPI_Bsend(out, 1, MPI_INT, next, 1, MPI_COMM_WORLD), MPI_ERR_BUFFER);
    MPI_CHECK(MPI_Recv(in, N, MPI_INT, prev, 1, comm, MPI_STATUS_IGNORE));
    for (int i = 0; i < N; i++)
        CHECK(in[i] == prev * N + i, "in[%d] = %d", i, in[i]);
    MPI_CHECK(MPI_Comm_flush_buffer(comm));
    MPI_CHECK(MPI_Bsend(out, N, MPI_INT, next, 2, comm));
    MPI_Request rq;
    MPI_CHECK(MPI_Comm_iflush_buffer(comm, &rq));
    MPI_CHECK(MPI_Recv(in, N, MPI_INT, prev, 2, comm, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Wait(&rq, MPI_STATUS_IGNORE));
    void *addr = NULL;
    int got = -1;
    MPI_CHECK(MPI_Comm_detach_buffer(comm, &addr, &got));
    CHECK(addr == cbuf && got == bytes, "comm detach: %p %d, expected %p %d", addr, got,
          (void *)cbuf, bytes);
    free(cbuf);

    /* The process's buffer, flushed both ways. */
    char *pbuf = malloc(bytes);
    MPI_CHECK(MPI_Buffer_attach(pbuf, bytes));
    MPI_CHECK(MPI_Bsend(out, N, MPI_INT, next, 3, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Buffer_iflush(&rq));
    MPI_CHECK(MPI_Recv(in, N, MPI_INT, prev, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Wait(&rq, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Bsend(out, N, MPI_INT, next, 4, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Recv(in, N, MPI_INT, prev, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Buffer_flush());
    MPI_CHECK(MPI_Buffer_detach(&addr, &got));
    CHECK(addr == pbuf && got == bytes, "detach: %p %d", addr, got);
    free(pbuf);

    /* MPI_BUFFER_AUTOMATIC. */
    MPI_CHECK(MPI_Buffer_attach(MPI_BUFFER_AUTOMATIC, 0));
    MPI_CHECK(MPI_Bsend(out, N, MPI_INT, next, 5, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Recv(in, N, MPI_INT, prev, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    CHECK(in[N - 1] == prev * N + N - 1);
    MPI_CHECK(MPI_Buffer_detach(&addr, &got));
    CHECK(addr == MPI_BUFFER_AUTOMATIC, "detach of the automatic buffer gave %p", addr);
    MPI_CHECK(MPI_Comm_attach_buffer(comm, MPI_BUFFER_AUTOMATIC, 0));
    MPI_CHECK(MPI_Bsend(out, N, MPI_INT, next, 6, comm));
    MPI_CHECK(MPI_Recv(in, N, MPI_INT, prev, 6, comm, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Comm_detach_buffer(comm, &addr, &got));
    CHECK(addr == MPI_BUFFER_AUTOMATIC, "comm detach of the automatic buffer gave %p", addr);

    MPI_CHECK(MPI_Comm_free(&comm));
    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("p2p_buffers: ok\n");
    return 0;
}
