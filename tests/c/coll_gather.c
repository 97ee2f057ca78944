/* ranks: 1 2 3 4 6 8 */
/* env: FERROMPI_COLL_BCAST=scatter_allgather FERROMPI_COLL_REDUCE=reduce_scatter_gather FERROMPI_COLL_ALLREDUCE=rabenseifner FERROMPI_COLL_ALLGATHER=bruck FERROMPI_COLL_ALLTOALL=bruck */
/* env: FERROMPI_COLL_ALLREDUCE=ring FERROMPI_COLL_ALLGATHER=recursive_doubling */
/* MPI_Gather, MPI_Scatter, MPI_Allgather, MPI_Alltoall in every form (blocking, I, _init run
 * twice, and the _c forms of each), from every root, with and without MPI_IN_PLACE; a strided
 * send type and a resized-vector receive type (derived datatypes, packed and unpacked by the
 * schedules); 70000-int blocks (rendezvous); results checked against values computed here
 * from the rank formula. Then the argument errors: a bad root (MPI_ERR_ROOT), a negative
 * count (MPI_ERR_COUNT), a null buffer (MPI_ERR_BUFFER). */
#include "testutil.h"

/* What rank `r` contributes to rank `to`'s block (alltoall) or everyone's (the others). */
static int val(int r, int to, int i) { return r * 100000 + to * 1000 + i; }

enum { BLOCKING, NONBLOCKING, PERSISTENT, BLOCKING_C, NONBLOCKING_C, PERSISTENT_C, FORMS };
static const char *form_name[FORMS] = {"blocking", "I", "_init", "_c", "I_c", "_init_c"};

/* Starts of a persistent request: two, but one for an in-place alltoall (a second would
 * transpose its result back). */
static int reps = 2;

/* Completes (or, persistent, starts `reps` times) the request of a nonblocking or persistent call. */
static void finish(int form, MPI_Request *r)
{
    if (form == BLOCKING || form == BLOCKING_C)
        return;
    if (form == PERSISTENT || form == PERSISTENT_C) {
        for (int k = 0; k < reps; k++) {
            MPI_CHECK(MPI_Start(r));
            MPI_CHECK(MPI_Wait(r, MPI_STATUS_IGNORE));
        }
        MPI_CHECK(MPI_Request_free(r));
    } else {
        MPI_CHECK(MPI_Wait(r, MPI_STATUS_IGNORE));
        CHECK(*r == MPI_REQUEST_NULL);
    }
}

#define CALL(form, NAME, INAME, ...)                                                              \
    do {                                                                                           \
        MPI_Request r_ = MPI_REQUEST_NULL;                                                         \
        switch (form) {                                                                            \
        case BLOCKING: MPI_CHECK(MPI_##NAME(__VA_ARGS__)); break;                                   \
        case NONBLOCKING: MPI_CHECK(MPI_##INAME(__VA_ARGS__, &r_)); break;                           \
        case PERSISTENT: MPI_CHECK(MPI_##NAME##_init(__VA_ARGS__, MPI_INFO_NULL, &r_)); break;       \
        case BLOCKING_C: MPI_CHECK(MPI_##NAME##_c(__VA_ARGS__)); break;                            \
        case NONBLOCKING_C: MPI_CHECK(MPI_##INAME##_c(__VA_ARGS__, &r_)); break;                     \
        default: MPI_CHECK(MPI_##NAME##_init_c(__VA_ARGS__, MPI_INFO_NULL, &r_)); break;           \
        }                                                                                          \
        finish(form, &r_);                                                                         \
    } while (0)

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    const int n = 5;
    int *sb = malloc(sizeof(int) * 2 * n * size), *rb = malloc(sizeof(int) * 2 * n * size);

    for (int form = 0; form < FORMS; form++) {
        const char *f = form_name[form];
        for (int in_place = 0; in_place < 2; in_place++) {
            /* --- Gather --- */
            for (int root = 0; root < size; root++) {
                for (int i = 0; i < n * size; i++)
                    rb[i] = -1;
                for (int i = 0; i < n; i++)
                    sb[i] = val(rank, 0, i);
                const void *s = sb;
                if (in_place && rank == root) {
                    s = MPI_IN_PLACE;
                    for (int i = 0; i < n; i++)
                        rb[root * n + i] = val(rank, 0, i);
                }
                CALL(form, Gather, Igather, s, n, MPI_INT, rb, n, MPI_INT, root, MPI_COMM_WORLD);
                for (int r = 0; r < size; r++)
                    for (int i = 0; i < n; i++)
                        CHECK(rb[r * n + i] == (rank == root ? val(r, 0, i) : -1),
                              "Gather %s in_place %d root %d: rb[%d] = %d", f, in_place, root, r * n + i, rb[r * n + i]);
            }
            /* --- Scatter --- */
            for (int root = 0; root < size; root++) {
                for (int r = 0; r < size; r++)
                    for (int i = 0; i < n; i++)
                        sb[r * n + i] = rank == root ? val(root, r, i) : -2;
                for (int i = 0; i < n; i++)
                    rb[i] = -1;
                void *rv = rb;
                if (in_place && rank == root)
                    rv = MPI_IN_PLACE;
                CALL(form, Scatter, Iscatter, sb, n, MPI_INT, rv, n, MPI_INT, root, MPI_COMM_WORLD);
                for (int i = 0; i < n; i++) {
                    if (in_place && rank == root)
                        CHECK(rb[i] == -1 && sb[root * n + i] == val(root, root, i), "Scatter %s in place touched its buffers", f);
                    else
                        CHECK(rb[i] == val(root, rank, i), "Scatter %s in_place %d root %d: rb[%d] = %d", f, in_place, root, i, rb[i]);
                }
            }
            /* --- Allgather --- */
            for (int i = 0; i < n * size; i++)
                rb[i] = -1;
            for (int i = 0; i < n; i++) {
                sb[i] = val(rank, 0, i);
                if (in_place)
                    rb[rank * n + i] = val(rank, 0, i);
            }
            CALL(form, Allgather, Iallgather, in_place ? MPI_IN_PLACE : sb, n, MPI_INT, rb, n, MPI_INT, MPI_COMM_WORLD);
            for (int r = 0; r < size; r++)
                for (int i = 0; i < n; i++)
                    CHECK(rb[r * n + i] == val(r, 0, i), "Allgather %s in_place %d: rb[%d] = %d", f, in_place, r * n + i, rb[r * n + i]);
            /* --- Alltoall --- */
            for (int r = 0; r < size; r++)
                for (int i = 0; i < n; i++) {
                    sb[r * n + i] = val(rank, r, i);
                    rb[r * n + i] = in_place ? val(rank, r, i) : -1;
                }
            reps = in_place ? 1 : 2;
            CALL(form, Alltoall, Ialltoall, in_place ? MPI_IN_PLACE : sb, n, MPI_INT, rb, n, MPI_INT, MPI_COMM_WORLD);
            reps = 2;
            for (int r = 0; r < size; r++)
                for (int i = 0; i < n; i++)
                    CHECK(rb[r * n + i] == val(r, rank, i), "Alltoall %s in_place %d: rb[%d] = %d", f, in_place, r * n + i, rb[r * n + i]);
        }
    }

    /* --- derived datatypes: every other int sent, received into every other int of 2n --- */
    {
        MPI_Datatype strided, slot;
        MPI_CHECK(MPI_Type_vector(n, 1, 2, MPI_INT, &strided));
        MPI_CHECK(MPI_Type_commit(&strided));
        MPI_CHECK(MPI_Type_create_resized(strided, 0, sizeof(int) * 2 * n, &slot));
        MPI_CHECK(MPI_Type_commit(&slot));
        for (int form = 0; form < FORMS; form += 1) {
            for (int root = 0; root < size; root++) {
                /* gather: strided send, contiguous receive */
                for (int i = 0; i < 2 * n; i++)
                    sb[i] = i % 2 == 0 ? val(rank, 0, i / 2) : -3;
                for (int i = 0; i < n * size; i++)
                    rb[i] = -1;
                CALL(form, Gather, Igather, sb, 1, strided, rb, n, MPI_INT, root, MPI_COMM_WORLD);
                if (rank == root)
                    for (int r = 0; r < size; r++)
                        for (int i = 0; i < n; i++)
                            CHECK(rb[r * n + i] == val(r, 0, i), "strided Gather %s root %d: rb[%d] = %d", form_name[form], root, r * n + i, rb[r * n + i]);
                /* scatter: resized-vector send at the root, strided receive */
                for (int r = 0; r < size; r++)
                    for (int i = 0; i < 2 * n; i++)
                        sb[r * 2 * n + i] = i % 2 == 0 ? val(root, r, i / 2) : -3;
                for (int i = 0; i < 2 * n; i++)
                    rb[i] = -1;
                CALL(form, Scatter, Iscatter, sb, 1, slot, rb, 1, strided, root, MPI_COMM_WORLD);
                for (int i = 0; i < 2 * n; i++)
                    CHECK(rb[i] == (i % 2 == 0 ? val(root, rank, i / 2) : -1), "strided Scatter %s root %d: rb[%d] = %d", form_name[form], root, i, rb[i]);
            }
            /* allgather and alltoall into resized-vector slots */
            for (int i = 0; i < 2 * n * size; i++)
                rb[i] = -1;
            for (int i = 0; i < n; i++)
                sb[i] = val(rank, 0, i);
            CALL(form, Allgather, Iallgather, sb, n, MPI_INT, rb, 1, slot, MPI_COMM_WORLD);
            for (int r = 0; r < size; r++)
                for (int i = 0; i < 2 * n; i++)
                    CHECK(rb[r * 2 * n + i] == (i % 2 == 0 ? val(r, 0, i / 2) : -1), "slot Allgather %s: rb[%d] = %d", form_name[form], r * 2 * n + i, rb[r * 2 * n + i]);
            for (int r = 0; r < size; r++)
                for (int i = 0; i < n; i++)
                    sb[r * n + i] = val(rank, r, i);
            for (int i = 0; i < 2 * n * size; i++)
                rb[i] = -1;
            CALL(form, Alltoall, Ialltoall, sb, n, MPI_INT, rb, 1, slot, MPI_COMM_WORLD);
            for (int r = 0; r < size; r++)
                for (int i = 0; i < 2 * n; i++)
                    CHECK(rb[r * 2 * n + i] == (i % 2 == 0 ? val(r, rank, i / 2) : -1), "slot Alltoall %s: rb[%d] = %d", form_name[form], r * 2 * n + i, rb[r * 2 * n + i]);
        }
        MPI_CHECK(MPI_Type_free(&slot));
        MPI_CHECK(MPI_Type_free(&strided));
    }

    /* --- 70000 ints a block (rendezvous-sized messages) --- */
    {
        const int m = 70000;
        int *s = malloc(sizeof(int) * m * size), *d = malloc(sizeof(int) * m * size);
        for (int r = 0; r < size; r++)
            for (int i = 0; i < m; i++)
                s[r * m + i] = val(rank, r, i);
        MPI_CHECK(MPI_Alltoall(s, m, MPI_INT, d, m, MPI_INT, MPI_COMM_WORLD));
        for (int r = 0; r < size; r++)
            for (int i = 0; i < m; i += 997)
                CHECK(d[r * m + i] == val(r, rank, i), "large Alltoall: d[%d] = %d", r * m + i, d[r * m + i]);
        MPI_CHECK(MPI_Allgather(s, m, MPI_INT, d, m, MPI_INT, MPI_COMM_WORLD));
        for (int r = 0; r < size; r++)
            for (int i = 0; i < m; i += 997)
                CHECK(d[r * m + i] == val(r, 0, i), "large Allgather: d[%d] = %d", r * m + i, d[r * m + i]);
        int root = size - 1;
        MPI_CHECK(MPI_Gather(s, m, MPI_INT, d, m, MPI_INT, root, MPI_COMM_WORLD));
        if (rank == root)
            for (int r = 0; r < size; r++)
                for (int i = 0; i < m; i += 997)
                    CHECK(d[r * m + i] == val(r, 0, i), "large Gather: d[%d] = %d", r * m + i, d[r * m + i]);
        MPI_CHECK(MPI_Scatter(s, m, MPI_INT, d, m, MPI_INT, root, MPI_COMM_WORLD));
        for (int i = 0; i < m; i += 997)
            CHECK(d[i] == val(root, rank, i), "large Scatter: d[%d] = %d", i, d[i]);
        free(s);
        free(d);
    }

    /* --- argument errors (every rank makes the same mistake, so none is left waiting) --- */
    tu_errors_return();
    {
        MPI_Request r;
        CHECK_ERR_CLASS(MPI_Gather(sb, n, MPI_INT, rb, n, MPI_INT, size, MPI_COMM_WORLD), MPI_ERR_ROOT);
        CHECK_ERR_CLASS(MPI_Scatter(sb, n, MPI_INT, rb, n, MPI_INT, -1, MPI_COMM_WORLD), MPI_ERR_ROOT);
        CHECK_ERR_CLASS(MPI_Igather(sb, n, MPI_INT, rb, n, MPI_INT, size, MPI_COMM_WORLD, &r), MPI_ERR_ROOT);
        CHECK_ERR_CLASS(MPI_Allgather(sb, -1, MPI_INT, rb, n, MPI_INT, MPI_COMM_WORLD), MPI_ERR_COUNT);
        CHECK_ERR_CLASS(MPI_Alltoall(sb, n, MPI_INT, rb, -1, MPI_INT, MPI_COMM_WORLD), MPI_ERR_COUNT);
        CHECK_ERR_CLASS(MPI_Allgather(NULL, n, MPI_INT, rb, n, MPI_INT, MPI_COMM_WORLD), MPI_ERR_BUFFER);
        CHECK_ERR_CLASS(MPI_Ialltoall(sb, n, MPI_INT, NULL, n, MPI_INT, MPI_COMM_WORLD, &r), MPI_ERR_BUFFER);
    }
    /* still in step after the errors */
    for (int i = 0; i < n; i++)
        sb[i] = val(rank, 0, i);
    MPI_CHECK(MPI_Allgather(sb, n, MPI_INT, rb, n, MPI_INT, MPI_COMM_WORLD));
    for (int r = 0; r < size; r++)
        CHECK(rb[r * n] == val(r, 0, 0), "Allgather after the errors: rb[%d] = %d", r * n, rb[r * n]);

    free(sb);
    free(rb);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
