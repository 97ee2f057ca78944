/* ranks: 1 2 3 4 */
/* Cartesian topologies: MPI_Dims_create against known factorisations, MPI_Cart_create over
 * Dims_create's grid (one dimension periodic), every query checked against coordinates computed
 * here from rank arithmetic (row-major), Cart_shift at periodic and non-periodic edges, Cart_sub,
 * Cart_map, Topo_test, Comm_dup keeping the topology, a grid smaller than the communicator, and
 * invalid arguments under MPI_ERRORS_RETURN. */
#include "testutil.h"

/* The call must fail with one of two classes (where implementations may differ). */
#define CHECK_ERR_EITHER(call, a, b)                                                               \
    do {                                                                                           \
        int rc_ = (call), cls_ = tu_class_of(rc_);                                                 \
        CHECK(rc_ != MPI_SUCCESS && (cls_ == (a) || cls_ == (b)), #call " gave code %d class %d", \
              rc_, cls_);                                                                          \
    } while (0)

static void dims_case(int nnodes, int ndims, const int *given, const int *want)
{
    int d[8];
    memcpy(d, given, sizeof(int) * ndims);
    MPI_CHECK(MPI_Dims_create(nnodes, ndims, d));
    for (int i = 0; i < ndims; i++)
        CHECK(d[i] == want[i], "Dims_create(%d, %d): dims[%d] = %d, expected %d", nnodes, ndims,
              i, d[i], want[i]);
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();

    /* Dims_create: balanced, non-increasing, fixed entries kept. */
    dims_case(6, 2, (int[]){0, 0}, (int[]){3, 2});
    dims_case(7, 2, (int[]){0, 0}, (int[]){7, 1});
    dims_case(12, 3, (int[]){0, 0, 0}, (int[]){3, 2, 2});
    dims_case(16, 3, (int[]){0, 0, 0}, (int[]){4, 2, 2});
    dims_case(72, 2, (int[]){0, 0}, (int[]){9, 8});
    dims_case(24, 3, (int[]){0, 3, 0}, (int[]){4, 3, 2});
    dims_case(1, 3, (int[]){0, 0, 0}, (int[]){1, 1, 1});
    dims_case(8, 2, (int[]){2, 4}, (int[]){2, 4});
    {
        int d[2] = {0, 3};
        CHECK_ERR_CLASS(MPI_Dims_create(10, 2, d), MPI_ERR_DIMS);
    }

    /* A 2-D grid of every rank, periodic in dimension 0 only. */
    int dims[2] = {0, 0}, periods[2] = {1, 0};
    MPI_CHECK(MPI_Dims_create(size, 2, dims));
    CHECK(dims[0] * dims[1] == size && dims[0] >= dims[1]);
    MPI_Comm cart;
    MPI_CHECK(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart));
    CHECK(cart != MPI_COMM_NULL);
    int status = -1, nd = -1, cr = -1;
    MPI_CHECK(MPI_Topo_test(cart, &status));
    CHECK(status == MPI_CART, "Topo_test %d", status);
    MPI_CHECK(MPI_Topo_test(MPI_COMM_WORLD, &status));
    CHECK(status == MPI_UNDEFINED);
    MPI_CHECK(MPI_Cartdim_get(cart, &nd));
    CHECK(nd == 2);
    MPI_CHECK(MPI_Comm_rank(cart, &cr));
    CHECK(cr == rank, "reorder is not done: cart rank %d, world %d", cr, rank);
    int gd[2], gp[2], gc[2];
    MPI_CHECK(MPI_Cart_get(cart, 2, gd, gp, gc));
    CHECK(gd[0] == dims[0] && gd[1] == dims[1] && gp[0] == 1 && gp[1] == 0);
    CHECK(gc[0] == rank / dims[1] && gc[1] == rank % dims[1], "coords %d %d", gc[0], gc[1]);

    for (int r = 0; r < size; r++) {
        int c[2], back = -1;
        MPI_CHECK(MPI_Cart_coords(cart, r, 2, c));
        CHECK(c[0] == r / dims[1] && c[1] == r % dims[1], "coords of %d: %d %d", r, c[0], c[1]);
        MPI_CHECK(MPI_Cart_rank(cart, c, &back));
        CHECK(back == r);
        /* Periodic dimension 0 wraps both ways. */
        int w[2] = {c[0] - dims[0], c[1]};
        MPI_CHECK(MPI_Cart_rank(cart, w, &back));
        CHECK(back == r, "wrapped coords %d %d -> %d, expected %d", w[0], w[1], back, r);
        w[0] = c[0] + 2 * dims[0];
        MPI_CHECK(MPI_Cart_rank(cart, w, &back));
        CHECK(back == r);
    }

    /* Shifts. Dimension 0 periodic, dimension 1 not. */
    int c0 = rank / dims[1], c1 = rank % dims[1];
    for (int disp = -2; disp <= 2; disp++) {
        int src = -5, dst = -5;
        MPI_CHECK(MPI_Cart_shift(cart, 0, disp, &src, &dst));
        int ws = ((c0 - disp) % dims[0] + dims[0]) % dims[0] * dims[1] + c1;
        int wd = ((c0 + disp) % dims[0] + dims[0]) % dims[0] * dims[1] + c1;
        CHECK(src == ws && dst == wd, "shift 0 by %d: %d %d, expected %d %d", disp, src, dst, ws,
              wd);
        MPI_CHECK(MPI_Cart_shift(cart, 1, disp, &src, &dst));
        ws = (c1 - disp >= 0 && c1 - disp < dims[1]) ? c0 * dims[1] + c1 - disp : MPI_PROC_NULL;
        wd = (c1 + disp >= 0 && c1 + disp < dims[1]) ? c0 * dims[1] + c1 + disp : MPI_PROC_NULL;
        CHECK(src == ws && dst == wd, "shift 1 by %d: %d %d, expected %d %d", disp, src, dst, ws,
              wd);
    }

    /* Cart_sub keeping dimension 1: the row of this rank. */
    MPI_Comm row, point;
    MPI_CHECK(MPI_Cart_sub(cart, (int[]){0, 1}, &row));
    int rs = -1, rr = -1;
    MPI_CHECK(MPI_Comm_size(row, &rs));
    MPI_CHECK(MPI_Comm_rank(row, &rr));
    CHECK(rs == dims[1] && rr == c1, "row size %d rank %d", rs, rr);
    MPI_CHECK(MPI_Cartdim_get(row, &nd));
    CHECK(nd == 1);
    MPI_CHECK(MPI_Cart_get(row, 1, gd, gp, gc));
    CHECK(gd[0] == dims[1] && gp[0] == 0 && gc[0] == c1);
    int sum = -1;
    MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, row));
    CHECK(sum == c0 * dims[1] * dims[1] + dims[1] * (dims[1] - 1) / 2, "row sum %d", sum);
    /* Keeping dimension 0: the column. */
    MPI_Comm col;
    MPI_CHECK(MPI_Cart_sub(cart, (int[]){1, 0}, &col));
    MPI_CHECK(MPI_Comm_size(col, &rs));
    MPI_CHECK(MPI_Comm_rank(col, &rr));
    CHECK(rs == dims[0] && rr == c0);
    MPI_CHECK(MPI_Cart_get(col, 1, gd, gp, gc));
    CHECK(gd[0] == dims[0] && gp[0] == 1 && gc[0] == c0);
    /* Keeping nothing: a 0-dimensional grid of one process. */
    MPI_CHECK(MPI_Cart_sub(cart, (int[]){0, 0}, &point));
    MPI_CHECK(MPI_Comm_size(point, &rs));
    MPI_CHECK(MPI_Cartdim_get(point, &nd));
    CHECK(rs == 1 && nd == 0);
    MPI_CHECK(MPI_Comm_free(&point));
    MPI_CHECK(MPI_Comm_free(&col));
    MPI_CHECK(MPI_Comm_free(&row));

    /* Comm_dup keeps the topology. */
    MPI_Comm dup;
    MPI_CHECK(MPI_Comm_dup(cart, &dup));
    MPI_CHECK(MPI_Topo_test(dup, &status));
    CHECK(status == MPI_CART);
    MPI_CHECK(MPI_Cart_get(dup, 2, gd, gp, gc));
    CHECK(gd[0] == dims[0] && gd[1] == dims[1] && gp[0] == 1 && gp[1] == 0 && gc[0] == c0);
    MPI_CHECK(MPI_Comm_free(&dup));

    /* Cart_map: the identity for ranks inside the grid. */
    int nr = -5;
    int small = size > 1 ? size - 1 : 1;
    MPI_CHECK(MPI_Cart_map(MPI_COMM_WORLD, 1, &small, (int[]){0}, &nr));
    CHECK(nr == (rank < small ? rank : MPI_UNDEFINED), "Cart_map %d", nr);

    /* A 1-D grid smaller than the communicator: the last rank gets MPI_COMM_NULL. */
    MPI_Comm line;
    MPI_CHECK(MPI_Cart_create(MPI_COMM_WORLD, 1, &small, (int[]){0}, 1, &line));
    if (rank < small) {
        CHECK(line != MPI_COMM_NULL);
        MPI_CHECK(MPI_Comm_size(line, &rs));
        CHECK(rs == small);
        int src, dst;
        MPI_CHECK(MPI_Cart_shift(line, 0, 1, &src, &dst));
        CHECK(src == (rank == 0 ? MPI_PROC_NULL : rank - 1));
        CHECK(dst == (rank == small - 1 ? MPI_PROC_NULL : rank + 1));
        MPI_CHECK(MPI_Comm_free(&line));
    } else {
        CHECK(line == MPI_COMM_NULL);
    }

    /* Errors. */
    MPI_CHECK(MPI_Comm_set_errhandler(cart, MPI_ERRORS_RETURN));
    int big = size + 1, out = 0, c[2];
    CHECK_ERR_EITHER(MPI_Cart_create(MPI_COMM_WORLD, 1, &big, (int[]){0}, 0, &line),
                     MPI_ERR_TOPOLOGY, MPI_ERR_ARG);
    /* MPICH 5.0.2 accepts a negative dimension (and returns a communicator). */
    if (!tu_is_mpich())
        CHECK_ERR_EITHER(MPI_Cart_create(MPI_COMM_WORLD, 1, (int[]){-1}, (int[]){0}, 0, &line),
                         MPI_ERR_DIMS, MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Cart_coords(cart, size, 2, c), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Cart_coords(cart, -1, 2, c), MPI_ERR_RANK);
    CHECK_ERR_EITHER(MPI_Cart_rank(cart, (int[]){0, dims[1]}, &out), MPI_ERR_ARG, MPI_ERR_RANK);
    CHECK_ERR_EITHER(MPI_Cart_rank(cart, (int[]){0, -1}, &out), MPI_ERR_ARG, MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Cart_shift(cart, 2, 1, &out, &out), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Cart_shift(cart, -1, 1, &out, &out), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Cartdim_get(MPI_COMM_WORLD, &out), MPI_ERR_TOPOLOGY);
    CHECK_ERR_CLASS(MPI_Cart_coords(MPI_COMM_WORLD, 0, 2, c), MPI_ERR_TOPOLOGY);
    CHECK_ERR_CLASS(MPI_Cart_shift(MPI_COMM_WORLD, 0, 1, &out, &out), MPI_ERR_TOPOLOGY);
    CHECK_ERR_CLASS(MPI_Topo_test(MPI_COMM_NULL, &out), MPI_ERR_COMM);

    MPI_CHECK(MPI_Comm_free(&cart));
    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("topo_cart: ok\n");
    return 0;
}
