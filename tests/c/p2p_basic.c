/* ranks: 1 2 3 4 */
/* env: FERROMPI_PMI=2 */
/* Blocking and nonblocking point-to-point: Send/Recv around a ring, Isend/Irecv, Sendrecv,
 * Sendrecv_replace, ANY_SOURCE/ANY_TAG with the status telling the real source and tag, a
 * receive larger than the message (count from the status), zero-byte messages (with and
 * without a NULL buffer), self-sends (blocking-safe nonblocking pairs, Sendrecv to self). */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    MPI_Status st;
    MPI_Request rq[4];

    /* Ring with Send/Recv: even ranks send first (no deadlock at any size, incl. 1 via Isend). */
    {
        int out[100], in[100];
        for (int i = 0; i < 100; i++)
            out[i] = rank * 1000 + i;
        if (size == 1) {
            MPI_CHECK(MPI_Isend(out, 100, MPI_INT, 0, 1, MPI_COMM_WORLD, &rq[0]));
            MPI_CHECK(MPI_Recv(in, 100, MPI_INT, 0, 1, MPI_COMM_WORLD, &st));
            MPI_CHECK(MPI_Wait(&rq[0], MPI_STATUS_IGNORE));
        } else if (rank % 2 == 0) {
            MPI_CHECK(MPI_Send(out, 100, MPI_INT, next, 1, MPI_COMM_WORLD));
            MPI_CHECK(MPI_Recv(in, 100, MPI_INT, prev, 1, MPI_COMM_WORLD, &st));
        } else {
            MPI_CHECK(MPI_Recv(in, 100, MPI_INT, prev, 1, MPI_COMM_WORLD, &st));
            MPI_CHECK(MPI_Send(out, 100, MPI_INT, next, 1, MPI_COMM_WORLD));
        }
        CHECK_STATUS(st, prev, 1, MPI_INT, 100);
        for (int i = 0; i < 100; i++)
            CHECK(in[i] == prev * 1000 + i, "ring: in[%d] = %d", i, in[i]);
    }

    /* Isend/Irecv both directions, receives posted first and last. */
    {
        double a[50], b[50], c[50], d[50];
        for (int i = 0; i < 50; i++) {
            a[i] = rank + i * 0.5;
            c[i] = -rank - i * 0.25;
        }
        MPI_CHECK(MPI_Irecv(b, 50, MPI_DOUBLE, prev, 2, MPI_COMM_WORLD, &rq[0]));
        MPI_CHECK(MPI_Isend(a, 50, MPI_DOUBLE, next, 2, MPI_COMM_WORLD, &rq[1]));
        MPI_CHECK(MPI_Isend(c, 50, MPI_DOUBLE, prev, 3, MPI_COMM_WORLD, &rq[2]));
        MPI_CHECK(MPI_Irecv(d, 50, MPI_DOUBLE, next, 3, MPI_COMM_WORLD, &rq[3]));
        MPI_Status sts[4];
        MPI_CHECK(MPI_Waitall(4, rq, sts));
        for (int i = 0; i < 4; i++)
            CHECK(rq[i] == MPI_REQUEST_NULL);
        CHECK_STATUS(sts[0], prev, 2, MPI_DOUBLE, 50);
        CHECK_STATUS(sts[3], next, 3, MPI_DOUBLE, 50);
        for (int i = 0; i < 50; i++) {
            CHECK(b[i] == prev + i * 0.5);
            CHECK(d[i] == -next - i * 0.25);
        }
    }

    /* Sendrecv and Sendrecv_replace. */
    {
        long out = 100 + rank, in = -1;
        MPI_CHECK(MPI_Sendrecv(&out, 1, MPI_LONG, next, 4, &in, 1, MPI_LONG, prev, 4,
                               MPI_COMM_WORLD, &st));
        CHECK(in == 100 + prev);
        CHECK_STATUS(st, prev, 4, MPI_LONG, 1);
        int buf[33];
        for (int i = 0; i < 33; i++)
            buf[i] = rank * 33 + i;
        MPI_CHECK(MPI_Sendrecv_replace(buf, 33, MPI_INT, next, 5, prev, 5, MPI_COMM_WORLD, &st));
        CHECK_STATUS(st, prev, 5, MPI_INT, 33);
        for (int i = 0; i < 33; i++)
            CHECK(buf[i] == prev * 33 + i);
        /* wildcards in Sendrecv_replace */
        MPI_CHECK(MPI_Sendrecv_replace(buf, 33, MPI_INT, next, 6, MPI_ANY_SOURCE, MPI_ANY_TAG,
                                       MPI_COMM_WORLD, &st));
        CHECK_STATUS(st, prev, 6, MPI_INT, 33);
        for (int i = 0; i < 33; i++)
            CHECK(buf[i] == ((prev + size - 1) % size) * 33 + i);
    }

    /* The wildcard receives below must not see the messages above (and vice versa). */
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* ANY_SOURCE / ANY_TAG: rank 0 collects one message from every rank (tag = 10 + source). */
    {
        int v = rank * 7;
        MPI_CHECK(MPI_Isend(&v, 1, MPI_INT, 0, 10 + rank, MPI_COMM_WORLD, &rq[0]));
        if (rank == 0) {
            int seen[64] = {0};
            for (int i = 0; i < size; i++) {
                int got = -1;
                MPI_CHECK(MPI_Recv(&got, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                                   &st));
                CHECK(st.MPI_SOURCE >= 0 && st.MPI_SOURCE < size && !seen[st.MPI_SOURCE]);
                seen[st.MPI_SOURCE] = 1;
                CHECK(st.MPI_TAG == 10 + st.MPI_SOURCE && got == st.MPI_SOURCE * 7);
            }
        }
        MPI_CHECK(MPI_Wait(&rq[0], MPI_STATUS_IGNORE));
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        /* ANY_SOURCE with a specific tag, ANY_TAG with a specific source. */
        int x = rank;
        MPI_CHECK(MPI_Isend(&x, 1, MPI_INT, next, 20, MPI_COMM_WORLD, &rq[0]));
        MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 20, MPI_COMM_WORLD, &st));
        CHECK(v == prev && st.MPI_SOURCE == prev && st.MPI_TAG == 20);
        MPI_CHECK(MPI_Wait(&rq[0], MPI_STATUS_IGNORE));
        MPI_CHECK(MPI_Isend(&x, 1, MPI_INT, next, 21, MPI_COMM_WORLD, &rq[0]));
        MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, prev, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
        CHECK(v == prev && st.MPI_SOURCE == prev && st.MPI_TAG == 21);
        MPI_CHECK(MPI_Wait(&rq[0], MPI_STATUS_IGNORE));
    }

    /* A receive buffer larger than the message: the status tells the count. */
    {
        short out[10], in[40];
        for (int i = 0; i < 10; i++)
            out[i] = (short)(rank + i);
        for (int i = 0; i < 40; i++)
            in[i] = -1;
        MPI_CHECK(MPI_Irecv(in, 40, MPI_SHORT, prev, 30, MPI_COMM_WORLD, &rq[0]));
        MPI_CHECK(MPI_Send(out, 10, MPI_SHORT, next, 30, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Wait(&rq[0], &st));
        CHECK_STATUS(st, prev, 30, MPI_SHORT, 10);
        for (int i = 0; i < 10; i++)
            CHECK(in[i] == (short)(prev + i));
        for (int i = 10; i < 40; i++)
            CHECK(in[i] == -1, "bytes beyond the message were written at %d", i);
    }

    /* Zero-byte messages, with a real buffer and with NULL. */
    {
        int dummy = 42;
        MPI_CHECK(MPI_Irecv(&dummy, 0, MPI_INT, prev, 40, MPI_COMM_WORLD, &rq[0]));
        MPI_CHECK(MPI_Irecv(NULL, 0, MPI_INT, prev, 41, MPI_COMM_WORLD, &rq[1]));
        MPI_CHECK(MPI_Irecv(&dummy, 5, MPI_INT, prev, 42, MPI_COMM_WORLD, &rq[2]));
        MPI_CHECK(MPI_Send(&dummy, 0, MPI_INT, next, 40, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Send(NULL, 0, MPI_BYTE, next, 41, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Send(NULL, 0, MPI_INT, next, 42, MPI_COMM_WORLD));
        MPI_Status sts[3];
        MPI_CHECK(MPI_Waitall(3, rq, sts));
        CHECK_STATUS(sts[0], prev, 40, MPI_INT, 0);
        CHECK_STATUS(sts[1], prev, 41, MPI_INT, 0);
        CHECK_STATUS(sts[2], prev, 42, MPI_INT, 0);
        CHECK(dummy == 42);
    }

    /* Self-sends: to my own rank on WORLD and on SELF. */
    {
        int out[256], in[256];
        for (int i = 0; i < 256; i++)
            out[i] = rank ^ (i * 31);
        MPI_CHECK(MPI_Isend(out, 256, MPI_INT, rank, 50, MPI_COMM_WORLD, &rq[0]));
        MPI_CHECK(MPI_Irecv(in, 256, MPI_INT, rank, 50, MPI_COMM_WORLD, &rq[1]));
        MPI_CHECK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
        CHECK(memcmp(in, out, sizeof in) == 0);
        memset(in, 0, sizeof in);
        MPI_CHECK(MPI_Irecv(in, 256, MPI_INT, 0, 51, MPI_COMM_SELF, &rq[0]));
        MPI_CHECK(MPI_Send(out, 256, MPI_INT, 0, 51, MPI_COMM_SELF));
        MPI_CHECK(MPI_Wait(&rq[0], &st));
        CHECK_STATUS(st, 0, 51, MPI_INT, 256);
        CHECK(memcmp(in, out, sizeof in) == 0);
        memset(in, 0, sizeof in);
        MPI_CHECK(MPI_Sendrecv(out, 256, MPI_INT, rank, 52, in, 256, MPI_INT, rank, 52,
                               MPI_COMM_WORLD, &st));
        CHECK_STATUS(st, rank, 52, MPI_INT, 256);
        CHECK(memcmp(in, out, sizeof in) == 0);
        /* A self-message that waits unexpected before its receive is posted. */
        MPI_CHECK(MPI_Isend(out, 10, MPI_INT, rank, 53, MPI_COMM_WORLD, &rq[0]));
        MPI_CHECK(MPI_Recv(in, 10, MPI_INT, MPI_ANY_SOURCE, 53, MPI_COMM_WORLD, &st));
        MPI_CHECK(MPI_Wait(&rq[0], MPI_STATUS_IGNORE));
        CHECK_STATUS(st, rank, 53, MPI_INT, 10);
    }

    /* Messages on SELF and WORLD do not mix (same tag, same peer). */
    {
        int a = 1, b = 2, got1 = 0, got2 = 0;
        MPI_CHECK(MPI_Isend(&a, 1, MPI_INT, rank, 60, MPI_COMM_WORLD, &rq[0]));
        MPI_CHECK(MPI_Isend(&b, 1, MPI_INT, 0, 60, MPI_COMM_SELF, &rq[1]));
        MPI_CHECK(MPI_Recv(&got2, 1, MPI_INT, 0, 60, MPI_COMM_SELF, MPI_STATUS_IGNORE));
        MPI_CHECK(MPI_Recv(&got1, 1, MPI_INT, rank, 60, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        MPI_CHECK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
        CHECK(got1 == 1 && got2 == 2, "WORLD got %d, SELF got %d", got1, got2);
    }

    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
