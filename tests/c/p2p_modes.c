/* ranks: 1 2 3 4 */
/* Send modes. Ssend/Issend are synchronous: an Issend (small or 1 MiB) stays incomplete under
 * repeated MPI_Test until the receiver posts its receive after a barrier, and a blocking Ssend
 * lasts until the (delayed) receive. Rsend/Irsend after the receive is known to be posted.
 * Bsend/Ibsend with Buffer_attach/detach (detach returns the buffer and size), and
 * MPI_ERR_BUFFER for a Bsend without a buffer and with a buffer too small. Ranks pair up
 * (0-1, 2-3); a rank without a partner does the same with itself where that is possible. */
#include "testutil.h"

#define BIG (1 << 20)

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int partner = (rank % 2 == 0) ? rank + 1 : rank - 1;
    if (partner >= size)
        partner = MPI_PROC_NULL; /* odd size: the last rank has no partner */
    int sender = (rank % 2 == 0);
    MPI_Status st;
    MPI_Request rq, rq2;
    int flag;
    char *big = malloc(BIG), *bigin = malloc(BIG);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)(i * 7 + rank);

    /* --- Issend stays pending until the receive is posted (small, then 1 MiB) --- */
    for (int round = 0; round < 2; round++) {
        int n = round == 0 ? 4 : BIG;
        if (partner != MPI_PROC_NULL && sender) {
            MPI_CHECK(MPI_Issend(big, n, MPI_BYTE, partner, 1, MPI_COMM_WORLD, &rq));
            for (int i = 0; i < 50; i++) {
                MPI_CHECK(MPI_Test(&rq, &flag, &st));
                CHECK(!flag, "Issend of %d bytes completed before the receive was posted", n);
                tu_sleep_ms(1);
            }
            MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
            MPI_CHECK(MPI_Wait(&rq, &st));
        } else if (partner != MPI_PROC_NULL) {
            MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
            MPI_CHECK(MPI_Recv(bigin, n, MPI_BYTE, partner, 1, MPI_COMM_WORLD, &st));
            CHECK_STATUS(st, partner, 1, MPI_BYTE, n);
            for (int i = 0; i < n; i++)
                CHECK(bigin[i] == (char)(i * 7 + partner), "Issend data at %d", i);
        } else {
            /* alone: synchronous send to myself */
            MPI_CHECK(MPI_Issend(big, n, MPI_BYTE, rank, 1, MPI_COMM_WORLD, &rq));
            for (int i = 0; i < 20; i++) {
                MPI_CHECK(MPI_Test(&rq, &flag, &st));
                CHECK(!flag, "self Issend completed before the receive was posted");
            }
            MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
            MPI_CHECK(MPI_Recv(bigin, n, MPI_BYTE, rank, 1, MPI_COMM_WORLD, &st));
            MPI_CHECK(MPI_Wait(&rq, MPI_STATUS_IGNORE));
            CHECK(memcmp(big, bigin, n) == 0);
        }
    }

    /* --- blocking Ssend lasts until the receiver, 200 ms late, receives --- */
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (partner != MPI_PROC_NULL) {
        int v = rank + 5, got = -1;
        if (sender) {
            double t0 = MPI_Wtime();
            MPI_CHECK(MPI_Ssend(&v, 1, MPI_INT, partner, 2, MPI_COMM_WORLD));
            double dt = MPI_Wtime() - t0;
            CHECK(dt >= 0.1, "Ssend returned after %.3f s, before the receive (200 ms late)", dt);
        } else {
            tu_sleep_ms(200);
            MPI_CHECK(MPI_Recv(&got, 1, MPI_INT, partner, 2, MPI_COMM_WORLD, &st));
            CHECK(got == partner + 5);
        }
    }

    /* --- Rsend / Irsend: the receive is posted before the barrier, the send after --- */
    {
        int v[3] = {rank, rank * 2, rank * 3}, w[3] = {-1, -1, -1}, x[3] = {-1, -1, -1};
        int peer = partner == MPI_PROC_NULL ? rank : partner;
        MPI_CHECK(MPI_Irecv(w, 3, MPI_INT, peer, 3, MPI_COMM_WORLD, &rq));
        MPI_CHECK(MPI_Irecv(x, 3, MPI_INT, peer, 4, MPI_COMM_WORLD, &rq2));
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        MPI_Request sq;
        MPI_CHECK(MPI_Irsend(v, 3, MPI_INT, peer, 4, MPI_COMM_WORLD, &sq));
        MPI_CHECK(MPI_Rsend(v, 3, MPI_INT, peer, 3, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Wait(&sq, MPI_STATUS_IGNORE));
        MPI_CHECK(MPI_Wait(&rq, &st));
        CHECK_STATUS(st, peer, 3, MPI_INT, 3);
        MPI_CHECK(MPI_Wait(&rq2, &st));
        CHECK_STATUS(st, peer, 4, MPI_INT, 3);
        CHECK(w[0] == peer && w[1] == 2 * peer && w[2] == 3 * peer);
        CHECK(x[0] == peer && x[1] == 2 * peer && x[2] == 3 * peer);
    }

    /* --- Bsend / Ibsend with an attached buffer --- */
    {
        int peer = partner == MPI_PROC_NULL ? rank : partner;
        enum { MSGS = 8, LEN = 1000 };
        int bufsize = MSGS * (LEN * (int)sizeof(int) + MPI_BSEND_OVERHEAD) + BIG +
                      MPI_BSEND_OVERHEAD;
        char *attach = malloc(bufsize);
        MPI_CHECK(MPI_Buffer_attach(attach, bufsize));
        static int data[MSGS][LEN];
        for (int m = 0; m < MSGS; m++)
            for (int i = 0; i < LEN; i++)
                data[m][i] = rank * 100000 + m * 1000 + i;
        MPI_Request bq[MSGS];
        for (int m = 0; m < MSGS; m++) {
            if (m % 2)
                MPI_CHECK(MPI_Bsend(data[m], LEN, MPI_INT, peer, 10 + m, MPI_COMM_WORLD));
            else
                MPI_CHECK(MPI_Ibsend(data[m], LEN, MPI_INT, peer, 10 + m, MPI_COMM_WORLD, &bq[m]));
        }
        /* A buffered send completes locally: the data may be overwritten right away. */
        for (int m = 0; m < MSGS; m++)
            if (m % 2 == 0)
                MPI_CHECK(MPI_Wait(&bq[m], MPI_STATUS_IGNORE));
        for (int m = 0; m < MSGS; m++)
            memset(data[m], 0xff, sizeof data[m]);
        /* 1 MiB buffered too */
        MPI_CHECK(MPI_Bsend(big, BIG, MPI_BYTE, peer, 30, MPI_COMM_WORLD));
        memset(big, 0, BIG);
        /* the receiver starts late */
        tu_sleep_ms(20);
        static int in[LEN];
        for (int m = MSGS - 1; m >= 0; m--) {
            MPI_CHECK(MPI_Recv(in, LEN, MPI_INT, peer, 10 + m, MPI_COMM_WORLD, &st));
            CHECK_STATUS(st, peer, 10 + m, MPI_INT, LEN);
            for (int i = 0; i < LEN; i++)
                CHECK(in[i] == peer * 100000 + m * 1000 + i, "Bsend message %d at %d", m, i);
        }
        MPI_CHECK(MPI_Recv(bigin, BIG, MPI_BYTE, peer, 30, MPI_COMM_WORLD, &st));
        CHECK_STATUS(st, peer, 30, MPI_BYTE, BIG);
        for (int i = 0; i < BIG; i++)
            CHECK(bigin[i] == (char)(i * 7 + peer), "buffered 1 MiB at %d", i);
        void *addr = NULL;
        int dsize = -1;
        MPI_CHECK(MPI_Buffer_detach(&addr, &dsize));
        CHECK(addr == attach && dsize == bufsize, "detach gave %p/%d, attached %p/%d", addr,
              dsize, (void *)attach, bufsize);
        /* attach again, reuse, detach */
        MPI_CHECK(MPI_Buffer_attach(attach, bufsize));
        int one = rank, got = -1;
        MPI_CHECK(MPI_Bsend(&one, 1, MPI_INT, peer, 31, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Recv(&got, 1, MPI_INT, peer, 31, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        CHECK(got == peer);
        MPI_CHECK(MPI_Buffer_detach(&addr, &dsize));
        CHECK(addr == attach && dsize == bufsize);
        free(attach);
    }

    /* --- MPI_ERR_BUFFER: no buffer attached, and a buffer too small --- */
    {
        tu_errors_return();
        static int data[4000];
        CHECK_ERR_CLASS(MPI_Bsend(data, 4000, MPI_INT, rank, 40, MPI_COMM_WORLD), MPI_ERR_BUFFER);
        int small = 2 * MPI_BSEND_OVERHEAD + 64;
        char *sbuf = malloc(small);
        MPI_CHECK(MPI_Buffer_attach(sbuf, small));
        CHECK_ERR_CLASS(MPI_Bsend(data, 4000, MPI_INT, rank, 41, MPI_COMM_WORLD), MPI_ERR_BUFFER);
        /* a message that fits still works */
        int one = 9, got = 0;
        MPI_CHECK(MPI_Bsend(&one, 1, MPI_INT, rank, 42, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Recv(&got, 1, MPI_INT, rank, 42, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        CHECK(got == 9);
        void *addr;
        int dsize;
        MPI_CHECK(MPI_Buffer_detach(&addr, &dsize));
        CHECK(addr == sbuf && dsize == small);
        free(sbuf);
        /* nothing must be left over from the failed sends */
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
        CHECK(!flag, "a failed Bsend left a message (source %d tag %d)", st.MPI_SOURCE,
              st.MPI_TAG);
    }

    free(big);
    free(bigin);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
