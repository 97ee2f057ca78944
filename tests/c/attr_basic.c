/* ranks: 1 2 */
/* expect-stdout: MPI_COMM_SELF attributes deleted at MPI_Finalize, last set first */
/* Communicator attributes: the predefined ones (MPI_TAG_UB, MPI_HOST, MPI_IO,
 * MPI_WTIME_IS_GLOBAL, and MPI_UNIVERSE_SIZE, MPI_APPNUM, MPI_LASTUSEDCODE when set) on every
 * communicator; user keyvals: set, get, replace (the delete callback runs on the old value),
 * delete, the callbacks' arguments, a failing delete callback failing the call and keeping
 * the value, values of a freed keyval still deleted when their communicator is freed, the
 * deprecated MPI-1 names, invalid arguments under MPI_ERRORS_RETURN, and MPI_Finalize deleting
 * MPI_COMM_SELF's attributes, last set first. */
#include "testutil.h"

struct counter {
    int deletes;
    MPI_Comm comm;
    int keyval;
    void *value;
    int fail; /* the delete callback returns MPI_ERR_OTHER while set */
};

static int del_fn(MPI_Comm comm, int keyval, void *value, void *extra)
{
    struct counter *c = (struct counter *)extra;
    if (c->fail)
        return MPI_ERR_OTHER;
    c->deletes++;
    c->comm = comm;
    c->keyval = keyval;
    c->value = value;
    return MPI_SUCCESS;
}

static int self_order[2], self_seen;

static int self_del_fn(MPI_Comm comm, int keyval, void *value, void *extra)
{
    (void)keyval;
    (void)extra;
    if (comm != MPI_COMM_SELF || self_seen >= 2)
        return MPI_ERR_OTHER;
    self_order[self_seen++] = (int)(intptr_t)value;
    if (self_seen == 2 && self_order[0] == 2 && self_order[1] == 1)
        printf("MPI_COMM_SELF attributes deleted at MPI_Finalize, last set first\n");
    return MPI_SUCCESS;
}

static void check_get(MPI_Comm comm, int keyval, int want_flag, void *want)
{
    void *v = (void *)0x5555;
    int flag = -1;
    MPI_CHECK(MPI_Comm_get_attr(comm, keyval, &v, &flag));
    CHECK(flag == want_flag, "keyval %d: flag %d, expected %d", keyval, flag, want_flag);
    if (want_flag)
        CHECK(v == want, "keyval %d: value %p, expected %p", keyval, v, want);
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int ours = !tu_is_mpich();

    /* Predefined attributes, on world, self and a duplicate. */
    MPI_Comm d;
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    MPI_Comm comms[3] = {MPI_COMM_WORLD, MPI_COMM_SELF, d};
    for (int i = 0; i < 3; i++) {
        int *p = NULL, flag = -1;
        MPI_CHECK(MPI_Comm_get_attr(comms[i], MPI_TAG_UB, &p, &flag));
        CHECK(flag == 1 && p && *p >= 32767, "MPI_TAG_UB");
        MPI_CHECK(MPI_Comm_get_attr(comms[i], MPI_HOST, &p, &flag));
        CHECK(flag == 1 && p && (*p == MPI_PROC_NULL || (*p >= 0 && *p < tu_size())), "MPI_HOST");
        MPI_CHECK(MPI_Comm_get_attr(comms[i], MPI_IO, &p, &flag));
        CHECK(flag == 1 && p && (*p == MPI_ANY_SOURCE || *p == MPI_PROC_NULL || *p >= 0), "MPI_IO");
        MPI_CHECK(MPI_Comm_get_attr(comms[i], MPI_WTIME_IS_GLOBAL, &p, &flag));
        CHECK(flag == 1 && p && (*p == 0 || *p == 1), "MPI_WTIME_IS_GLOBAL");
        MPI_CHECK(MPI_Comm_get_attr(comms[i], MPI_UNIVERSE_SIZE, &p, &flag));
        CHECK(!flag || *p >= tu_size(), "MPI_UNIVERSE_SIZE");
        MPI_CHECK(MPI_Comm_get_attr(comms[i], MPI_APPNUM, &p, &flag));
        CHECK(!flag || *p >= 0, "MPI_APPNUM");
        MPI_CHECK(MPI_Comm_get_attr(comms[i], MPI_LASTUSEDCODE, &p, &flag));
        CHECK(!flag || *p >= MPI_ERR_LASTCODE, "MPI_LASTUSEDCODE");
        MPI_CHECK(MPI_Attr_get(comms[i], MPI_TAG_UB, &p, &flag));
        CHECK(flag == 1 && *p >= 32767, "MPI_Attr_get MPI_TAG_UB");
    }

    /* A user keyval: set, get, replace, delete. */
    struct counter c = {0, MPI_COMM_NULL, 0, NULL, 0};
    int kv = MPI_KEYVAL_INVALID;
    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, del_fn, &kv, &c));
    CHECK(kv != MPI_KEYVAL_INVALID && kv != MPI_TAG_UB);
    check_get(MPI_COMM_WORLD, kv, 0, NULL);
    MPI_CHECK(MPI_Comm_set_attr(MPI_COMM_WORLD, kv, (void *)0x1234));
    check_get(MPI_COMM_WORLD, kv, 1, (void *)0x1234);
    check_get(MPI_COMM_SELF, kv, 0, NULL);
    check_get(d, kv, 0, NULL);
    CHECK(c.deletes == 0);
    MPI_CHECK(MPI_Comm_set_attr(MPI_COMM_WORLD, kv, (void *)0x5678));
    CHECK(c.deletes == 1 && c.value == (void *)0x1234 && c.comm == MPI_COMM_WORLD && c.keyval == kv,
          "replacing runs the delete callback on the old value: %d %p", c.deletes, c.value);
    check_get(MPI_COMM_WORLD, kv, 1, (void *)0x5678);
    MPI_CHECK(MPI_Comm_set_attr(MPI_COMM_SELF, kv, (void *)0x9));
    check_get(MPI_COMM_SELF, kv, 1, (void *)0x9);
    MPI_CHECK(MPI_Comm_delete_attr(MPI_COMM_WORLD, kv));
    CHECK(c.deletes == 2 && c.value == (void *)0x5678, "delete_attr: %d %p", c.deletes, c.value);
    check_get(MPI_COMM_WORLD, kv, 0, NULL);
    check_get(MPI_COMM_SELF, kv, 1, (void *)0x9);
    MPI_CHECK(MPI_Comm_delete_attr(MPI_COMM_SELF, kv));
    CHECK(c.deletes == 3 && c.comm == MPI_COMM_SELF);

    /* A failing delete callback fails delete_attr and set_attr and keeps the value. */
    MPI_CHECK(MPI_Comm_set_attr(d, kv, (void *)0x77));
    c.fail = 1;
    CHECK_ERR_CLASS(MPI_Comm_delete_attr(d, kv), MPI_ERR_OTHER);
    check_get(d, kv, 1, (void *)0x77);
    CHECK_ERR_CLASS(MPI_Comm_set_attr(d, kv, (void *)0x78), MPI_ERR_OTHER);
    check_get(d, kv, 1, (void *)0x77);
    c.fail = 0;
    CHECK(c.deletes == 3);

    /* Freeing the keyval: the handle becomes MPI_KEYVAL_INVALID, but the value still on d is
     * deleted through the callback when d is freed. */
    MPI_CHECK(MPI_Comm_free_keyval(&kv));
    CHECK(kv == MPI_KEYVAL_INVALID);
    MPI_CHECK(MPI_Comm_free(&d));
    CHECK(c.deletes == 4 && c.value == (void *)0x77, "free after free_keyval: %d %p", c.deletes, c.value);

    /* Values are per keyval: two keyvals on one communicator. */
    struct counter c2 = {0, MPI_COMM_NULL, 0, NULL, 0};
    int ka, kb;
    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_DUP_FN, MPI_COMM_NULL_DELETE_FN, &ka, NULL));
    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, del_fn, &kb, &c2));
    CHECK(ka != kb);
    MPI_CHECK(MPI_Comm_set_attr(MPI_COMM_WORLD, ka, (void *)1));
    MPI_CHECK(MPI_Comm_set_attr(MPI_COMM_WORLD, kb, (void *)2));
    check_get(MPI_COMM_WORLD, ka, 1, (void *)1);
    check_get(MPI_COMM_WORLD, kb, 1, (void *)2);
    MPI_CHECK(MPI_Comm_delete_attr(MPI_COMM_WORLD, ka));
    check_get(MPI_COMM_WORLD, ka, 0, NULL);
    check_get(MPI_COMM_WORLD, kb, 1, (void *)2);
    MPI_CHECK(MPI_Comm_delete_attr(MPI_COMM_WORLD, kb));
    CHECK(c2.deletes == 1 && c2.value == (void *)2);
    MPI_CHECK(MPI_Comm_free_keyval(&ka));
    MPI_CHECK(MPI_Comm_free_keyval(&kb));

    /* The deprecated MPI-1 names. */
    struct counter c3 = {0, MPI_COMM_NULL, 0, NULL, 0};
    int old = MPI_KEYVAL_INVALID;
    MPI_CHECK(MPI_Keyval_create(MPI_NULL_COPY_FN, del_fn, &old, &c3));
    MPI_CHECK(MPI_Attr_put(MPI_COMM_WORLD, old, (void *)0x42));
    void *v = NULL;
    int flag = -1;
    MPI_CHECK(MPI_Attr_get(MPI_COMM_WORLD, old, &v, &flag));
    CHECK(flag == 1 && v == (void *)0x42);
    MPI_CHECK(MPI_Attr_delete(MPI_COMM_WORLD, old));
    CHECK(c3.deletes == 1 && c3.value == (void *)0x42);
    MPI_CHECK(MPI_Attr_get(MPI_COMM_WORLD, old, &v, &flag));
    CHECK(flag == 0);
    MPI_CHECK(MPI_Keyval_free(&old));
    CHECK(old == MPI_KEYVAL_INVALID);

    /* Invalid arguments. */
    int k;
    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &k, NULL));
    CHECK_ERR_CLASS(MPI_Comm_set_attr(MPI_COMM_WORLD, MPI_TAG_UB, (void *)1), MPI_ERR_KEYVAL);
    CHECK_ERR_CLASS(MPI_Comm_delete_attr(MPI_COMM_WORLD, MPI_TAG_UB), MPI_ERR_KEYVAL);
    CHECK_ERR_CLASS(MPI_Comm_set_attr(MPI_COMM_WORLD, MPI_KEYVAL_INVALID, (void *)1), MPI_ERR_KEYVAL);
    CHECK_ERR_CLASS(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_KEYVAL_INVALID, &v, &flag), MPI_ERR_KEYVAL);
    CHECK_ERR_CLASS(MPI_Comm_delete_attr(MPI_COMM_WORLD, MPI_KEYVAL_INVALID), MPI_ERR_KEYVAL);
    CHECK_ERR_CLASS(MPI_Comm_set_attr(MPI_COMM_NULL, k, (void *)1), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_get_attr(MPI_COMM_NULL, k, &v, &flag), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_get_attr(MPI_COMM_NULL, MPI_TAG_UB, &v, &flag), MPI_ERR_COMM);
    CHECK_ERR_CLASS(MPI_Comm_delete_attr(MPI_COMM_NULL, k), MPI_ERR_COMM);
    int invalid = MPI_KEYVAL_INVALID, tagub = MPI_TAG_UB;
    CHECK_ERR_CLASS(MPI_Comm_free_keyval(&invalid), MPI_ERR_KEYVAL);
    CHECK_ERR_CLASS(MPI_Comm_free_keyval(&tagub), MPI_ERR_KEYVAL);
    if (ours) {
        /* Checks MPICH does not make the same way: a freed keyval's number, made-up numbers,
         * null output arguments, freed communicators. */
        int stale = k, made_up = 0x7654321;
        MPI_CHECK(MPI_Comm_free_keyval(&k));
        CHECK_ERR_CLASS(MPI_Comm_set_attr(MPI_COMM_WORLD, stale, (void *)1), MPI_ERR_KEYVAL);
        CHECK_ERR_CLASS(MPI_Comm_get_attr(MPI_COMM_WORLD, stale, &v, &flag), MPI_ERR_KEYVAL);
        CHECK_ERR_CLASS(MPI_Comm_free_keyval(&stale), MPI_ERR_KEYVAL);
        CHECK_ERR_CLASS(MPI_Comm_get_attr(MPI_COMM_WORLD, made_up, &v, &flag), MPI_ERR_KEYVAL);
        CHECK_ERR_CLASS(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, NULL, NULL),
                        MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &v, NULL), MPI_ERR_ARG);
        MPI_Comm gone, freed;
        MPI_CHECK(MPI_Comm_dup(MPI_COMM_SELF, &gone));
        freed = gone;
        MPI_CHECK(MPI_Comm_free(&gone));
        CHECK_ERR_CLASS(MPI_Comm_get_attr(freed, MPI_TAG_UB, &v, &flag), MPI_ERR_COMM);
    } else {
        MPI_CHECK(MPI_Comm_free_keyval(&k));
    }

    /* MPI_Finalize deletes MPI_COMM_SELF's attributes, last set first (self_del_fn prints). */
    int ks1, ks2;
    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, self_del_fn, &ks1, NULL));
    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, self_del_fn, &ks2, NULL));
    MPI_CHECK(MPI_Comm_set_attr(MPI_COMM_SELF, ks1, (void *)1));
    MPI_CHECK(MPI_Comm_set_attr(MPI_COMM_SELF, ks2, (void *)2));
    MPI_CHECK(MPI_Comm_free_keyval(&ks1));
    fflush(stdout);
    MPI_CHECK(MPI_Finalize());
    CHECK(self_seen == 2 && self_order[0] == 2 && self_order[1] == 1, "self deletes: %d", self_seen);
    return 0;
}
