/* ranks: 1 2 */
/* Communicator hints: MPI_Comm_set_info keeps the hints given (a later call changes only the
 * keys it names), MPI_Comm_get_info returns a new info with them, MPI_Comm_dup and idup copy
 * them, MPI_Comm_dup_with_info and idup_with_info take their argument's instead (none for
 * MPI_INFO_NULL); the info objects stay independent of the communicator; invalid
 * communicators and info handles get their classes. MPICH keeps only the hints it uses, so
 * the read-back checks are ferrompi's. */
#include "testutil.h"

static int ours;

/* The hints of `comm` must be exactly the n pairs in kv (key, value, key, value, ...). */
static void check_hints(MPI_Comm comm, int n, const char **kv)
{
    MPI_Info used = MPI_INFO_NULL;
    MPI_CHECK(MPI_Comm_get_info(comm, &used));
    CHECK(used != MPI_INFO_NULL);
    if (ours) {
        int nkeys = -1;
        MPI_CHECK(MPI_Info_get_nkeys(used, &nkeys));
        CHECK(nkeys == n, "%d hints, expected %d", nkeys, n);
        for (int i = 0; i < n; i++) {
            char buf[MPI_MAX_INFO_VAL];
            int len = (int)sizeof buf, flag = -1;
            MPI_CHECK(MPI_Info_get_string(used, kv[2 * i], &len, buf, &flag));
            CHECK(flag == 1 && strcmp(buf, kv[2 * i + 1]) == 0, "hint %s = '%s' (flag %d), expected '%s'",
                  kv[2 * i], buf, flag, kv[2 * i + 1]);
        }
    }
    MPI_CHECK(MPI_Info_free(&used));
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    ours = !tu_is_mpich();
    int size = tu_size();

    check_hints(MPI_COMM_WORLD, 0, NULL);

    MPI_Comm d;
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    MPI_Info info;
    MPI_CHECK(MPI_Info_create(&info));
    MPI_CHECK(MPI_Info_set(info, "mpi_assert_no_any_tag", "true"));
    MPI_CHECK(MPI_Info_set(info, "ferrompi_test_hint", "x"));
    MPI_CHECK(MPI_Comm_set_info(d, info));
    /* Changing or freeing the argument afterwards does not change the communicator's hints. */
    MPI_CHECK(MPI_Info_set(info, "ferrompi_test_hint", "changed"));
    MPI_CHECK(MPI_Info_free(&info));
    const char *h1[] = {"mpi_assert_no_any_tag", "true", "ferrompi_test_hint", "x"};
    check_hints(d, 2, h1);

    /* A second set_info changes only what it names. */
    MPI_CHECK(MPI_Info_create(&info));
    MPI_CHECK(MPI_Info_set(info, "ferrompi_test_hint", "y"));
    MPI_CHECK(MPI_Info_set(info, "ferrompi_other", "z"));
    MPI_CHECK(MPI_Comm_set_info(d, info));
    const char *h2[] = {"mpi_assert_no_any_tag", "true", "ferrompi_test_hint", "y", "ferrompi_other", "z"};
    check_hints(d, 3, h2);
    if (ours) { /* ferrompi takes MPI_INFO_NULL as no hints; MPICH refuses it */
        MPI_CHECK(MPI_Comm_set_info(d, MPI_INFO_NULL));
        check_hints(d, 3, h2);
    }

    /* A hint does not change what the communicator does. */
    int sum = -1, one = 1;
    MPI_CHECK(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, d));
    CHECK(sum == size);

    /* dup copies the hints; dup_with_info takes its argument's. */
    MPI_Comm d2, d3, d4, d5;
    MPI_CHECK(MPI_Comm_dup(d, &d2));
    check_hints(d2, 3, h2);
    MPI_Info other;
    MPI_CHECK(MPI_Info_create(&other));
    MPI_CHECK(MPI_Info_set(other, "ferrompi_only", "1"));
    MPI_CHECK(MPI_Comm_dup_with_info(d, other, &d3));
    const char *h3[] = {"ferrompi_only", "1"};
    check_hints(d3, 1, h3);
    MPI_CHECK(MPI_Comm_dup_with_info(d, MPI_INFO_NULL, &d4));
    check_hints(d4, 0, NULL);
    MPI_Request req;
    MPI_CHECK(MPI_Comm_idup_with_info(d, other, &d5, &req));
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    check_hints(d5, 1, h3);
    MPI_CHECK(MPI_Comm_free(&d5));
    MPI_CHECK(MPI_Comm_idup(d, &d5, &req));
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    check_hints(d5, 3, h2);
    /* The parent's hints are untouched. */
    check_hints(d, 3, h2);

    /* Invalid arguments. */
    CHECK_ERR_CLASS(MPI_Comm_set_info(MPI_COMM_NULL, other), MPI_ERR_COMM);
    MPI_Info used;
    CHECK_ERR_CLASS(MPI_Comm_get_info(MPI_COMM_NULL, &used), MPI_ERR_COMM);
    if (ours) {
        MPI_Info gone;
        MPI_CHECK(MPI_Info_dup(other, &gone));
        MPI_Info stale = gone;
        MPI_CHECK(MPI_Info_free(&gone));
        CHECK_ERR_CLASS(MPI_Comm_set_info(d, stale), MPI_ERR_INFO);
        MPI_Comm nc = MPI_COMM_NULL;
        CHECK_ERR_CLASS(MPI_Comm_dup_with_info(d, stale, &nc), MPI_ERR_INFO);
        CHECK(nc == MPI_COMM_NULL);
        CHECK_ERR_CLASS(MPI_Comm_get_info(d, NULL), MPI_ERR_ARG);
        MPI_Comm freed = d4;
        MPI_CHECK(MPI_Comm_free(&d4));
        CHECK_ERR_CLASS(MPI_Comm_get_info(freed, &used), MPI_ERR_COMM);
    } else {
        MPI_CHECK(MPI_Comm_free(&d4));
    }

    MPI_CHECK(MPI_Info_free(&other));
    MPI_CHECK(MPI_Info_free(&info));
    MPI_CHECK(MPI_Comm_free(&d5));
    MPI_CHECK(MPI_Comm_free(&d3));
    MPI_CHECK(MPI_Comm_free(&d2));
    MPI_CHECK(MPI_Comm_free(&d));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
