/* ranks: 1 2 */
/* MPI_Error_class and MPI_Error_string for every error class 0..MPI_ERR_ABI (62): a class is
 * its own class, its string is non-empty, NUL-terminated and fits MPI_MAX_ERROR_STRING. Also
 * checks the class constants' values (the standard ABI fixes them). */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));

    /* Fixed by the standard ABI. */
    CHECK(MPI_SUCCESS == 0 && MPI_ERR_BUFFER == 1 && MPI_ERR_COUNT == 2 && MPI_ERR_TYPE == 3 &&
          MPI_ERR_TAG == 4 && MPI_ERR_COMM == 5 && MPI_ERR_RANK == 6 && MPI_ERR_REQUEST == 7 &&
          MPI_ERR_ROOT == 8 && MPI_ERR_GROUP == 9 && MPI_ERR_OP == 10 && MPI_ERR_ARG == 13 &&
          MPI_ERR_UNKNOWN == 14 && MPI_ERR_TRUNCATE == 15 && MPI_ERR_OTHER == 16 &&
          MPI_ERR_INTERN == 17 && MPI_ERR_IN_STATUS == 19 && MPI_ERR_PROC_ABORTED == 58 &&
          MPI_ERR_ERRHANDLER == 61 && MPI_ERR_ABI == 62);
    CHECK(MPI_ERR_LASTCODE >= MPI_ERR_ABI);

    char seen[MPI_ERR_ABI + 1][MPI_MAX_ERROR_STRING];
    for (int cls = MPI_SUCCESS; cls <= MPI_ERR_ABI; cls++) {
        int got = -1;
        MPI_CHECK(MPI_Error_class(cls, &got));
        CHECK(got == cls, "MPI_Error_class(%d) = %d", cls, got);
        char *buf = seen[cls];
        memset(buf, 0x7f, MPI_MAX_ERROR_STRING);
        int len = -1;
        MPI_CHECK(MPI_Error_string(cls, buf, &len));
        CHECK(len > 0 && len < MPI_MAX_ERROR_STRING, "class %d: string length %d", cls, len);
        CHECK(memchr(buf, 0, MPI_MAX_ERROR_STRING) != NULL, "class %d: no NUL", cls);
        CHECK((int)strlen(buf) == len, "class %d: strlen %zu, resultlen %d", cls, strlen(buf),
              len);
    }
    /* A few classes must be told apart by their strings. */
    CHECK(strcmp(seen[MPI_SUCCESS], seen[MPI_ERR_RANK]) != 0);
    CHECK(strcmp(seen[MPI_ERR_RANK], seen[MPI_ERR_TAG]) != 0);
    CHECK(strcmp(seen[MPI_ERR_TRUNCATE], seen[MPI_ERR_COMM]) != 0);

    /* The last code holder. */
    int *lastcode = NULL, flag = 0;
    MPI_CHECK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &lastcode, &flag));
    CHECK(flag == 1 && lastcode != NULL && *lastcode >= MPI_ERR_ABI,
          "MPI_LASTUSEDCODE flag %d value %d", flag, lastcode ? *lastcode : -1);

    MPI_CHECK(MPI_Finalize());
    return 0;
}
