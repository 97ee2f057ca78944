/* ranks: 1 2 3 */
/* MPI-4.1's MPI_Request_get_status_any/all/some (mpi4py.util.pkl5 uses them): they report
 * completion like Testany/Testall/Testsome but leave the requests alive (not set to
 * MPI_REQUEST_NULL, still to be waited for); MPI_REQUEST_NULL counts as complete with an empty
 * status (MPI_ERROR = MPI_SUCCESS, also from MPI_Testany), and arrays with no active request
 * give MPI_UNDEFINED. Also MPI_Comm_get_parent,
 * which is MPI_COMM_NULL in a process mpirun started. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    int flag = -1, idx = -2, outcount = -2, indices[3];
    MPI_Status st, sts[3];

    MPI_Comm parent = MPI_COMM_WORLD;
    MPI_CHECK(MPI_Comm_get_parent(&parent));
    CHECK(parent == MPI_COMM_NULL, "MPI_Comm_get_parent is not MPI_COMM_NULL");

    /* Only null requests: complete, no index. */
    MPI_Request nul[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    st.MPI_ERROR = MPI_ERR_OTHER;
    MPI_CHECK(MPI_Request_get_status_any(2, nul, &idx, &flag, &st));
    CHECK(flag == 1 && idx == MPI_UNDEFINED, "get_status_any(nulls): flag %d index %d", flag, idx);
    /* The empty status: MPI_ERROR is MPI_SUCCESS too (MPI-4.1 3.7.3). */
    CHECK(st.MPI_SOURCE == MPI_ANY_SOURCE && st.MPI_TAG == MPI_ANY_TAG && st.MPI_ERROR == MPI_SUCCESS,
          "get_status_any(nulls): status not empty (error %d)", st.MPI_ERROR);
    st.MPI_ERROR = MPI_ERR_OTHER;
    MPI_CHECK(MPI_Testany(2, nul, &idx, &flag, &st));
    CHECK(flag == 1 && idx == MPI_UNDEFINED && st.MPI_ERROR == MPI_SUCCESS,
          "Testany(nulls): flag %d index %d error %d", flag, idx, st.MPI_ERROR);
    MPI_CHECK(MPI_Request_get_status_some(2, nul, &outcount, indices, sts));
    CHECK(outcount == MPI_UNDEFINED, "get_status_some(nulls): outcount %d", outcount);
    flag = -1;
    MPI_CHECK(MPI_Request_get_status_all(2, nul, &flag, sts));
    CHECK(flag == 1, "get_status_all(nulls): flag %d", flag);
    CHECK(sts[1].MPI_SOURCE == MPI_ANY_SOURCE && sts[1].MPI_TAG == MPI_ANY_TAG,
          "get_status_all(nulls): status not empty");

    /* rq[0]: a receive nobody matches (tag 99); rq[1]: a receive from prev; rq[2]: the send. */
    int in = -1, out = 1000 + rank, never = 0;
    MPI_Request rq[3];
    MPI_CHECK(MPI_Irecv(&never, 1, MPI_INT, prev, 99, MPI_COMM_WORLD, &rq[0]));
    MPI_CHECK(MPI_Irecv(&in, 1, MPI_INT, prev, 7, MPI_COMM_WORLD, &rq[1]));
    MPI_CHECK(MPI_Isend(&out, 1, MPI_INT, next, 7, MPI_COMM_WORLD, &rq[2]));

    /* Not all complete while rq[0] is pending. */
    MPI_CHECK(MPI_Request_get_status_all(3, rq, &flag, MPI_STATUSES_IGNORE));
    CHECK(flag == 0, "get_status_all with a pending receive: flag %d", flag);

    /* Polling rq[1..2] until complete; the handles stay. */
    MPI_Request pair[2] = {rq[1], rq[2]};
    double t0 = MPI_Wtime();
    do {
        MPI_CHECK(MPI_Request_get_status_all(2, pair, &flag, sts));
        CHECK(MPI_Wtime() - t0 < 30, "get_status_all never reported completion");
    } while (!flag);
    CHECK(pair[0] == rq[1] && pair[1] == rq[2], "get_status_all changed the handles");
    int count = -1;
    MPI_CHECK(MPI_Get_count(&sts[0], MPI_INT, &count));
    CHECK(sts[0].MPI_SOURCE == prev && sts[0].MPI_TAG == 7 && count == 1,
          "get_status_all: receive status source %d tag %d count %d", sts[0].MPI_SOURCE,
          sts[0].MPI_TAG, count);
    CHECK(in == 1000 + prev, "received %d, expected %d", in, 1000 + prev);

    /* any: skips the pending rq[0], reports rq[1] (the first complete one), keeps handles. */
    MPI_Request keep1 = rq[1];
    MPI_CHECK(MPI_Request_get_status_any(3, rq, &idx, &flag, &st));
    CHECK(flag == 1 && idx == 1, "get_status_any: flag %d index %d", flag, idx);
    CHECK(st.MPI_SOURCE == prev && st.MPI_TAG == 7, "get_status_any: status source %d tag %d",
          st.MPI_SOURCE, st.MPI_TAG);
    CHECK(rq[1] == keep1, "get_status_any freed the request");

    /* some: rq[1] and rq[2] complete, rq[0] not. */
    MPI_CHECK(MPI_Request_get_status_some(3, rq, &outcount, indices, sts));
    CHECK(outcount == 2 && indices[0] == 1 && indices[1] == 2,
          "get_status_some: outcount %d", outcount);
    CHECK(sts[0].MPI_SOURCE == prev, "get_status_some: status source %d", sts[0].MPI_SOURCE);

    /* The requests are still alive: completing them frees them. */
    MPI_CHECK(MPI_Waitall(2, &rq[1], MPI_STATUSES_IGNORE));
    CHECK(rq[1] == MPI_REQUEST_NULL && rq[2] == MPI_REQUEST_NULL);
    MPI_CHECK(MPI_Cancel(&rq[0]));
    MPI_CHECK(MPI_Wait(&rq[0], &st));
    int cancelled = 0;
    MPI_CHECK(MPI_Test_cancelled(&st, &cancelled));
    CHECK(cancelled, "the unmatched receive was not cancelled");

    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("p2p_get_status: ok\n");
    return 0;
}
