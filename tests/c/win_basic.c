/* ranks: 1 2 3 4 */
/* Window objects: MPI_Win_create / allocate / create_dynamic (+ attach, detach) / free, the
 * _c forms, MPI_Win_get_group, names, info, the predefined attributes (MPI_WIN_BASE, SIZE,
 * DISP_UNIT, CREATE_FLAVOR, MODEL), keyvals with delete callbacks run by set_attr (replace),
 * delete_attr and MPI_Win_free, and window error handlers (set, get, call, user handlers,
 * errors of window calls raised on the window's handler, invalid windows MPI_ERR_WIN). */
#include "testutil.h"

static int deletes, last_keyval;
static MPI_Win last_win;
static void *last_value;

static int delete_fn(MPI_Win win, int keyval, void *value, void *extra)
{
    deletes++;
    last_win = win;
    last_keyval = keyval;
    last_value = value;
    CHECK(extra == &deletes, "extra_state %p", extra);
    return MPI_SUCCESS;
}

static int handler_calls, handler_code;
static MPI_Win handler_win;
static void win_handler(MPI_Win *win, int *code, ...)
{
    handler_calls++;
    handler_win = *win;
    handler_code = *code;
}

static void check_attrs(MPI_Win win, void *base, MPI_Aint size, int unit, int flavor)
{
    void *v;
    int flag = 0;
    MPI_CHECK(MPI_Win_get_attr(win, MPI_WIN_BASE, &v, &flag));
    /* A window of no memory may have any base. */
    CHECK(flag && (v == base || size == 0), "base %p, expected %p", v, base);
    MPI_CHECK(MPI_Win_get_attr(win, MPI_WIN_SIZE, &v, &flag));
    CHECK(flag && *(MPI_Aint *)v == size, "size %ld, expected %ld", (long)*(MPI_Aint *)v, (long)size);
    MPI_CHECK(MPI_Win_get_attr(win, MPI_WIN_DISP_UNIT, &v, &flag));
    CHECK(flag && *(int *)v == unit, "disp unit %d", *(int *)v);
    MPI_CHECK(MPI_Win_get_attr(win, MPI_WIN_CREATE_FLAVOR, &v, &flag));
    CHECK(flag && *(int *)v == flavor, "flavor %d, expected %d", *(int *)v, flavor);
    MPI_CHECK(MPI_Win_get_attr(win, MPI_WIN_MODEL, &v, &flag));
    CHECK(flag && (*(int *)v == MPI_WIN_UNIFIED || *(int *)v == MPI_WIN_SEPARATE), "model %d", *(int *)v);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = tu_rank(), size = tu_size();
    tu_errors_return();

    /* MPI_Win_create over a local array; its group is the communicator's. */
    int buf[16];
    MPI_Win win;
    MPI_CHECK(MPI_Win_create(buf, sizeof buf, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    check_attrs(win, buf, sizeof buf, sizeof(int), MPI_WIN_FLAVOR_CREATE);
    /* The default window handler is MPI_ERRORS_ARE_FATAL (not the communicator's). */
    MPI_Errhandler eh;
    MPI_CHECK(MPI_Win_get_errhandler(win, &eh));
    CHECK(eh == MPI_ERRORS_ARE_FATAL, "default window handler is not MPI_ERRORS_ARE_FATAL");
    MPI_Errhandler_free(&eh);
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    MPI_Group g, wg;
    int cmp;
    MPI_CHECK(MPI_Win_get_group(win, &g));
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    MPI_CHECK(MPI_Group_compare(g, wg, &cmp));
    CHECK(cmp == MPI_IDENT, "window group compares %d", cmp);
    MPI_Group_free(&g);
    MPI_Group_free(&wg);

    /* Names: empty until set. */
    char name[MPI_MAX_OBJECT_NAME];
    int len = -1;
    MPI_CHECK(MPI_Win_get_name(win, name, &len));
    CHECK(len == 0 && name[0] == 0, "unnamed window is called '%s'", name);
    MPI_CHECK(MPI_Win_set_name(win, "my window"));
    MPI_CHECK(MPI_Win_get_name(win, name, &len));
    CHECK(len == 9 && strcmp(name, "my window") == 0, "name '%s' (%d)", name, len);

    /* Info: a hint set on the window comes back from get_info. */
    MPI_Info info, used;
    MPI_CHECK(MPI_Info_create(&info));
    MPI_CHECK(MPI_Info_set(info, "no_locks", "false"));
    MPI_CHECK(MPI_Win_set_info(win, info));
    MPI_CHECK(MPI_Win_get_info(win, &used));
    char value[64];
    int flag = 0;
    MPI_CHECK(MPI_Info_get_string(used, "no_locks", &(int){sizeof value}, value, &flag));
    CHECK(flag && strcmp(value, "false") == 0, "no_locks hint '%s' flag %d", value, flag);
    MPI_Info_free(&used);
    MPI_Info_free(&info);

    /* Keyvals: set, get, replace (the delete callback sees the old value), delete, and the
     * delete callback on MPI_Win_free with the window being freed. */
    int kv;
    MPI_CHECK(MPI_Win_create_keyval(MPI_WIN_NULL_COPY_FN, delete_fn, &kv, &deletes));
    void *got;
    MPI_CHECK(MPI_Win_get_attr(win, kv, &got, &flag));
    CHECK(!flag, "attribute present before set");
    MPI_CHECK(MPI_Win_set_attr(win, kv, (void *)0x11));
    MPI_CHECK(MPI_Win_get_attr(win, kv, &got, &flag));
    CHECK(flag && got == (void *)0x11, "attribute %p", got);
    MPI_CHECK(MPI_Win_set_attr(win, kv, (void *)0x22));
    CHECK(deletes == 1 && last_value == (void *)0x11 && last_win == win && last_keyval == kv, "replace: %d deletes, value %p", deletes, last_value);
    MPI_CHECK(MPI_Win_delete_attr(win, kv));
    CHECK(deletes == 2 && last_value == (void *)0x22, "delete: %d deletes", deletes);
    MPI_CHECK(MPI_Win_get_attr(win, kv, &got, &flag));
    CHECK(!flag, "attribute present after delete");
    MPI_CHECK(MPI_Win_set_attr(win, kv, (void *)0x33));
    /* Predefined attributes cannot be set or deleted; a communicator keyval is not a window's. */
    CHECK_ERR_CLASS(MPI_Win_set_attr(win, MPI_WIN_SIZE, (void *)1), MPI_ERR_KEYVAL);
    int ckv;
    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &ckv, NULL));

    /* Error handlers: errors of window calls go to the window's handler. */
    MPI_Errhandler user;
    MPI_CHECK(MPI_Win_create_errhandler(win_handler, &user));
    MPI_CHECK(MPI_Win_set_errhandler(win, user));
    MPI_CHECK(MPI_Win_get_errhandler(win, &eh));
    CHECK(eh == user, "handler not the user's");
    MPI_Errhandler_free(&eh);
    int rc = MPI_Win_set_attr(win, ckv, (void *)1);
    /* The standard leaves the return value after a user handler open (MPICH: MPI_SUCCESS). */
    CHECK((rc == MPI_SUCCESS || tu_class_of(rc) == MPI_ERR_KEYVAL) && handler_calls == 1 && handler_win == win && tu_class_of(handler_code) == MPI_ERR_KEYVAL,
          "rc %d, handler calls %d", rc, handler_calls);
    MPI_CHECK(MPI_Win_call_errhandler(win, MPI_ERR_OTHER));
    CHECK(handler_calls == 2 && handler_code == MPI_ERR_OTHER, "call_errhandler: %d calls, code %d", handler_calls, handler_code);
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Errhandler_free(&user));
    /* A handler made for communicators does not go on a window. */
    MPI_Errhandler comm_eh;
    MPI_CHECK(MPI_Comm_create_errhandler((MPI_Comm_errhandler_function *)win_handler, &comm_eh));
    CHECK(MPI_Win_set_errhandler(win, comm_eh) != MPI_SUCCESS, "a communicator handler went on a window");
    MPI_CHECK(MPI_Errhandler_free(&comm_eh));
    MPI_CHECK(MPI_Comm_free_keyval(&ckv));

    /* Invalid windows: MPI_ERR_WIN, on MPI_COMM_SELF's handler. */
    CHECK_ERR_CLASS(MPI_Win_set_name(MPI_WIN_NULL, "x"), MPI_ERR_WIN);
    CHECK_ERR_CLASS(MPI_Win_fence(0, MPI_WIN_NULL), MPI_ERR_WIN);

    MPI_CHECK(MPI_Win_free(&win));
    CHECK(win == MPI_WIN_NULL, "freed window handle not MPI_WIN_NULL");
    CHECK(deletes == 3 && last_value == (void *)0x33 && last_keyval == kv, "free: %d deletes", deletes);
    MPI_CHECK(MPI_Win_free_keyval(&kv));
    CHECK(kv == MPI_KEYVAL_INVALID, "keyval not reset");

    /* MPI_Win_allocate (and _c): memory of the requested size, usable at once; zero-size on
     * some ranks. */
    MPI_Aint asz = rank % 2 ? 0 : 1000;
    double *mem = NULL;
    MPI_CHECK(MPI_Win_allocate(asz, 8, MPI_INFO_NULL, MPI_COMM_WORLD, &mem, &win));
    if (asz) {
        CHECK(mem != NULL, "allocate returned NULL");
        memset(mem, 0xab, asz);
    }
    check_attrs(win, asz ? (void *)mem : NULL, asz, 8, MPI_WIN_FLAVOR_ALLOCATE);
    MPI_CHECK(MPI_Win_free(&win));
    char *cmem = NULL;
    MPI_CHECK(MPI_Win_allocate_c(64, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &cmem, &win));
    memset(cmem, 1, 64);
    check_attrs(win, cmem, 64, 1, MPI_WIN_FLAVOR_ALLOCATE);
    MPI_CHECK(MPI_Win_free(&win));
    MPI_CHECK(MPI_Win_create_c(buf, sizeof buf, 4, MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    check_attrs(win, buf, sizeof buf, 4, MPI_WIN_FLAVOR_CREATE);
    MPI_CHECK(MPI_Win_free(&win));

    /* Dynamic windows: attach, detach; attaching to another flavor is MPI_ERR_RMA_FLAVOR. */
    MPI_CHECK(MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    void *v;
    MPI_CHECK(MPI_Win_get_attr(win, MPI_WIN_CREATE_FLAVOR, &v, &flag));
    CHECK(flag && *(int *)v == MPI_WIN_FLAVOR_DYNAMIC, "dynamic flavor %d", *(int *)v);
    MPI_CHECK(MPI_Win_attach(win, buf, sizeof buf));
    MPI_CHECK(MPI_Win_detach(win, buf));
    MPI_CHECK(MPI_Win_free(&win));
    MPI_CHECK(MPI_Win_create(buf, sizeof buf, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    CHECK_ERR_CLASS(MPI_Win_attach(win, buf, sizeof buf), MPI_ERR_RMA_FLAVOR);
    MPI_CHECK(MPI_Win_free(&win));

    /* Windows over a subcommunicator (odd and even ranks). */
    MPI_Comm half;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half));
    MPI_CHECK(MPI_Win_create(buf, sizeof buf, 1, MPI_INFO_NULL, half, &win));
    MPI_CHECK(MPI_Win_get_group(win, &g));
    int gsize;
    MPI_CHECK(MPI_Group_size(g, &gsize));
    CHECK(gsize == (size + 1 - rank % 2) / 2, "group of %d", gsize);
    MPI_Group_free(&g);
    MPI_CHECK(MPI_Win_free(&win));
    MPI_Comm_free(&half);

    MPI_Finalize();
    return 0;
}
