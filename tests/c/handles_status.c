/* ranks: 1 2 */
/* The standard ABI's handle conversions and small queries: MPI_<Handle>_toint/_fromint round
 * trips (predefined handles convert to their ABI value; a request the library created to an
 * int that converts back), MPI_Get_address with MPI_Aint_add/diff, the MPI_Status_get/set_* accessors
 * and MPI_Status_set_elements/cancelled, MPI_Type_get_true_extent and the _c/_x query forms,
 * with a NULL status or output argument giving MPI_ERR_ARG. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();

    /* Predefined handles convert to their values and back. */
    CHECK(MPI_Comm_fromint(MPI_Comm_toint(MPI_COMM_WORLD)) == MPI_COMM_WORLD, "comm round trip");
    CHECK(MPI_Comm_toint(MPI_COMM_WORLD) == 0x101, "MPI_COMM_WORLD is 0x101 in the ABI");
    CHECK(MPI_Type_fromint(MPI_Type_toint(MPI_DOUBLE)) == MPI_DOUBLE, "type round trip");
    CHECK(MPI_Op_fromint(MPI_Op_toint(MPI_SUM)) == MPI_SUM, "op round trip");
    CHECK(MPI_Request_toint(MPI_REQUEST_NULL) == 0x180, "MPI_REQUEST_NULL is 0x180");
    CHECK(MPI_Errhandler_fromint(MPI_Errhandler_toint(MPI_ERRORS_RETURN)) == MPI_ERRORS_RETURN,
          "errhandler round trip");

    /* A request created by the library: an int (ours are >= 4096, MPICH's negative; the
     * standard asks only for the round trip) that converts back to the handle. */
    int x = 7, y = 0;
    MPI_Request r;
    MPI_CHECK(MPI_Irecv(&y, 1, MPI_INT, rank, 3, MPI_COMM_WORLD, &r));
    int ri = MPI_Request_toint(r);
    CHECK(ri != MPI_Request_toint(MPI_REQUEST_NULL), "library request converts to %d", ri);
    CHECK(MPI_Request_toint(r) == ri, "the same request converts to the same int");
    MPI_Request back = MPI_Request_fromint(ri);
    CHECK(back == r, "request fromint(toint(r)) != r");
    MPI_CHECK(MPI_Send(&x, 1, MPI_INT, rank, 3, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Wait(&back, MPI_STATUS_IGNORE));
    CHECK(y == 7 && back == MPI_REQUEST_NULL, "received %d", y);

    /* Address arithmetic. */
    char buf[100];
    MPI_Aint a, b;
    MPI_CHECK(MPI_Get_address(&buf[10], &a));
    MPI_CHECK(MPI_Get_address(&buf[90], &b));
    CHECK(MPI_Aint_diff(b, a) == 80, "Aint_diff %ld", (long)MPI_Aint_diff(b, a));
    CHECK(MPI_Aint_add(a, 80) == b, "Aint_add");

    /* Status accessors. */
    MPI_Status st;
    memset(&st, 0, sizeof st);
    MPI_CHECK(MPI_Status_set_source(&st, 5));
    MPI_CHECK(MPI_Status_set_tag(&st, 6));
    MPI_CHECK(MPI_Status_set_error(&st, MPI_ERR_TRUNCATE));
    MPI_CHECK(MPI_Status_set_elements(&st, MPI_INT, 12));
    MPI_CHECK(MPI_Status_set_cancelled(&st, 1));
    int src, tag, err, n, cancelled;
    MPI_Count nc;
    MPI_CHECK(MPI_Status_get_source(&st, &src));
    MPI_CHECK(MPI_Status_get_tag(&st, &tag));
    MPI_CHECK(MPI_Status_get_error(&st, &err));
    MPI_CHECK(MPI_Get_count(&st, MPI_INT, &n));
    MPI_CHECK(MPI_Get_elements_x(&st, MPI_SHORT, &nc));
    MPI_CHECK(MPI_Test_cancelled(&st, &cancelled));
    CHECK(src == 5 && st.MPI_SOURCE == 5 && tag == 6 && err == MPI_ERR_TRUNCATE, "accessors");
    CHECK(n == 12 && nc == 24 && cancelled == 1, "count %d elements %lld cancelled %d", n,
          (long long)nc, cancelled);
    /* MPICH 5.0.2 dereferences these NULL arguments (SIGSEGV); checked on other libraries. */
    if (!tu_is_mpich()) {
        CHECK_ERR_CLASS(MPI_Status_get_source(NULL, &src), MPI_ERR_ARG);
        CHECK_ERR_CLASS(MPI_Get_count(&st, MPI_INT, NULL), MPI_ERR_ARG);
    }
    CHECK_ERR_CLASS(MPI_Get_count(&st, MPI_DATATYPE_NULL, &n), MPI_ERR_TYPE);

    /* Size and extent queries in every form. */
    MPI_Aint lb, ext, tlb, text;
    MPI_Count sizex, lbc, extc;
    MPI_CHECK(MPI_Type_get_true_extent(MPI_DOUBLE_INT, &tlb, &text));
    MPI_CHECK(MPI_Type_get_extent(MPI_DOUBLE_INT, &lb, &ext));
    MPI_CHECK(MPI_Type_size_x(MPI_DOUBLE_INT, &sizex));
    MPI_CHECK(MPI_Type_get_extent_x(MPI_INT, &lbc, &extc));
    CHECK(lb == 0 && ext == (MPI_Aint)sizeof(struct { double d; int i; }), "extent %ld", (long)ext);
    /* The true extent ends at the int: the trailing padding is not data. */
    CHECK(tlb == 0 && text == (MPI_Aint)(sizeof(double) + sizeof(int)), "true extent %ld", (long)text);
    MPI_CHECK(MPI_Type_get_true_extent(MPI_SHORT_INT, &tlb, &text));
    CHECK(tlb == 0 && text == 8, "MPI_SHORT_INT true extent %ld (the int sits at 4)", (long)text);
    MPI_CHECK(MPI_Type_get_true_extent(MPI_INT, &tlb, &text));
    CHECK(tlb == 0 && text == (MPI_Aint)sizeof(int), "MPI_INT true extent %ld", (long)text);
    CHECK(sizex == (MPI_Count)(sizeof(double) + sizeof(int)), "size_x %lld", (long long)sizex);
    CHECK(lbc == 0 && extc == (MPI_Count)sizeof(int), "extent_x");
    CHECK_ERR_CLASS(MPI_Type_get_extent(MPI_DATATYPE_NULL, &lb, &ext), MPI_ERR_TYPE);

    (void)size;
    MPI_CHECK(MPI_Finalize());
    return 0;
}
