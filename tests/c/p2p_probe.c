/* ranks: 1 2 3 4 */
/* Probe/Iprobe (the status gives source, tag and count; the message is still there),
 * Mprobe/Improbe + Mrecv/Imrecv (a matched message is no longer visible to probes or receives,
 * and is received by its handle even when a later message has the same envelope), wildcards,
 * and MPI_PROC_NULL: Mprobe/Improbe return MPI_MESSAGE_NO_PROC whose Mrecv/Imrecv completes at
 * once with source PROC_NULL, tag ANY_TAG, count 0. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    MPI_Status st;
    MPI_Request sq[4], rq;
    int flag = -1;

    /* Nothing is pending yet. */
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
    CHECK(flag == 0, "Iprobe found a message before any was sent");
    MPI_Message msg = MPI_MESSAGE_NULL;
    MPI_CHECK(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &msg, &st));
    CHECK(flag == 0 && msg == MPI_MESSAGE_NULL, "Improbe found a message before any was sent");
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* Probe then Recv. */
    int out[20], in[20];
    for (int i = 0; i < 20; i++)
        out[i] = rank * 20 + i;
    MPI_CHECK(MPI_Isend(out, 13, MPI_INT, next, 7, MPI_COMM_WORLD, &sq[0]));
    MPI_CHECK(MPI_Probe(prev, 7, MPI_COMM_WORLD, &st));
    CHECK_STATUS(st, prev, 7, MPI_INT, 13);
    /* probing again finds the same message */
    MPI_CHECK(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
    CHECK_STATUS(st, prev, 7, MPI_INT, 13);
    MPI_CHECK(MPI_Recv(in, 20, MPI_INT, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &st));
    CHECK_STATUS(st, prev, 7, MPI_INT, 13);
    for (int i = 0; i < 13; i++)
        CHECK(in[i] == prev * 20 + i);
    MPI_CHECK(MPI_Wait(&sq[0], MPI_STATUS_IGNORE));

    /* Iprobe polling loop, wrong tag is not found. */
    MPI_CHECK(MPI_Isend(out, 5, MPI_INT, next, 8, MPI_COMM_WORLD, &sq[0]));
    flag = 0;
    while (!flag)
        MPI_CHECK(MPI_Iprobe(prev, 8, MPI_COMM_WORLD, &flag, &st));
    CHECK_STATUS(st, prev, 8, MPI_INT, 5);
    MPI_CHECK(MPI_Iprobe(prev, 9, MPI_COMM_WORLD, &flag, &st));
    CHECK(!flag, "Iprobe matched the wrong tag");
    MPI_CHECK(MPI_Recv(in, 5, MPI_INT, prev, 8, MPI_COMM_WORLD, &st));
    MPI_CHECK(MPI_Wait(&sq[0], MPI_STATUS_IGNORE));

    /* Mprobe + Mrecv: two messages with the same envelope; the matched one (the first) is
     * received through its handle after a plain Recv took the second. */
    int a = 1000 + rank, b = 2000 + rank, got = -1;
    MPI_CHECK(MPI_Isend(&a, 1, MPI_INT, next, 10, MPI_COMM_WORLD, &sq[0]));
    MPI_CHECK(MPI_Isend(&b, 1, MPI_INT, next, 10, MPI_COMM_WORLD, &sq[1]));
    MPI_CHECK(MPI_Mprobe(prev, 10, MPI_COMM_WORLD, &msg, &st));
    CHECK(msg != MPI_MESSAGE_NULL && msg != MPI_MESSAGE_NO_PROC);
    CHECK_STATUS(st, prev, 10, MPI_INT, 1);
    MPI_CHECK(MPI_Recv(&got, 1, MPI_INT, prev, 10, MPI_COMM_WORLD, &st));
    CHECK(got == 2000 + prev, "Recv after Mprobe got %d (the matched message?)", got);
    MPI_CHECK(MPI_Mrecv(&got, 1, MPI_INT, &msg, &st));
    CHECK(msg == MPI_MESSAGE_NULL);
    CHECK(got == 1000 + prev);
    CHECK_STATUS(st, prev, 10, MPI_INT, 1);
    MPI_CHECK(MPI_Waitall(2, sq, MPI_STATUSES_IGNORE));

    /* Improbe + Imrecv with wildcards. */
    double d = rank + 0.5, dg = -1;
    MPI_CHECK(MPI_Isend(&d, 1, MPI_DOUBLE, next, 11, MPI_COMM_WORLD, &sq[0]));
    flag = 0;
    while (!flag)
        MPI_CHECK(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &msg, &st));
    CHECK_STATUS(st, prev, 11, MPI_DOUBLE, 1);
    /* the matched message is gone for probes (the next message from prev may be there) */
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, 11, MPI_COMM_WORLD, &flag, &st));
    CHECK(!flag, "a matched message is still visible to Iprobe");
    MPI_CHECK(MPI_Imrecv(&dg, 1, MPI_DOUBLE, &msg, &rq));
    CHECK(msg == MPI_MESSAGE_NULL);
    MPI_CHECK(MPI_Wait(&rq, &st));
    CHECK_STATUS(st, prev, 11, MPI_DOUBLE, 1);
    CHECK(dg == prev + 0.5);
    MPI_CHECK(MPI_Wait(&sq[0], MPI_STATUS_IGNORE));

    /* Mprobe of a large message, then Mrecv. */
    {
        int n = 300000;
        int *bo = malloc(n * sizeof(int)), *bi = malloc(n * sizeof(int));
        for (int i = 0; i < n; i++)
            bo[i] = i ^ rank;
        MPI_CHECK(MPI_Isend(bo, n, MPI_INT, next, 12, MPI_COMM_WORLD, &sq[0]));
        MPI_CHECK(MPI_Mprobe(prev, MPI_ANY_TAG, MPI_COMM_WORLD, &msg, &st));
        CHECK_STATUS(st, prev, 12, MPI_INT, n);
        MPI_CHECK(MPI_Mrecv(bi, n, MPI_INT, &msg, &st));
        CHECK_STATUS(st, prev, 12, MPI_INT, n);
        for (int i = 0; i < n; i++)
            CHECK(bi[i] == (i ^ prev), "large Mrecv at %d", i);
        MPI_CHECK(MPI_Wait(&sq[0], MPI_STATUS_IGNORE));
        free(bo);
        free(bi);
    }

    /* Zero-byte message through Mprobe/Mrecv. */
    MPI_CHECK(MPI_Isend(NULL, 0, MPI_INT, next, 13, MPI_COMM_WORLD, &sq[0]));
    MPI_CHECK(MPI_Mprobe(prev, 13, MPI_COMM_WORLD, &msg, &st));
    CHECK_STATUS(st, prev, 13, MPI_INT, 0);
    MPI_CHECK(MPI_Mrecv(NULL, 0, MPI_INT, &msg, &st));
    CHECK_STATUS(st, prev, 13, MPI_INT, 0);
    MPI_CHECK(MPI_Wait(&sq[0], MPI_STATUS_IGNORE));

    /* MPI_PROC_NULL */
    MPI_CHECK(MPI_Probe(MPI_PROC_NULL, 5, MPI_COMM_WORLD, &st));
    CHECK_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG, MPI_INT, 0);
    flag = 0;
    MPI_CHECK(MPI_Iprobe(MPI_PROC_NULL, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
    CHECK(flag == 1);
    CHECK_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG, MPI_INT, 0);
    msg = MPI_MESSAGE_NULL;
    MPI_CHECK(MPI_Mprobe(MPI_PROC_NULL, 5, MPI_COMM_WORLD, &msg, &st));
    CHECK(msg == MPI_MESSAGE_NO_PROC, "Mprobe(PROC_NULL) gave message %p", (void *)msg);
    CHECK_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG, MPI_INT, 0);
    got = 77;
    MPI_CHECK(MPI_Mrecv(&got, 1, MPI_INT, &msg, &st));
    CHECK(msg == MPI_MESSAGE_NULL && got == 77);
    CHECK_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG, MPI_INT, 0);
    flag = 0;
    MPI_CHECK(MPI_Improbe(MPI_PROC_NULL, 5, MPI_COMM_WORLD, &flag, &msg, &st));
    CHECK(flag == 1 && msg == MPI_MESSAGE_NO_PROC);
    CHECK_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG, MPI_INT, 0);
    MPI_CHECK(MPI_Imrecv(&got, 1, MPI_INT, &msg, &rq));
    CHECK(msg == MPI_MESSAGE_NULL);
    MPI_CHECK(MPI_Wait(&rq, &st));
    CHECK_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG, MPI_INT, 0);
    CHECK(got == 77);

    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
    CHECK(!flag, "a message is left over");
    MPI_CHECK(MPI_Finalize());
    return 0;
}
