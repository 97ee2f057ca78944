/* ranks: 1 2 */
/* Error handlers for the four kinds of object. MPI_{Comm,Win,File,Session}_create_errhandler
 * make handlers; a handler of one kind set on another kind's object is MPI_ERR_ARG; the
 * predefined handlers go on every kind; MPI_Errhandler_free frees every kind.
 * Files: MPI_FILE_NULL stands for the default file error handler (MPI_ERRORS_RETURN at
 * start), which File_set/get_errhandler change and read and File_call_errhandler calls.
 * Windows: set/get/call on MPI_WIN_NULL are MPI_ERR_WIN (win_basic.c sets them on real windows).
 * Sessions: a session's handler is called by MPI_Session_call_errhandler with the session and
 * the code, and by errors of calls on the session. A handle returned by a get is a reference
 * of its own: freeing it leaves the handler usable through the others. */
#include "testutil.h"

static int file_calls, session_calls, win_calls, comm_calls;
static int last_code;
static MPI_File last_file;
static MPI_Session last_session;

static void file_handler(MPI_File *f, int *code, ...)
{
    file_calls++;
    last_file = *f;
    last_code = *code;
}

static void session_handler(MPI_Session *s, int *code, ...)
{
    session_calls++;
    last_session = *s;
    last_code = *code;
}

static void win_handler(MPI_Win *w, int *code, ...)
{
    (void)w;
    (void)code;
    win_calls++;
}

static void comm_handler(MPI_Comm *c, int *code, ...)
{
    (void)c;
    (void)code;
    comm_calls++;
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int ours = !tu_is_mpich();

    MPI_Errhandler feh, seh, weh, ceh, got;
    MPI_CHECK(MPI_File_create_errhandler(file_handler, &feh));
    MPI_CHECK(MPI_Session_create_errhandler(session_handler, &seh));
    MPI_CHECK(MPI_Win_create_errhandler(win_handler, &weh));
    MPI_CHECK(MPI_Comm_create_errhandler(comm_handler, &ceh));
    CHECK(feh != MPI_ERRHANDLER_NULL && seh != MPI_ERRHANDLER_NULL && weh != MPI_ERRHANDLER_NULL);
    CHECK(feh != seh && seh != weh && weh != ceh);

    /* The default file handler. */
    MPI_CHECK(MPI_File_get_errhandler(MPI_FILE_NULL, &got));
    CHECK(got == MPI_ERRORS_RETURN, "the default file handler is MPI_ERRORS_RETURN");
    MPI_CHECK(MPI_File_set_errhandler(MPI_FILE_NULL, feh));
    MPI_CHECK(MPI_File_get_errhandler(MPI_FILE_NULL, &got));
    CHECK(got == feh);
    MPI_CHECK(MPI_Errhandler_free(&got)); /* a get returns a new reference */
    MPI_CHECK(MPI_File_call_errhandler(MPI_FILE_NULL, MPI_ERR_AMODE));
    CHECK(file_calls == 1 && last_file == MPI_FILE_NULL && tu_class_of(last_code) == MPI_ERR_AMODE,
          "file handler: %d calls, code %d", file_calls, last_code);
    /* Handlers of other kinds do not go on files. */
    CHECK_ERR_CLASS(MPI_File_set_errhandler(MPI_FILE_NULL, ceh), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_File_set_errhandler(MPI_FILE_NULL, seh), MPI_ERR_ARG);
    MPI_CHECK(MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_File_get_errhandler(MPI_FILE_NULL, &got));
    CHECK(got == MPI_ERRORS_RETURN);
    file_calls = 0;
    MPI_CHECK(MPI_File_call_errhandler(MPI_FILE_NULL, MPI_ERR_IO));
    CHECK(file_calls == 0);
    if (ours) {
        /* No file can be opened here, so any other handle is invalid: MPI_ERR_FILE, raised on
         * the default file handler. (MPICH would dereference the made-up handle.) */
        MPI_File bogus = (MPI_File)(intptr_t)0x12345000;
        MPI_CHECK(MPI_File_set_errhandler(MPI_FILE_NULL, feh));
        CHECK_ERR_CLASS(MPI_File_set_errhandler(bogus, feh), MPI_ERR_FILE);
        CHECK(file_calls == 1 && last_file == MPI_FILE_NULL);
        CHECK_ERR_CLASS(MPI_File_get_errhandler(bogus, &got), MPI_ERR_FILE);
        CHECK_ERR_CLASS(MPI_File_call_errhandler(bogus, MPI_ERR_IO), MPI_ERR_FILE);
        CHECK(file_calls == 3);
        MPI_CHECK(MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_RETURN));
        file_calls = 0;
    }

    /* Windows: MPI_WIN_NULL is invalid everywhere (real windows: win_basic.c). */
    CHECK_ERR_CLASS(MPI_Win_set_errhandler(MPI_WIN_NULL, weh), MPI_ERR_WIN);
    CHECK_ERR_CLASS(MPI_Win_get_errhandler(MPI_WIN_NULL, &got), MPI_ERR_WIN);
    CHECK_ERR_CLASS(MPI_Win_call_errhandler(MPI_WIN_NULL, MPI_ERR_OTHER), MPI_ERR_WIN);
    CHECK(win_calls == 0);

    /* Handlers of other kinds do not go on communicators. */
    if (ours) { /* MPICH 5.0.2 does not check the kind here: it sets the handler */
        CHECK_ERR_CLASS(MPI_Comm_set_errhandler(MPI_COMM_SELF, feh), MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Comm_set_errhandler(MPI_COMM_SELF, weh), MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Comm_set_errhandler(MPI_COMM_SELF, seh), MPI_ERR_ARG);
    }
    MPI_CHECK(MPI_Comm_get_errhandler(MPI_COMM_SELF, &got));
    CHECK(got == MPI_ERRORS_RETURN, "a refused set leaves the handler");
    MPI_CHECK(MPI_Errhandler_free(&got));

    /* Sessions. */
    MPI_Session s = MPI_SESSION_NULL;
    MPI_CHECK(MPI_Session_init(MPI_INFO_NULL, seh, &s));
    MPI_CHECK(MPI_Session_get_errhandler(s, &got));
    CHECK(got == seh);
    MPI_CHECK(MPI_Errhandler_free(&got));
    MPI_CHECK(MPI_Session_call_errhandler(s, MPI_ERR_OTHER));
    CHECK(session_calls == 1 && last_session == s && tu_class_of(last_code) == MPI_ERR_OTHER,
          "session handler: %d calls, code %d", session_calls, last_code);
    /* An error on the session goes to its handler. */
    MPI_Group g = MPI_GROUP_NULL;
    int rc = MPI_Group_from_session_pset(s, "mpi://no-such-set", &g);
    /* When a user handler returns, what the call returns is left open (MPICH: MPI_SUCCESS). */
    CHECK((rc == MPI_SUCCESS || tu_class_of(rc) == MPI_ERR_ARG) && session_calls == 2 && last_session == s,
          "rc %d, %d calls", rc, session_calls);
    CHECK(tu_class_of(last_code) == MPI_ERR_ARG, "unknown pset: class %d", tu_class_of(last_code));
    MPI_CHECK(MPI_Session_set_errhandler(s, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Session_get_errhandler(s, &got));
    CHECK(got == MPI_ERRORS_RETURN);
    CHECK_ERR_CLASS(MPI_Group_from_session_pset(s, "mpi://no-such-set", &g), MPI_ERR_ARG);
    CHECK(session_calls == 2);
    MPI_CHECK(MPI_Session_call_errhandler(s, MPI_ERR_OTHER));
    CHECK(session_calls == 2);
    if (ours) { /* MPICH 5.0.2 does not check the handler's kind here either */
        CHECK_ERR_CLASS(MPI_Session_set_errhandler(s, ceh), MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Session_set_errhandler(s, feh), MPI_ERR_ARG);
        MPI_Session s2 = MPI_SESSION_NULL;
        CHECK_ERR_CLASS(MPI_Session_init(MPI_INFO_NULL, ceh, &s2), MPI_ERR_ARG);
        CHECK(s2 == MPI_SESSION_NULL);
    }
    MPI_CHECK(MPI_Session_finalize(&s));
    CHECK(s == MPI_SESSION_NULL);

    /* Every kind frees; the predefined handlers too. */
    MPI_CHECK(MPI_Errhandler_free(&feh));
    MPI_CHECK(MPI_Errhandler_free(&seh));
    MPI_CHECK(MPI_Errhandler_free(&weh));
    MPI_CHECK(MPI_Errhandler_free(&ceh));
    CHECK(feh == MPI_ERRHANDLER_NULL && seh == MPI_ERRHANDLER_NULL && weh == MPI_ERRHANDLER_NULL &&
          ceh == MPI_ERRHANDLER_NULL);
    CHECK(comm_calls == 0 && win_calls == 0);

    MPI_CHECK(MPI_Finalize());
    return 0;
}
