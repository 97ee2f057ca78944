/* ranks: 1 2 */
/* A user error handler made with MPI_Comm_create_errhandler is called with the communicator
 * and the error code (of the right class); when the handler returns, the call returns (the
 * standard leaves its return value open: MPICH returns MPI_SUCCESS, so either that or the
 * handler's code is accepted); Comm_get_errhandler
 * returns it, Comm_call_errhandler invokes it, Errhandler_free releases it. */
#include "testutil.h"

static int calls = 0;
static int last_code = MPI_SUCCESS;
static MPI_Comm last_comm = MPI_COMM_NULL;

static void handler(MPI_Comm *comm, int *code, ...)
{
    calls++;
    last_code = *code;
    last_comm = *comm;
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int size = tu_size(), buf[4] = {0};

    MPI_Errhandler eh = MPI_ERRHANDLER_NULL, got = MPI_ERRHANDLER_NULL;
    MPI_CHECK(MPI_Comm_create_errhandler(handler, &eh));
    CHECK(eh != MPI_ERRHANDLER_NULL);
    MPI_CHECK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &got));
    CHECK(got == MPI_ERRORS_ARE_FATAL, "default handler on WORLD is %p", (void *)got);
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, eh));
    MPI_CHECK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &got));
    CHECK(got == eh);
    MPI_CHECK(MPI_Errhandler_free(&got));
    CHECK(got == MPI_ERRHANDLER_NULL);

    int rc = MPI_Send(buf, 1, MPI_INT, size, 0, MPI_COMM_WORLD);
    CHECK(calls == 1, "handler called %d times", calls);
    CHECK(tu_class_of(last_code) == MPI_ERR_RANK, "handler got code %d class %d", last_code,
          tu_class_of(last_code));
    CHECK(last_comm == MPI_COMM_WORLD, "handler got comm %p", (void *)last_comm);
    CHECK(rc == MPI_SUCCESS || rc == last_code, "call returned %d, handler saw %d", rc, last_code);

    rc = MPI_Send(buf, 1, MPI_INT, 0, -9, MPI_COMM_WORLD);
    CHECK(calls == 2 && tu_class_of(last_code) == MPI_ERR_TAG);

    rc = MPI_Bcast(buf, 1, MPI_INT, -1, MPI_COMM_WORLD);
    CHECK(calls == 3 && tu_class_of(last_code) == MPI_ERR_ROOT);

    MPI_CHECK(MPI_Comm_call_errhandler(MPI_COMM_WORLD, MPI_ERR_OTHER));
    CHECK(calls == 4 && last_code == MPI_ERR_OTHER, "call_errhandler: calls %d code %d", calls,
          last_code);

    /* Successful calls do not invoke it. */
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    CHECK(calls == 4);

    /* The handler stays attached to WORLD after the handle was freed. */
    rc = MPI_Recv(buf, 1, MPI_INT, size + 2, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(calls == 5 && tu_class_of(last_code) == MPI_ERR_RANK);

    /* A handler on SELF. */
    MPI_Errhandler eh2;
    MPI_CHECK(MPI_Comm_create_errhandler(handler, &eh2));
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_SELF, eh2));
    MPI_CHECK(MPI_Errhandler_free(&eh2));
    rc = MPI_Send(buf, 1, MPI_INT, 1, 0, MPI_COMM_SELF);
    CHECK(calls == 6 && tu_class_of(last_code) == MPI_ERR_RANK && last_comm == MPI_COMM_SELF);

    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
