/* ranks: 2 4 */
/* Attribute copy on MPI_Comm_dup and idup, and deletion on MPI_Comm_free: MPI_COMM_DUP_FN
 * copies the value, MPI_COMM_NULL_COPY_FN does not, a user copy callback gets the old
 * communicator, keyval, extra_state and value and decides (flag) whether and what to copy;
 * copies chain; a copy callback returning an error fails the dup (the values already copied
 * are deleted again); MPI_Comm_free runs every delete callback once with the freed
 * communicator, and a failing one fails the free. The copies are real communicators. */
#include "testutil.h"

struct counter {
    int copies, deletes;
    MPI_Comm last_comm;
    int fail_copy, fail_delete;
};

static struct counter cnt[5];
enum { K_DUP, K_NULL, K_USER, K_SKIP, K_FAIL };
static int kv[5];

static int copy_fn(MPI_Comm oldcomm, int keyval, void *extra, void *in, void *out, int *flag)
{
    struct counter *c = (struct counter *)extra;
    c->copies++;
    c->last_comm = oldcomm;
    if (c->fail_copy)
        return MPI_ERR_OTHER;
    if (c == &cnt[K_SKIP] || keyval != kv[c - cnt]) {
        *flag = 0;
        return MPI_SUCCESS;
    }
    *(void **)out = (void *)((intptr_t)in + 1000);
    *flag = 1;
    return MPI_SUCCESS;
}

static int del_fn(MPI_Comm comm, int keyval, void *value, void *extra)
{
    struct counter *c = (struct counter *)extra;
    (void)value;
    if (keyval != kv[c - cnt])
        return MPI_ERR_KEYVAL;
    if (c->fail_delete)
        return MPI_ERR_OTHER;
    c->deletes++;
    c->last_comm = comm;
    return MPI_SUCCESS;
}

static void check_get(MPI_Comm comm, int k, int want_flag, intptr_t want)
{
    void *v = NULL;
    int flag = -1;
    MPI_CHECK(MPI_Comm_get_attr(comm, kv[k], &v, &flag));
    CHECK(flag == want_flag, "keyval #%d: flag %d, expected %d", k, flag, want_flag);
    if (want_flag)
        CHECK((intptr_t)v == want, "keyval #%d: value %ld, expected %ld", k, (long)(intptr_t)v, (long)want);
}

static void check_counts(int k, int copies, int deletes)
{
    CHECK(cnt[k].copies == copies && cnt[k].deletes == deletes, "keyval #%d: %d copies %d deletes, expected %d %d",
          k, cnt[k].copies, cnt[k].deletes, copies, deletes);
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int ours = !tu_is_mpich(), rank = tu_rank(), size = tu_size();

    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_DUP_FN, del_fn, &kv[K_DUP], &cnt[K_DUP]));
    MPI_CHECK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, del_fn, &kv[K_NULL], &cnt[K_NULL]));
    MPI_CHECK(MPI_Comm_create_keyval(copy_fn, del_fn, &kv[K_USER], &cnt[K_USER]));
    MPI_CHECK(MPI_Comm_create_keyval(copy_fn, del_fn, &kv[K_SKIP], &cnt[K_SKIP]));
    MPI_CHECK(MPI_Comm_create_keyval(copy_fn, del_fn, &kv[K_FAIL], &cnt[K_FAIL]));

    MPI_Comm d;
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    for (int k = 0; k < 4; k++)
        MPI_CHECK(MPI_Comm_set_attr(d, kv[k], (void *)(intptr_t)(10 * (k + 1) + rank)));

    /* One dup. */
    MPI_Comm d2;
    MPI_CHECK(MPI_Comm_dup(d, &d2));
    check_get(d2, K_DUP, 1, 10 + rank);
    check_get(d2, K_NULL, 0, 0);
    check_get(d2, K_USER, 1, 1030 + rank);
    check_get(d2, K_SKIP, 0, 0);
    check_counts(K_DUP, 0, 0);
    check_counts(K_NULL, 0, 0);
    check_counts(K_USER, 1, 0);
    check_counts(K_SKIP, 1, 0);
    CHECK(cnt[K_USER].last_comm == d, "the copy callback gets the old communicator");
    /* The parent keeps its values. */
    check_get(d, K_NULL, 1, 20 + rank);
    check_get(d, K_USER, 1, 30 + rank);

    /* Copies chain, through idup too. */
    MPI_Comm d3;
    MPI_Request req;
    MPI_CHECK(MPI_Comm_idup(d2, &d3, &req));
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    check_get(d3, K_DUP, 1, 10 + rank);
    check_get(d3, K_USER, 1, 2030 + rank);
    check_counts(K_USER, 2, 0);
    check_counts(K_SKIP, 1, 0); /* not on d2, so not copied again */

    /* The copies communicate. */
    int sum = -1;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, d3));
    CHECK(sum == size * (size - 1) / 2);

    /* Freeing runs each delete callback once, with the freed communicator. */
    MPI_Comm was = d3;
    MPI_CHECK(MPI_Comm_free(&d3));
    check_counts(K_DUP, 0, 1);
    check_counts(K_USER, 2, 1);
    CHECK(cnt[K_DUP].last_comm == was && cnt[K_USER].last_comm == was);
    check_counts(K_NULL, 0, 0);

    /* A failing copy callback fails the dup; what was copied before it is deleted again. */
    MPI_CHECK(MPI_Comm_set_attr(d, kv[K_FAIL], (void *)5));
    cnt[K_FAIL].fail_copy = 1;
    MPI_Comm bad = MPI_COMM_NULL;
    CHECK_ERR_CLASS(MPI_Comm_dup(d, &bad), MPI_ERR_OTHER);
    check_counts(K_FAIL, 1, 0);
    if (ours) {
        CHECK(bad == MPI_COMM_NULL);
        check_counts(K_DUP, 0, 2);  /* copied, then deleted with the half-made copy */
        check_counts(K_USER, 3, 2);
        check_counts(K_SKIP, 2, 0);
    }
    cnt[K_FAIL].fail_copy = 0;
    MPI_CHECK(MPI_Comm_delete_attr(d, kv[K_FAIL]));
    check_counts(K_FAIL, 1, 1);

    /* A failing delete callback fails MPI_Comm_free; the communicator stays usable. Values are
     * deleted last set first, so K_USER's copy is gone before K_DUP's callback fails, and the
     * second free deletes only K_DUP's. */
    int before_dup = cnt[K_DUP].deletes, before_user = cnt[K_USER].deletes;
    if (ours) {
        cnt[K_DUP].fail_delete = 1;
        MPI_Comm keep = d2;
        CHECK_ERR_CLASS(MPI_Comm_free(&d2), MPI_ERR_OTHER);
        CHECK(d2 == keep);
        CHECK(cnt[K_USER].deletes == before_user + 1 && cnt[K_DUP].deletes == before_dup);
        check_get(d2, K_USER, 0, 0);
        check_get(d2, K_DUP, 1, 10 + rank);
        MPI_CHECK(MPI_Barrier(d2));
        cnt[K_DUP].fail_delete = 0;
    }
    MPI_CHECK(MPI_Comm_free(&d2));
    CHECK(cnt[K_DUP].deletes == before_dup + 1 && cnt[K_USER].deletes == before_user + 1);

    /* Freeing the keyvals first: the values on d are still deleted when d is freed. */
    for (int k = 0; k < 5; k++) {
        int copy = kv[k];
        MPI_CHECK(MPI_Comm_free_keyval(&copy));
    }
    int dels[5];
    for (int k = 0; k < 5; k++)
        dels[k] = cnt[k].deletes;
    MPI_CHECK(MPI_Comm_free(&d));
    for (int k = 0; k < 4; k++)
        CHECK(cnt[k].deletes == dels[k] + 1, "keyval #%d deleted %d times", k, cnt[k].deletes - dels[k]);
    CHECK(cnt[K_FAIL].deletes == dels[K_FAIL]);

    MPI_CHECK(MPI_Finalize());
    return 0;
}
