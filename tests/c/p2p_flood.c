/* ranks: 2 3 4 */
/* timeout: 90 */
/* Many-to-one flood: every other rank sends its share of 10000 small messages (mixed tags and
 * sizes up to 64 bytes) to rank 0, which starts receiving only after a delay, so they pile up
 * unexpected. Rank 0 receives them with ANY_SOURCE/ANY_TAG and checks each sender's order
 * and payload; then a second flood on one tag with ANY_SOURCE. */
#include "testutil.h"

#define TOTAL 10000

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int senders = size - 1, per = TOTAL / senders;
    MPI_Status st;

    if (rank == 0) {
        tu_sleep_ms(300);
        int next_seq[64] = {0};
        unsigned char buf[64];
        for (int i = 0; i < per * senders; i++) {
            MPI_CHECK(
                MPI_Recv(buf, 64, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
            int src = st.MPI_SOURCE, n = -1, seq;
            CHECK(src > 0 && src < size, "source %d", src);
            MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &n));
            CHECK(n >= 4 && n <= 64, "count %d", n);
            memcpy(&seq, buf, 4);
            CHECK(seq >= 0 && seq < per, "from %d: sequence %d", src, seq);
            CHECK(n == 4 + seq % 61, "from %d message %d: %d bytes", src, seq, n);
            CHECK(st.MPI_TAG == 5 + seq % 2, "from %d message %d: tag %d", src, seq, st.MPI_TAG);
            for (int k = 4; k < n; k++)
                CHECK(buf[k] == (unsigned char)(src + seq + k), "payload");
            /* a wildcard receive takes each sender's oldest message */
            CHECK(seq == next_seq[src], "from %d: message %d, expected %d", src, seq,
                  next_seq[src]);
            next_seq[src]++;
        }
        for (int s = 1; s < size; s++)
            CHECK(next_seq[s] == per, "from %d: %d messages, expected %d", s, next_seq[s], per);
        /* nothing more */
        int flag;
        MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
        CHECK(!flag);
    } else {
        unsigned char buf[64];
        for (int seq = 0; seq < per; seq++) {
            int n = 4 + seq % 61;
            memcpy(buf, &seq, 4);
            for (int k = 4; k < n; k++)
                buf[k] = (unsigned char)(rank + seq + k);
            MPI_CHECK(MPI_Send(buf, n, MPI_BYTE, 0, 5 + seq % 2, MPI_COMM_WORLD));
        }
    }

    /* Order check per sender and tag: a second flood with one tag, sequence must increase. */
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) {
        int last[64];
        for (int s = 0; s < 64; s++)
            last[s] = -1;
        tu_sleep_ms(100);
        for (int i = 0; i < per * senders; i++) {
            int v[2];
            MPI_CHECK(MPI_Recv(v, 2, MPI_INT, MPI_ANY_SOURCE, 9, MPI_COMM_WORLD, &st));
            CHECK(v[0] == st.MPI_SOURCE && v[1] == last[v[0]] + 1, "from %d: %d after %d",
                  st.MPI_SOURCE, v[1], last[v[0]]);
            last[v[0]] = v[1];
        }
    } else {
        for (int seq = 0; seq < per; seq++) {
            int v[2] = {rank, seq};
            MPI_CHECK(MPI_Send(v, 2, MPI_INT, 0, 9, MPI_COMM_WORLD));
        }
    }

    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
