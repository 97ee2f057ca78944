/* ranks: 2 3 */
/* With MPI_ERRORS_RETURN set, each invalid argument makes the call return a code of the right
 * class (checked with MPI_Error_class), and the communicator stays usable afterwards:
 * ERR_RANK, ERR_TAG, ERR_COUNT, ERR_TYPE, ERR_COMM (MPI_COMM_NULL), ERR_BUFFER (NULL with
 * count > 0), ERR_REQUEST, ERR_ROOT, ERR_OP, ERR_ARG, ERR_TRUNCATE (Recv, Wait, Waitall with
 * ERR_IN_STATUS), ERR_ERRHANDLER. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    int buf[16] = {0}, rbuf[16] = {0};
    MPI_Status st;
    MPI_Request req = MPI_REQUEST_NULL;

    MPI_Errhandler eh = MPI_ERRHANDLER_NULL;
    MPI_CHECK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh));
    CHECK(eh == MPI_ERRORS_RETURN, "Comm_get_errhandler returned %p", (void *)eh);

    /* MPI_ERR_RANK */
    CHECK_ERR_CLASS(MPI_Send(buf, 1, MPI_INT, size, 0, MPI_COMM_WORLD), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Send(buf, 1, MPI_INT, -5, 0, MPI_COMM_WORLD), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Send(buf, 1, MPI_INT, MPI_ANY_SOURCE, 0, MPI_COMM_WORLD), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Isend(buf, 1, MPI_INT, size + 3, 0, MPI_COMM_WORLD, &req), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Recv(buf, 1, MPI_INT, size, 0, MPI_COMM_WORLD, &st), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Irecv(buf, 1, MPI_INT, -7, 0, MPI_COMM_WORLD, &req), MPI_ERR_RANK);

    /* MPI_ERR_TAG: negative (other than ANY_TAG on receives) and above MPI_TAG_UB */
    int *tag_ub = NULL, flag = 0;
    MPI_CHECK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag));
    CHECK(flag && tag_ub && *tag_ub >= 32767, "MPI_TAG_UB %d", tag_ub ? *tag_ub : -1);
    CHECK_ERR_CLASS(MPI_Send(buf, 1, MPI_INT, 0, -7, MPI_COMM_WORLD), MPI_ERR_TAG);
    CHECK_ERR_CLASS(MPI_Send(buf, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD), MPI_ERR_TAG);
    CHECK_ERR_CLASS(MPI_Recv(buf, 1, MPI_INT, 0, -7, MPI_COMM_WORLD, &st), MPI_ERR_TAG);
    CHECK_ERR_CLASS(MPI_Irecv(buf, 1, MPI_INT, 0, -100, MPI_COMM_WORLD, &req), MPI_ERR_TAG);
    if (*tag_ub < 2147483647)
        CHECK_ERR_CLASS(MPI_Send(buf, 1, MPI_INT, 0, *tag_ub + 1, MPI_COMM_WORLD), MPI_ERR_TAG);

    /* MPI_ERR_COUNT */
    CHECK_ERR_CLASS(MPI_Send(buf, -1, MPI_INT, 0, 0, MPI_COMM_WORLD), MPI_ERR_COUNT);
    CHECK_ERR_CLASS(MPI_Recv(buf, -3, MPI_INT, 0, 0, MPI_COMM_WORLD, &st), MPI_ERR_COUNT);
    CHECK_ERR_CLASS(MPI_Bcast(buf, -1, MPI_INT, 0, MPI_COMM_WORLD), MPI_ERR_COUNT);

    /* MPI_ERR_TYPE */
    CHECK_ERR_CLASS(MPI_Send(buf, 1, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_WORLD), MPI_ERR_TYPE);
    CHECK_ERR_CLASS(MPI_Recv(buf, 1, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_WORLD, &st), MPI_ERR_TYPE);
    int tsize = 0;
    CHECK_ERR_CLASS(MPI_Type_size(MPI_DATATYPE_NULL, &tsize), MPI_ERR_TYPE);

    /* MPI_ERR_COMM: raised on MPI_COMM_SELF, whose handler also returns */
    CHECK_ERR_CLASS(MPI_Send(buf, 1, MPI_INT, 0, 0, MPI_COMM_NULL), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Recv(buf, 1, MPI_INT, 0, 0, MPI_COMM_NULL, &st), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Barrier(MPI_COMM_NULL), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Bcast(buf, 1, MPI_INT, 0, MPI_COMM_NULL), MPI_ERR_COMM);
    int dummy;
    CHECK_ERR_CLASS(MPI_Comm_rank(MPI_COMM_NULL, &dummy), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_size(MPI_COMM_NULL, &dummy), MPI_ERR_COMM);

    /* MPI_ERR_BUFFER: NULL buffer with count > 0 */
    CHECK_ERR_CLASS(MPI_Send(NULL, 4, MPI_INT, 0, 0, MPI_COMM_WORLD), MPI_ERR_BUFFER);
    CHECK_ERR_CLASS(MPI_Recv(NULL, 4, MPI_INT, 0, 0, MPI_COMM_WORLD, &st), MPI_ERR_BUFFER);

    /* MPI_ERR_REQUEST */
    req = MPI_REQUEST_NULL;
    CHECK_ERR_CLASS(MPI_Start(&req), MPI_ERR_REQUEST);
    req = MPI_REQUEST_NULL;
    CHECK_ERR_CLASS(MPI_Request_free(&req), MPI_ERR_REQUEST);

    /* MPI_ERR_ROOT (every rank detects it locally) */
    CHECK_ERR_CLASS(MPI_Bcast(buf, 1, MPI_INT, size, MPI_COMM_WORLD), MPI_ERR_ROOT);
    CHECK_ERR_CLASS(MPI_Bcast(buf, 1, MPI_INT, -1, MPI_COMM_WORLD), MPI_ERR_ROOT);
    CHECK_ERR_CLASS(MPI_Reduce(buf, rbuf, 1, MPI_INT, MPI_SUM, size + 1, MPI_COMM_WORLD),
                    MPI_ERR_ROOT);

    /* MPI_ERR_OP: null op, and an op not defined for the type */
    CHECK_ERR_CLASS(MPI_Reduce(buf, rbuf, 1, MPI_INT, MPI_OP_NULL, 0, MPI_COMM_WORLD), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Allreduce(buf, rbuf, 1, MPI_INT, MPI_OP_NULL, MPI_COMM_WORLD), MPI_ERR_OP);
    float fbuf[2] = {1.0f, 2.0f};
    CHECK_ERR_CLASS(MPI_Allreduce(fbuf, fbuf + 1, 1, MPI_FLOAT, MPI_BAND, MPI_COMM_WORLD),
                    MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Allreduce(buf, rbuf, 1, MPI_2INT, MPI_SUM, MPI_COMM_WORLD), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Allreduce(buf, rbuf, 1, MPI_INT, MPI_MAXLOC, MPI_COMM_WORLD), MPI_ERR_OP);

    /* MPI_ERR_ARG: NULL output arguments */
    CHECK_ERR_CLASS(MPI_Comm_rank(MPI_COMM_WORLD, NULL), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Comm_size(MPI_COMM_WORLD, NULL), MPI_ERR_ARG);

    /* MPI_ERR_ERRHANDLER */
    CHECK_ERR_CLASS(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRHANDLER_NULL),
                    MPI_ERR_ERRHANDLER);

    /* MPI_ERR_TRUNCATE: a receive smaller than the message (blocking, Wait, Waitall) */
    if (rank == 0) {
        for (int i = 0; i < 16; i++)
            buf[i] = i + 1;
        MPI_CHECK(MPI_Send(buf, 10, MPI_INT, 1, 5, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Send(buf, 10, MPI_INT, 1, 6, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Send(buf, 10, MPI_INT, 1, 7, MPI_COMM_WORLD));
    } else if (rank == 1) {
        CHECK_ERR_CLASS(MPI_Recv(rbuf, 5, MPI_INT, 0, 5, MPI_COMM_WORLD, &st), MPI_ERR_TRUNCATE);
        CHECK(st.MPI_SOURCE == 0 && st.MPI_TAG == 5, "truncated status %d %d", st.MPI_SOURCE,
              st.MPI_TAG);
        MPI_CHECK(MPI_Irecv(rbuf, 3, MPI_INT, 0, 6, MPI_COMM_WORLD, &req));
        CHECK_ERR_CLASS(MPI_Wait(&req, &st), MPI_ERR_TRUNCATE);
        CHECK(req == MPI_REQUEST_NULL);
        MPI_Request reqs[2];
        MPI_Status sts[2];
        MPI_CHECK(MPI_Irecv(rbuf, 2, MPI_INT, 0, 7, MPI_COMM_WORLD, &reqs[0]));
        reqs[1] = MPI_REQUEST_NULL;
        CHECK_ERR_CLASS(MPI_Waitall(2, reqs, sts), MPI_ERR_IN_STATUS);
        CHECK(tu_class_of(sts[0].MPI_ERROR) == MPI_ERR_TRUNCATE, "status error %d",
              sts[0].MPI_ERROR);
        CHECK(rbuf[0] == 1 && rbuf[1] == 2);
    }

    /* Still usable. */
    int sum = -1;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
    CHECK(sum == size * (size - 1) / 2);
    int next = (rank + 1) % size, prev = (rank + size - 1) % size, got = -1;
    MPI_CHECK(MPI_Sendrecv(&rank, 1, MPI_INT, next, 1, &got, 1, MPI_INT, prev, 1, MPI_COMM_WORLD,
                           &st));
    CHECK(got == prev);

    MPI_CHECK(MPI_Finalize());
    return 0;
}
