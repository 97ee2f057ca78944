/* ranks: 1 */
/* Info objects' invalid arguments under MPI_ERRORS_RETURN: keys longer than MPI_MAX_INFO_KEY - 1
 * and empty keys (MPI_ERR_INFO_KEY, in every function that takes a key), values longer than
 * MPI_MAX_INFO_VAL - 1 (MPI_ERR_INFO_VALUE), deleting an absent key (MPI_ERR_INFO_NOKEY),
 * MPI_INFO_NULL, freed and made-up handles (MPI_ERR_INFO), key numbers outside 0..nkeys-1 and
 * null or negative arguments (MPI_ERR_ARG). A failed call changes nothing. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();

    MPI_Info info;
    MPI_CHECK(MPI_Info_create(&info));
    MPI_CHECK(MPI_Info_set(info, "k", "v"));

    char longkey[MPI_MAX_INFO_KEY + 45], longval[MPI_MAX_INFO_VAL + 977], buf[MPI_MAX_INFO_VAL];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    memset(longval, 'v', sizeof longval - 1);
    longval[sizeof longval - 1] = 0;
    int flag = -1, len = (int)sizeof buf, n = -1;

    CHECK_ERR_CLASS(MPI_Info_set(info, longkey, "v"), MPI_ERR_INFO_KEY);
    CHECK_ERR_CLASS(MPI_Info_set(info, "", "v"), MPI_ERR_INFO_KEY);
    CHECK_ERR_CLASS(MPI_Info_set(info, "k2", longval), MPI_ERR_INFO_VALUE);
    CHECK_ERR_CLASS(MPI_Info_get_string(info, longkey, &len, buf, &flag), MPI_ERR_INFO_KEY);
    CHECK_ERR_CLASS(MPI_Info_get_valuelen(info, longkey, &len, &flag), MPI_ERR_INFO_KEY);
    CHECK_ERR_CLASS(MPI_Info_get(info, longkey, 10, buf, &flag), MPI_ERR_INFO_KEY);
    CHECK_ERR_CLASS(MPI_Info_delete(info, longkey), MPI_ERR_INFO_KEY);
    CHECK_ERR_CLASS(MPI_Info_delete(info, "absent"), MPI_ERR_INFO_NOKEY);

    /* Nothing changed. */
    MPI_CHECK(MPI_Info_get_nkeys(info, &n));
    CHECK(n == 1, "nkeys %d", n);
    len = (int)sizeof buf;
    MPI_CHECK(MPI_Info_get_string(info, "k", &len, buf, &flag));
    CHECK(flag == 1 && strcmp(buf, "v") == 0);

    /* Key numbers. */
    char key[MPI_MAX_INFO_KEY];
    CHECK_ERR_CLASS(MPI_Info_get_nthkey(info, 1, key), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Info_get_nthkey(info, -1, key), MPI_ERR_ARG);

    /* Invalid handles: MPI_ERR_INFO, the class the standard has for them (MPICH says
     * MPI_ERR_ARG for MPI_INFO_NULL). */
    int null_class = tu_is_mpich() ? MPI_ERR_ARG : MPI_ERR_INFO;
    CHECK_ERR_CLASS(MPI_Info_set(MPI_INFO_NULL, "k", "v"), null_class);
    CHECK_ERR_CLASS(MPI_Info_get_nkeys(MPI_INFO_NULL, &n), null_class);
    CHECK_ERR_CLASS(MPI_Info_get_nthkey(MPI_INFO_NULL, 0, key), null_class);
    len = (int)sizeof buf;
    CHECK_ERR_CLASS(MPI_Info_get_string(MPI_INFO_NULL, "k", &len, buf, &flag), null_class);
    CHECK_ERR_CLASS(MPI_Info_get_valuelen(MPI_INFO_NULL, "k", &len, &flag), null_class);
    CHECK_ERR_CLASS(MPI_Info_delete(MPI_INFO_NULL, "k"), null_class);
    MPI_Info out = MPI_INFO_NULL;
    CHECK_ERR_CLASS(MPI_Info_dup(MPI_INFO_NULL, &out), null_class);
    MPI_Info null = MPI_INFO_NULL;
    CHECK_ERR_CLASS(MPI_Info_free(&null), null_class);

    /* Null and negative arguments. */
    CHECK_ERR_CLASS(MPI_Info_create(NULL), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Info_get(info, "k", -1, buf, &flag), MPI_ERR_ARG);

    if (!tu_is_mpich()) {
        /* Checks MPICH does not make (it does not detect stale handles, takes a null key as an
         * argument error only in some functions, and lets MPI_INFO_ENV be freed). */
        MPI_Info env = MPI_INFO_ENV, copy;
        MPI_CHECK(MPI_Info_dup(info, &copy));
        MPI_Info freed = copy;
        MPI_CHECK(MPI_Info_free(&copy));
        CHECK_ERR_CLASS(MPI_Info_get_nkeys(freed, &n), MPI_ERR_INFO);
        CHECK_ERR_CLASS(MPI_Info_free(&freed), MPI_ERR_INFO);
        CHECK_ERR_CLASS(MPI_Info_get_nkeys(MPI_Info_fromint(0x77), &n), MPI_ERR_INFO);
        CHECK_ERR_CLASS(MPI_Info_free(&env), MPI_ERR_INFO);
        CHECK_ERR_CLASS(MPI_Info_set(info, NULL, "v"), MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Info_set(info, "k", NULL), MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Info_get_nkeys(info, NULL), MPI_ERR_ARG);
        len = -1;
        CHECK_ERR_CLASS(MPI_Info_get_string(info, "k", &len, buf, &flag), MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Info_create_env(-1, NULL, &out), MPI_ERR_ARG);
    }

    MPI_CHECK(MPI_Info_free(&info));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
