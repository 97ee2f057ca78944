/* ranks: 1 2 3 4 */
/* Completion calls: Wait/Test (also on MPI_REQUEST_NULL: empty status), Waitany/Testany,
 * Waitall/Testall, Waitsome/Testsome, each with MPI_REQUEST_NULL entries, all-null arrays
 * (MPI_UNDEFINED index/outcount) and MPI_STATUS(ES)_IGNORE; Request_free on an active send;
 * Request_get_status (does not free the request); Cancel of a posted receive + Test_cancelled
 * (and a completed receive is not cancelled). */
#include "testutil.h"

#define NR 6

static void check_empty(MPI_Status *st, const char *what)
{
    int count = -1;
    MPI_CHECK(MPI_Get_count(st, MPI_INT, &count));
    CHECK(st->MPI_SOURCE == MPI_ANY_SOURCE && st->MPI_TAG == MPI_ANY_TAG && count == 0,
          "%s: status not empty (source %d tag %d count %d)", what, st->MPI_SOURCE, st->MPI_TAG,
          count);
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    MPI_Status st, sts[2 * NR];
    MPI_Request rq[2 * NR], nul = MPI_REQUEST_NULL;
    int flag, idx, outcount, indices[2 * NR];
    int out[NR], in[NR];

    /* --- MPI_REQUEST_NULL alone --- */
    MPI_CHECK(MPI_Wait(&nul, &st));
    check_empty(&st, "Wait(REQUEST_NULL)");
    flag = 0;
    MPI_CHECK(MPI_Test(&nul, &flag, &st));
    CHECK(flag == 1);
    check_empty(&st, "Test(REQUEST_NULL)");
    MPI_CHECK(MPI_Test(&nul, &flag, MPI_STATUS_IGNORE));
    for (int i = 0; i < NR; i++)
        rq[i] = MPI_REQUEST_NULL;
    MPI_CHECK(MPI_Waitany(NR, rq, &idx, &st));
    CHECK(idx == MPI_UNDEFINED, "Waitany on nulls gave index %d", idx);
    check_empty(&st, "Waitany(nulls)");
    MPI_CHECK(MPI_Waitany(0, NULL, &idx, MPI_STATUS_IGNORE));
    CHECK(idx == MPI_UNDEFINED);
    flag = 0;
    MPI_CHECK(MPI_Testany(NR, rq, &idx, &flag, &st));
    CHECK(flag == 1 && idx == MPI_UNDEFINED, "Testany on nulls: flag %d index %d", flag, idx);
    MPI_CHECK(MPI_Waitall(NR, rq, MPI_STATUSES_IGNORE));
    MPI_CHECK(MPI_Waitall(0, NULL, MPI_STATUSES_IGNORE));
    MPI_CHECK(MPI_Waitall(NR, rq, sts));
    for (int i = 0; i < NR; i++)
        check_empty(&sts[i], "Waitall(nulls)");
    flag = 0;
    MPI_CHECK(MPI_Testall(NR, rq, &flag, MPI_STATUSES_IGNORE));
    CHECK(flag == 1);
    MPI_CHECK(MPI_Waitsome(NR, rq, &outcount, indices, sts));
    CHECK(outcount == MPI_UNDEFINED, "Waitsome on nulls: outcount %d", outcount);
    MPI_CHECK(MPI_Testsome(NR, rq, &outcount, indices, MPI_STATUSES_IGNORE));
    CHECK(outcount == MPI_UNDEFINED, "Testsome on nulls: outcount %d", outcount);
    MPI_CHECK(MPI_Request_get_status(MPI_REQUEST_NULL, &flag, &st));
    CHECK(flag == 1);
    check_empty(&st, "Request_get_status(REQUEST_NULL)");

    /* --- Waitany with null entries mixed in: receives at even slots --- */
    for (int i = 0; i < 2 * NR; i++)
        rq[i] = MPI_REQUEST_NULL;
    for (int i = 0; i < NR; i++) {
        out[i] = rank * 10 + i;
        in[i] = -1;
    }
    for (int i = 0; i < NR; i += 2)
        MPI_CHECK(MPI_Irecv(&in[i], 1, MPI_INT, prev, 100 + i, MPI_COMM_WORLD, &rq[i]));
    for (int i = NR - 2; i >= 0; i -= 2)
        MPI_CHECK(MPI_Isend(&out[i], 1, MPI_INT, next, 100 + i, MPI_COMM_WORLD, &rq[NR + i]));
    {
        int seen[NR] = {0};
        for (int k = 0; k < NR / 2; k++) {
            MPI_CHECK(MPI_Waitany(NR, rq, &idx, &st));
            CHECK(idx >= 0 && idx < NR && idx % 2 == 0 && !seen[idx], "Waitany index %d", idx);
            seen[idx] = 1;
            CHECK(rq[idx] == MPI_REQUEST_NULL);
            CHECK_STATUS(st, prev, 100 + idx, MPI_INT, 1);
            CHECK(in[idx] == prev * 10 + idx);
        }
        MPI_CHECK(MPI_Waitany(NR, rq, &idx, MPI_STATUS_IGNORE));
        CHECK(idx == MPI_UNDEFINED);
        /* sends: Waitall with nulls at odd slots, statuses ignored */
        MPI_CHECK(MPI_Waitall(NR, rq + NR, MPI_STATUSES_IGNORE));
    }

    /* --- Testany loop --- */
    for (int i = 0; i < 2 * NR; i++)
        rq[i] = MPI_REQUEST_NULL;
    for (int i = 0; i < NR; i++)
        in[i] = -1;
    for (int i = 1; i < NR; i += 2)
        MPI_CHECK(MPI_Irecv(&in[i], 1, MPI_INT, prev, 200 + i, MPI_COMM_WORLD, &rq[i]));
    for (int i = 1; i < NR; i += 2)
        MPI_CHECK(MPI_Isend(&out[i], 1, MPI_INT, next, 200 + i, MPI_COMM_WORLD, &rq[NR + i]));
    {
        int done = 0, seen[NR] = {0};
        while (done < NR / 2) {
            flag = 0;
            MPI_CHECK(MPI_Testany(NR, rq, &idx, &flag, &st));
            if (!flag)
                continue;
            CHECK(idx != MPI_UNDEFINED && idx % 2 == 1 && !seen[idx], "Testany index %d", idx);
            seen[idx] = 1;
            CHECK_STATUS(st, prev, 200 + idx, MPI_INT, 1);
            CHECK(in[idx] == prev * 10 + idx);
            done++;
        }
        MPI_CHECK(MPI_Testany(NR, rq, &idx, &flag, &st));
        CHECK(flag == 1 && idx == MPI_UNDEFINED);
        flag = 0;
        while (!flag)
            MPI_CHECK(MPI_Testall(NR, rq + NR, &flag, sts));
        for (int i = 0; i < NR; i++)
            CHECK(rq[NR + i] == MPI_REQUEST_NULL);
    }

    /* --- Waitsome / Testsome --- */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NR; i++) {
            in[i] = -1;
            rq[i] = MPI_REQUEST_NULL;
        }
        for (int i = 0; i < NR; i++)
            if (i != 2) /* one null entry */
                MPI_CHECK(MPI_Irecv(&in[i], 1, MPI_INT, prev, 300 + i, MPI_COMM_WORLD, &rq[i]));
        for (int i = 0; i < NR; i++)
            if (i != 2)
                MPI_CHECK(
                    MPI_Isend(&out[i], 1, MPI_INT, next, 300 + i, MPI_COMM_WORLD, &rq[NR + i]));
            else
                rq[NR + i] = MPI_REQUEST_NULL;
        int done = 0, seen[NR] = {0};
        while (done < NR - 1) {
            if (round == 0)
                MPI_CHECK(MPI_Waitsome(NR, rq, &outcount, indices, sts));
            else
                MPI_CHECK(MPI_Testsome(NR, rq, &outcount, indices, sts));
            CHECK(outcount != MPI_UNDEFINED && outcount >= (round == 0 ? 1 : 0) &&
                      outcount <= NR - 1 - done,
                  "%s outcount %d", round ? "Testsome" : "Waitsome", outcount);
            for (int k = 0; k < outcount; k++) {
                int i = indices[k];
                CHECK(i >= 0 && i < NR && i != 2 && !seen[i], "index %d", i);
                seen[i] = 1;
                CHECK(rq[i] == MPI_REQUEST_NULL);
                CHECK_STATUS(sts[k], prev, 300 + i, MPI_INT, 1);
                CHECK(in[i] == prev * 10 + i);
            }
            done += outcount;
        }
        MPI_CHECK(MPI_Waitsome(NR, rq, &outcount, indices, sts));
        CHECK(outcount == MPI_UNDEFINED);
        done = 0;
        while (done < NR - 1) {
            MPI_CHECK(MPI_Testsome(NR, rq + NR, &outcount, indices, MPI_STATUSES_IGNORE));
            CHECK(outcount != MPI_UNDEFINED);
            done += outcount;
        }
    }

    /* --- Request_free on an active send; the message still arrives --- */
    {
        static int big[50000];
        for (int i = 0; i < 50000; i++)
            big[i] = i + rank;
        MPI_Request sreq;
        int small = rank + 40;
        MPI_CHECK(MPI_Isend(&small, 1, MPI_INT, next, 400, MPI_COMM_WORLD, &sreq));
        MPI_CHECK(MPI_Request_free(&sreq));
        CHECK(sreq == MPI_REQUEST_NULL);
        MPI_CHECK(MPI_Isend(big, 50000, MPI_INT, next, 401, MPI_COMM_WORLD, &sreq));
        MPI_CHECK(MPI_Request_free(&sreq));
        CHECK(sreq == MPI_REQUEST_NULL);
        static int bin[50000];
        int got = -1;
        MPI_CHECK(MPI_Recv(&got, 1, MPI_INT, prev, 400, MPI_COMM_WORLD, &st));
        CHECK(got == prev + 40);
        MPI_CHECK(MPI_Recv(bin, 50000, MPI_INT, prev, 401, MPI_COMM_WORLD, &st));
        for (int i = 0; i < 50000; i++)
            CHECK(bin[i] == i + prev);
        /* the receiver has the data: after the barrier the send buffers are free */
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    }

    /* --- Request_get_status: polls without freeing --- */
    {
        int v = rank * 3, got = -1;
        MPI_Request r;
        MPI_CHECK(MPI_Irecv(&got, 1, MPI_INT, prev, 500, MPI_COMM_WORLD, &r));
        flag = 0;
        MPI_CHECK(MPI_Request_get_status(r, &flag, &st));
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        CHECK(!flag, "Request_get_status: receive complete before its message was sent");
        MPI_CHECK(MPI_Send(&v, 1, MPI_INT, next, 500, MPI_COMM_WORLD));
        while (!flag)
            MPI_CHECK(MPI_Request_get_status(r, &flag, &st));
        CHECK(r != MPI_REQUEST_NULL, "Request_get_status freed the request");
        CHECK_STATUS(st, prev, 500, MPI_INT, 1);
        MPI_CHECK(MPI_Request_get_status(r, &flag, &st)); /* again: still there */
        CHECK(flag && r != MPI_REQUEST_NULL);
        MPI_CHECK(MPI_Wait(&r, &st));
        CHECK(r == MPI_REQUEST_NULL);
        CHECK_STATUS(st, prev, 500, MPI_INT, 1);
        CHECK(got == prev * 3);
    }

    /* --- Cancel a posted receive --- */
    {
        int got = -5;
        MPI_Request r;
        MPI_CHECK(MPI_Irecv(&got, 1, MPI_INT, MPI_ANY_SOURCE, 999, MPI_COMM_WORLD, &r));
        MPI_CHECK(MPI_Cancel(&r));
        CHECK(r != MPI_REQUEST_NULL);
        MPI_CHECK(MPI_Wait(&r, &st));
        CHECK(r == MPI_REQUEST_NULL);
        flag = 0;
        MPI_CHECK(MPI_Test_cancelled(&st, &flag));
        CHECK(flag == 1, "the receive was not cancelled");
        CHECK(got == -5);
        /* a cancelled receive does not steal a later message */
        int v = 4242;
        MPI_Request sr;
        MPI_CHECK(MPI_Isend(&v, 1, MPI_INT, 0, 999, MPI_COMM_SELF, &sr));
        MPI_CHECK(MPI_Irecv(&got, 1, MPI_INT, 0, 999, MPI_COMM_SELF, &r));
        MPI_CHECK(MPI_Cancel(&r)); /* may or may not succeed: the message is there */
        MPI_CHECK(MPI_Wait(&r, &st));
        MPI_CHECK(MPI_Test_cancelled(&st, &flag));
        if (flag) {
            CHECK(got == -5);
            MPI_CHECK(MPI_Recv(&got, 1, MPI_INT, 0, 999, MPI_COMM_SELF, &st));
        }
        CHECK(got == 4242);
        MPI_CHECK(MPI_Wait(&sr, MPI_STATUS_IGNORE));
        /* a receive that completed normally is not cancelled */
        MPI_CHECK(MPI_Sendrecv(&v, 1, MPI_INT, next, 998, &got, 1, MPI_INT, prev, 998,
                               MPI_COMM_WORLD, &st));
        MPI_CHECK(MPI_Test_cancelled(&st, &flag));
        CHECK(flag == 0);
        /* cancelling twice, and with Test */
        MPI_CHECK(MPI_Irecv(&got, 1, MPI_INT, prev, 997, MPI_COMM_WORLD, &r));
        MPI_CHECK(MPI_Cancel(&r));
        flag = 0;
        while (!flag)
            MPI_CHECK(MPI_Test(&r, &flag, &st));
        MPI_CHECK(MPI_Test_cancelled(&st, &flag));
        CHECK(flag == 1);
    }

    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
    CHECK(!flag, "a message is left over: source %d tag %d", st.MPI_SOURCE, st.MPI_TAG);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
