/* ranks: 1 2 3 4 */
/* Persistent requests: Send_init, Bsend_init, Ssend_init, Rsend_init and Recv_init, each
 * started (Start and Startall) several times with new data every round; an inactive
 * persistent request completes at once on Wait/Test (empty status); Request_free of an
 * inactive persistent request; Ssend_init stays incomplete until the receive is started. */
#include "testutil.h"

#define ROUNDS 5
#define LEN 64

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    MPI_Status st, sts[8];
    int flag;

    static int sbuf[4][LEN], rbuf[4][LEN];
    int bsize = LEN * (int)sizeof(int) + MPI_BSEND_OVERHEAD;
    bsize *= 2;
    char *battach = malloc(bsize);
    MPI_CHECK(MPI_Buffer_attach(battach, bsize));

    MPI_Request send[4], recv[4];
    MPI_CHECK(MPI_Send_init(sbuf[0], LEN, MPI_INT, next, 0, MPI_COMM_WORLD, &send[0]));
    MPI_CHECK(MPI_Bsend_init(sbuf[1], LEN, MPI_INT, next, 1, MPI_COMM_WORLD, &send[1]));
    MPI_CHECK(MPI_Ssend_init(sbuf[2], LEN, MPI_INT, next, 2, MPI_COMM_WORLD, &send[2]));
    MPI_CHECK(MPI_Rsend_init(sbuf[3], LEN, MPI_INT, next, 3, MPI_COMM_WORLD, &send[3]));
    for (int k = 0; k < 4; k++)
        MPI_CHECK(MPI_Recv_init(rbuf[k], LEN, MPI_INT, prev, k, MPI_COMM_WORLD, &recv[k]));

    /* inactive persistent requests complete at once and stay allocated */
    MPI_CHECK(MPI_Wait(&send[0], &st));
    CHECK(send[0] != MPI_REQUEST_NULL, "Wait freed an inactive persistent request");
    flag = 0;
    MPI_CHECK(MPI_Test(&recv[0], &flag, &st));
    CHECK(flag == 1 && recv[0] != MPI_REQUEST_NULL);
    MPI_CHECK(MPI_Waitall(4, recv, MPI_STATUSES_IGNORE));
    for (int k = 0; k < 4; k++)
        CHECK(recv[k] != MPI_REQUEST_NULL);

    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < LEN; i++) {
                sbuf[k][i] = rank * 1000000 + round * 10000 + k * 1000 + i;
                rbuf[k][i] = -1;
            }
        /* receives first (Rsend needs them posted), alternating Start and Startall */
        if (round % 2 == 0) {
            MPI_CHECK(MPI_Startall(4, recv));
        } else {
            for (int k = 0; k < 4; k++)
                MPI_CHECK(MPI_Start(&recv[k]));
        }
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); /* every receive is posted */
        if (round % 2 == 0) {
            MPI_CHECK(MPI_Start(&send[3]));
            MPI_CHECK(MPI_Startall(3, send));
        } else {
            for (int k = 3; k >= 0; k--)
                MPI_CHECK(MPI_Start(&send[k]));
        }
        if (round % 2 == 0) {
            MPI_CHECK(MPI_Waitall(4, recv, sts));
            MPI_CHECK(MPI_Waitall(4, send, MPI_STATUSES_IGNORE));
        } else {
            int done = 0;
            while (done < 8) {
                int idx; /* completed persistent requests turn inactive: Waitany skips them */
                MPI_CHECK(MPI_Waitany(4, recv, &idx, &st));
                if (idx != MPI_UNDEFINED) {
                    sts[idx] = st;
                    done++;
                    continue;
                }
                MPI_CHECK(MPI_Waitany(4, send, &idx, &st));
                if (idx != MPI_UNDEFINED) {
                    done++;
                    continue;
                }
                break;
            }
            CHECK(done == 8, "round %d: %d completions", round, done);
        }
        for (int k = 0; k < 4; k++) {
            CHECK(send[k] != MPI_REQUEST_NULL && recv[k] != MPI_REQUEST_NULL,
                  "a persistent request was freed by its completion");
            CHECK_STATUS(sts[k], prev, k, MPI_INT, LEN);
            for (int i = 0; i < LEN; i++)
                CHECK(rbuf[k][i] == prev * 1000000 + round * 10000 + k * 1000 + i,
                      "round %d kind %d element %d: %d", round, k, i, rbuf[k][i]);
        }
    }

    /* Ssend_init: incomplete until the matching receive is started */
    if (size > 1) {
        MPI_CHECK(MPI_Start(&send[2]));
        for (int i = 0; i < 20; i++) {
            MPI_CHECK(MPI_Test(&send[2], &flag, MPI_STATUS_IGNORE));
            CHECK(!flag, "persistent Ssend completed before its receive was started");
        }
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        MPI_CHECK(MPI_Start(&recv[2]));
        MPI_CHECK(MPI_Wait(&recv[2], &st));
        CHECK_STATUS(st, prev, 2, MPI_INT, LEN);
        MPI_CHECK(MPI_Wait(&send[2], MPI_STATUS_IGNORE));
    }

    for (int k = 0; k < 4; k++) {
        MPI_CHECK(MPI_Request_free(&send[k]));
        MPI_CHECK(MPI_Request_free(&recv[k]));
        CHECK(send[k] == MPI_REQUEST_NULL && recv[k] == MPI_REQUEST_NULL);
    }

    /* A persistent receive with wildcards, reused; a persistent self-send. */
    {
        int v = 0, got = -1;
        MPI_Request s, r;
        MPI_CHECK(MPI_Recv_init(&got, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_SELF, &r));
        MPI_CHECK(MPI_Send_init(&v, 1, MPI_INT, 0, 77, MPI_COMM_SELF, &s));
        for (int round = 0; round < ROUNDS; round++) {
            v = round * 11;
            MPI_CHECK(MPI_Start(&r));
            MPI_CHECK(MPI_Start(&s));
            MPI_CHECK(MPI_Wait(&s, MPI_STATUS_IGNORE));
            MPI_CHECK(MPI_Wait(&r, &st));
            CHECK_STATUS(st, 0, 77, MPI_INT, 1);
            CHECK(got == round * 11);
        }
        MPI_CHECK(MPI_Request_free(&s));
        MPI_CHECK(MPI_Request_free(&r));
    }

    void *addr;
    int dsize;
    MPI_CHECK(MPI_Buffer_detach(&addr, &dsize));
    free(battach);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
