/* ranks: 2 3 4 */
/* The non-overtaking rule: many messages with one tag (mixed sizes, eager and large, blocking
 * and nonblocking sends) arrive in order; with ANY_SOURCE, each sender's messages still arrive
 * in its order; messages with different tags can be received in any order (here: reversed),
 * and an ANY_TAG receive takes the oldest one. */
#include "testutil.h"

#define MANY 500
#define TAGS 10

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    MPI_Status st;

    /* 1. rank 0 -> rank 1: MANY messages, same tag; every 50th is 256 KiB. */
    enum { BIGN = 65536 };
    int *big = malloc(BIGN * sizeof(int));
    if (rank == 0) {
        MPI_Request *rq = malloc(MANY * sizeof(MPI_Request));
        int *seq = malloc(MANY * sizeof(int));
        for (int i = 0; i < MANY; i++) {
            seq[i] = i;
            if (i % 50 == 25) {
                for (int k = 0; k < BIGN; k++)
                    big[k] = i;
                MPI_CHECK(MPI_Send(big, BIGN, MPI_INT, 1, 1, MPI_COMM_WORLD));
                rq[i] = MPI_REQUEST_NULL;
            } else if (i % 2) {
                MPI_CHECK(MPI_Isend(&seq[i], 1, MPI_INT, 1, 1, MPI_COMM_WORLD, &rq[i]));
            } else {
                MPI_CHECK(MPI_Send(&seq[i], 1, MPI_INT, 1, 1, MPI_COMM_WORLD));
                rq[i] = MPI_REQUEST_NULL;
            }
        }
        MPI_CHECK(MPI_Waitall(MANY, rq, MPI_STATUSES_IGNORE));
        free(rq);
        free(seq);
    } else if (rank == 1) {
        tu_sleep_ms(10); /* let some arrive unexpected */
        for (int i = 0; i < MANY; i++) {
            if (i % 50 == 25) {
                MPI_CHECK(MPI_Recv(big, BIGN, MPI_INT, 0, 1, MPI_COMM_WORLD, &st));
                CHECK_STATUS(st, 0, 1, MPI_INT, BIGN);
                CHECK(big[0] == i && big[BIGN - 1] == i, "message %d overtaken: got %d", i,
                      big[0]);
            } else {
                int v = -1;
                /* a receive large enough for either size: the count tells which arrived */
                MPI_CHECK(MPI_Recv(big, BIGN, MPI_INT, 0, 1, MPI_COMM_WORLD, &st));
                MPI_CHECK(MPI_Get_count(&st, MPI_INT, &v));
                CHECK(v == 1 && big[0] == i, "message %d: got value %d count %d", i, big[0], v);
            }
        }
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* 2. every rank > 0 sends MANY/size messages to rank 0, received with ANY_SOURCE */
    int per = MANY / size;
    if (rank == 0) {
        int expect[64] = {0};
        for (int i = 0; i < per * (size - 1); i++) {
            int v[2];
            MPI_CHECK(MPI_Recv(v, 2, MPI_INT, MPI_ANY_SOURCE, 2, MPI_COMM_WORLD, &st));
            int src = st.MPI_SOURCE;
            CHECK(src > 0 && src < size && v[0] == src, "source %d value %d", src, v[0]);
            CHECK(v[1] == expect[src], "from %d: got message %d, expected %d", src, v[1],
                  expect[src]);
            expect[src]++;
        }
    } else {
        for (int i = 0; i < per; i++) {
            int v[2] = {rank, i};
            MPI_CHECK(MPI_Send(v, 2, MPI_INT, 0, 2, MPI_COMM_WORLD));
        }
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    /* 3. different tags: sent 0..TAGS-1, received in reverse; then ANY_TAG takes the oldest */
    if (rank == 0) {
        MPI_Request rq[2 * TAGS];
        int vals[2 * TAGS];
        for (int t = 0; t < TAGS; t++) {
            vals[t] = 100 + t;
            MPI_CHECK(MPI_Isend(&vals[t], 1, MPI_INT, 1, 10 + t, MPI_COMM_WORLD, &rq[t]));
        }
        for (int t = 0; t < TAGS; t++) {
            vals[TAGS + t] = 200 + t;
            MPI_CHECK(
                MPI_Isend(&vals[TAGS + t], 1, MPI_INT, 1, 10 + t, MPI_COMM_WORLD, &rq[TAGS + t]));
        }
        MPI_CHECK(MPI_Waitall(2 * TAGS, rq, MPI_STATUSES_IGNORE));
    } else if (rank == 1) {
        for (int t = TAGS - 1; t >= 0; t--) {
            int v = -1;
            MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, 0, 10 + t, MPI_COMM_WORLD, &st));
            CHECK(v == 100 + t && st.MPI_TAG == 10 + t, "tag %d: got %d", 10 + t, v);
        }
        for (int t = 0; t < TAGS; t++) {
            int v = -1;
            MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
            CHECK(v == 200 + t && st.MPI_TAG == 10 + t, "ANY_TAG #%d: got %d tag %d", t, v,
                  st.MPI_TAG);
        }
    }

    /* 4. posted receives match in posting order (same envelope) */
    if (rank == 1) {
        int v[4] = {-1, -1, -1, -1};
        MPI_Request rq[4];
        for (int i = 0; i < 4; i++)
            MPI_CHECK(MPI_Irecv(&v[i], 1, MPI_INT, i % 2 ? MPI_ANY_SOURCE : 0,
                                i % 2 ? MPI_ANY_TAG : 3, MPI_COMM_WORLD, &rq[i]));
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        MPI_CHECK(MPI_Waitall(4, rq, MPI_STATUSES_IGNORE));
        for (int i = 0; i < 4; i++)
            CHECK(v[i] == i, "posted receive %d got message %d", i, v[i]);
    } else {
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        if (rank == 0)
            for (int i = 0; i < 4; i++)
                MPI_CHECK(MPI_Send(&i, 1, MPI_INT, 1, 3, MPI_COMM_WORLD));
    }

    free(big);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
