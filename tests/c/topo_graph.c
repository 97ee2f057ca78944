/* ranks: 1 2 3 4 */
/* Graph and distributed-graph topologies and the blocking neighbor collectives.
 * - MPI_Graph_create of a ring (node i: i+1, i-1): Graphdims_get, Graph_get,
 *   Graph_neighbors(_count) for every node, Graph_map, Topo_test; Neighbor_allgather and
 *   Neighbor_alltoall on it, every block checked against the sender's rank arithmetic.
 * - A periodic 1-D Cartesian ring and a 2-D grid: Neighbor_alltoall (the block sent to the -1
 *   neighbour arrives in that neighbour's +1 block, also when both are one process),
 *   Neighbor_allgatherv with reversed displacements, Neighbor_alltoallw with byte displacements
 *   (and from MPI_BOTTOM with absolute addresses);
 *   MPI_PROC_NULL neighbours leave their blocks untouched.
 * - MPI_Dist_graph_create_adjacent (r -> r+1, r+2, weighted) and MPI_Dist_graph_create of the
 *   same graph, all edges given by rank 0 and then each rank giving its own, unweighted:
 *   neighbours and weights, Neighbor_alltoallv with per-edge counts.
 * - Invalid arguments under MPI_ERRORS_RETURN. */
#include "testutil.h"

#define CHECK_ERR_EITHER(call, a, b)                                                               \
    do {                                                                                           \
        int rc_ = (call), cls_ = tu_class_of(rc_);                                                 \
        CHECK(rc_ != MPI_SUCCESS && (cls_ == (a) || cls_ == (b)), #call " gave code %d class %d", \
              rc_, cls_);                                                                          \
    } while (0)

/* The weight markers through volatile pointers: gcc otherwise warns that (int *)10 points at
 * nothing it may read. */
static int *volatile unweighted, *volatile weights_empty;

static int mod(int a, int n) { return ((a % n) + n) % n; }

static void cart_neighbors(int rank, int ndims, const int *dims, const int *periods, int *nb)
{
    int c[8], r = rank;
    for (int i = ndims - 1; i >= 0; i--) {
        c[i] = r % dims[i];
        r /= dims[i];
    }
    for (int d = 0; d < ndims; d++)
        for (int s = 0; s < 2; s++) {
            int x = c[d] + (s ? 1 : -1);
            if (x < 0 || x >= dims[d]) {
                if (!periods[d]) {
                    nb[2 * d + s] = MPI_PROC_NULL;
                    continue;
                }
                x = mod(x, dims[d]);
            }
            int rr = 0;
            for (int i = 0; i < ndims; i++)
                rr = rr * dims[i] + (i == d ? x : c[i]);
            nb[2 * d + s] = rr;
        }
}

/* Alltoall, allgatherv and alltoallw on a Cartesian communicator. */
static void cart_collectives(MPI_Comm cart, int rank, int ndims, const int *dims, const int *periods)
{
    int n = 2 * ndims, nb[16];
    cart_neighbors(rank, ndims, dims, periods, nb);
    int sb[16] = {0}, rb[16] = {0};
    for (int i = 0; i < n; i++) {
        sb[i] = rank * 100 + i;
        rb[i] = -1;
    }
    MPI_CHECK(MPI_Neighbor_alltoall(sb, 1, MPI_INT, rb, 1, MPI_INT, cart));
    for (int j = 0; j < n; j++) {
        /* From my -1 neighbour comes what it sent to its +1 neighbour (block j^1). */
        int want = nb[j] == MPI_PROC_NULL ? -1 : nb[j] * 100 + (j ^ 1);
        CHECK(rb[j] == want, "cart alltoall block %d: %d, expected %d", j, rb[j], want);
    }
    /* Allgatherv: 2 ints per neighbour, blocks in reverse order. */
    int two[2] = {rank, -rank - 1}, g[32] = {0}, counts[16] = {0}, displs[16] = {0};
    for (int j = 0; j < n; j++) {
        counts[j] = 2;
        displs[j] = 2 * (n - 1 - j);
    }
    for (int k = 0; k < 2 * n; k++)
        g[k] = -7;
    MPI_CHECK(MPI_Neighbor_allgatherv(two, 2, MPI_INT, g, counts, displs, MPI_INT, cart));
    for (int j = 0; j < n; j++) {
        int *b = g + displs[j];
        if (nb[j] == MPI_PROC_NULL)
            CHECK(b[0] == -7 && b[1] == -7, "allgatherv block %d touched", j);
        else
            CHECK(b[0] == nb[j] && b[1] == -nb[j] - 1, "allgatherv block %d: %d %d", j, b[0],
                  b[1]);
    }
    /* Alltoallw: a double to each neighbour, received as a double at byte offsets. */
    double sd[16] = {0}, rd[16] = {0};
    int ones[16] = {0};
    MPI_Aint sdis[16] = {0}, rdis[16] = {0};
    MPI_Datatype types[16];
    for (int i = 0; i < n; i++) {
        sd[i] = rank + 0.25 * i;
        rd[i] = -1;
        ones[i] = 1;
        sdis[i] = (MPI_Aint)(i * sizeof(double));
        rdis[i] = (MPI_Aint)((n - 1 - i) * sizeof(double));
        types[i] = MPI_DOUBLE;
    }
    MPI_CHECK(MPI_Neighbor_alltoallw(sd, ones, sdis, types, rd, ones, rdis, types, cart));
    for (int j = 0; j < n; j++) {
        double want = nb[j] == MPI_PROC_NULL ? -1 : nb[j] + 0.25 * (j ^ 1);
        CHECK(rd[n - 1 - j] == want, "alltoallw block %d: %g, expected %g", j, rd[n - 1 - j],
              want);
    }
    /* The same from MPI_BOTTOM, the displacements absolute addresses (as mpi4py's
     * testNeighborAlltoallwBottom does). */
    MPI_Aint sbase, rbase;
    MPI_CHECK(MPI_Get_address(sd, &sbase));
    MPI_CHECK(MPI_Get_address(rd, &rbase));
    for (int i = 0; i < n; i++) {
        rd[i] = -1;
        sdis[i] = MPI_Aint_add(sbase, sdis[i]);
        rdis[i] = MPI_Aint_add(rbase, rdis[i]);
    }
    MPI_CHECK(MPI_Neighbor_alltoallw(MPI_BOTTOM, ones, sdis, types, MPI_BOTTOM, ones, rdis, types,
                                     cart));
    for (int j = 0; j < n; j++) {
        double want = nb[j] == MPI_PROC_NULL ? -1 : nb[j] + 0.25 * (j ^ 1);
        CHECK(rd[n - 1 - j] == want, "alltoallw (MPI_BOTTOM) block %d: %g, expected %g", j,
              rd[n - 1 - j], want);
    }
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    unweighted = MPI_UNWEIGHTED;
    weights_empty = MPI_WEIGHTS_EMPTY;

    /* ---- graph: a ring ---- */
    int index[64], edges[128];
    for (int i = 0; i < size; i++) {
        index[i] = 2 * (i + 1);
        edges[2 * i] = mod(i + 1, size);
        edges[2 * i + 1] = mod(i - 1, size);
    }
    MPI_Comm g;
    MPI_CHECK(MPI_Graph_create(MPI_COMM_WORLD, size, index, edges, 0, &g));
    MPI_CHECK(MPI_Comm_set_errhandler(g, MPI_ERRORS_RETURN));
    int st = -1, nn = -1, ne = -1;
    MPI_CHECK(MPI_Topo_test(g, &st));
    CHECK(st == MPI_GRAPH);
    MPI_CHECK(MPI_Graphdims_get(g, &nn, &ne));
    CHECK(nn == size && ne == 2 * size);
    int gi[64], ge[128];
    MPI_CHECK(MPI_Graph_get(g, size, 2 * size, gi, ge));
    for (int i = 0; i < size; i++)
        CHECK(gi[i] == index[i] && ge[2 * i] == edges[2 * i] && ge[2 * i + 1] == edges[2 * i + 1]);
    for (int r = 0; r < size; r++) {
        int cnt = -1, nb[2];
        MPI_CHECK(MPI_Graph_neighbors_count(g, r, &cnt));
        CHECK(cnt == 2);
        MPI_CHECK(MPI_Graph_neighbors(g, r, 2, nb));
        CHECK(nb[0] == mod(r + 1, size) && nb[1] == mod(r - 1, size));
    }
    int nr = -5;
    MPI_CHECK(MPI_Graph_map(MPI_COMM_WORLD, size, index, edges, &nr));
    CHECK(nr == rank);
    int gath[2] = {-1, -1};
    MPI_CHECK(MPI_Neighbor_allgather(&rank, 1, MPI_INT, gath, 1, MPI_INT, g));
    CHECK(gath[0] == mod(rank + 1, size) && gath[1] == mod(rank - 1, size), "allgather %d %d",
          gath[0], gath[1]);
    int s2[2] = {rank * 10, rank * 10 + 1}, r2[2] = {-1, -1};
    MPI_CHECK(MPI_Neighbor_alltoall(s2, 1, MPI_INT, r2, 1, MPI_INT, g));
    for (int j = 0; j < 2; j++) {
        int from = j == 0 ? mod(rank + 1, size) : mod(rank - 1, size);
        /* Which of the sender's edges points at me: with 1 or 2 nodes both do, and repeated
         * edges match in order. */
        int slot = size <= 2 ? j : (j == 0 ? 1 : 0);
        CHECK(r2[j] == from * 10 + slot, "graph alltoall block %d: %d, expected %d", j, r2[j],
              from * 10 + slot);
    }
    int out = 0;
    CHECK_ERR_CLASS(MPI_Graph_neighbors_count(g, size, &out), MPI_ERR_RANK);
    CHECK_ERR_CLASS(MPI_Cartdim_get(g, &out), MPI_ERR_TOPOLOGY);
    CHECK_ERR_CLASS(MPI_Graphdims_get(MPI_COMM_WORLD, &nn, &ne), MPI_ERR_TOPOLOGY);
    MPI_Comm bad;
    int badedge[2] = {size, 0};
    /* MPICH 5.0.2 accepts an edge to a node that does not exist. */
    if (!tu_is_mpich())
        CHECK_ERR_CLASS(MPI_Graph_create(MPI_COMM_WORLD, 1, (int[]){2}, badedge, 0, &bad),
                        MPI_ERR_ARG);
    MPI_CHECK(MPI_Comm_free(&g));

    /* ---- Cartesian neighbourhoods ---- */
    MPI_Comm ring, grid;
    int rdims[1] = {size}, rper[1] = {1};
    MPI_CHECK(MPI_Cart_create(MPI_COMM_WORLD, 1, rdims, rper, 0, &ring));
    cart_collectives(ring, rank, 1, rdims, rper);
    MPI_CHECK(MPI_Comm_free(&ring));
    int gdims[2] = {0, 0}, gper[2] = {0, 1};
    MPI_CHECK(MPI_Dims_create(size, 2, gdims));
    MPI_CHECK(MPI_Cart_create(MPI_COMM_WORLD, 2, gdims, gper, 0, &grid));
    cart_collectives(grid, rank, 2, gdims, gper);
    MPI_CHECK(MPI_Comm_free(&grid));

    /* ---- distributed graphs: r -> r+1, r -> r+2 (mod size), weight 100*src + dst ---- */
    int dst[2] = {mod(rank + 1, size), mod(rank + 2, size)};
    int src[2] = {mod(rank - 1, size), mod(rank - 2, size)};
    int dw[2] = {100 * rank + dst[0], 100 * rank + dst[1]};
    int sw[2] = {100 * src[0] + rank, 100 * src[1] + rank};
    MPI_Comm dg;
    MPI_CHECK(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, src, sw, 2, dst, dw, MPI_INFO_NULL,
                                             0, &dg));
    MPI_CHECK(MPI_Topo_test(dg, &st));
    CHECK(st == MPI_DIST_GRAPH);
    int indeg = -1, outdeg = -1, weighted = -1;
    MPI_CHECK(MPI_Dist_graph_neighbors_count(dg, &indeg, &outdeg, &weighted));
    CHECK(indeg == 2 && outdeg == 2 && weighted);
    int qs[2], qsw[2], qd[2], qdw[2];
    MPI_CHECK(MPI_Dist_graph_neighbors(dg, 2, qs, qsw, 2, qd, qdw));
    for (int i = 0; i < 2; i++)
        CHECK(qs[i] == src[i] && qsw[i] == sw[i] && qd[i] == dst[i] && qdw[i] == dw[i]);
    /* Alltoallv: i+1 ints to the i-th destination; the j-th source sent me its block j. */
    int sv[3] = {rank * 1000, rank * 1000 + 100, rank * 1000 + 101}, rv[3] = {-1, -1, -1};
    int scnt[2] = {1, 2}, sdis[2] = {0, 1}, rcnt[2] = {1, 2}, rdis[2] = {0, 1};
    MPI_CHECK(MPI_Neighbor_alltoallv(sv, scnt, sdis, MPI_INT, rv, rcnt, rdis, MPI_INT, dg));
    CHECK(rv[0] == src[0] * 1000 && rv[1] == src[1] * 1000 + 100 && rv[2] == src[1] * 1000 + 101,
          "dist alltoallv %d %d %d", rv[0], rv[1], rv[2]);
    MPI_CHECK(MPI_Comm_free(&dg));

    /* The same graph, every edge named by rank 0. */
    int n0 = rank == 0 ? size : 0, srcs[64], degs[64], dsts[128], wts[128];
    for (int a = 0; a < size; a++) {
        srcs[a] = a;
        degs[a] = 2;
        dsts[2 * a] = mod(a + 1, size);
        dsts[2 * a + 1] = mod(a + 2, size);
        wts[2 * a] = 100 * a + dsts[2 * a];
        wts[2 * a + 1] = 100 * a + dsts[2 * a + 1];
    }
    MPI_CHECK(MPI_Dist_graph_create(MPI_COMM_WORLD, n0, srcs, degs, dsts, wts, MPI_INFO_NULL, 0,
                                    &dg));
    MPI_CHECK(MPI_Dist_graph_neighbors_count(dg, &indeg, &outdeg, &weighted));
    CHECK(indeg == 2 && outdeg == 2 && weighted, "%d %d %d", indeg, outdeg, weighted);
    MPI_CHECK(MPI_Dist_graph_neighbors(dg, 2, qs, qsw, 2, qd, qdw));
    /* Order is the implementation's: compare as sets of (neighbour, weight) pairs. */
    for (int i = 0; i < 2; i++) {
        CHECK(qsw[i] == 100 * qs[i] + rank, "in-edge from %d weight %d", qs[i], qsw[i]);
        CHECK(qdw[i] == 100 * rank + qd[i], "out-edge to %d weight %d", qd[i], qdw[i]);
    }
    CHECK((qs[0] == src[0] && qs[1] == src[1]) || (qs[0] == src[1] && qs[1] == src[0]));
    CHECK((qd[0] == dst[0] && qd[1] == dst[1]) || (qd[0] == dst[1] && qd[1] == dst[0]));
    gath[0] = gath[1] = -1;
    MPI_CHECK(MPI_Neighbor_allgather(&rank, 1, MPI_INT, gath, 1, MPI_INT, dg));
    CHECK(gath[0] == qs[0] && gath[1] == qs[1], "dist allgather %d %d", gath[0], gath[1]);
    MPI_CHECK(MPI_Comm_free(&dg));

    /* Each rank names its own out-edges, unweighted. */
    MPI_CHECK(MPI_Dist_graph_create(MPI_COMM_WORLD, 1, &rank, (int[]){2}, dst, unweighted,
                                    MPI_INFO_NULL, 0, &dg));
    MPI_CHECK(MPI_Dist_graph_neighbors_count(dg, &indeg, &outdeg, &weighted));
    CHECK(indeg == 2 && outdeg == 2 && !weighted);
    MPI_CHECK(MPI_Dist_graph_neighbors(dg, 2, qs, unweighted, 2, qd, unweighted));
    CHECK((qs[0] == src[0] && qs[1] == src[1]) || (qs[0] == src[1] && qs[1] == src[0]));
    CHECK((qd[0] == dst[0] && qd[1] == dst[1]) || (qd[0] == dst[1] && qd[1] == dst[0]));
    gath[0] = gath[1] = -1;
    MPI_CHECK(MPI_Neighbor_allgather(&rank, 1, MPI_INT, gath, 1, MPI_INT, dg));
    CHECK(gath[0] == qs[0] && gath[1] == qs[1], "dist allgather %d %d", gath[0], gath[1]);
    MPI_CHECK(MPI_Comm_free(&dg));

    /* A process with no edges at all, weighted with MPI_WEIGHTS_EMPTY. */
    MPI_CHECK(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 0, NULL, weights_empty, 0, NULL,
                                             weights_empty, MPI_INFO_NULL, 0, &dg));
    MPI_CHECK(MPI_Dist_graph_neighbors_count(dg, &indeg, &outdeg, &weighted));
    CHECK(indeg == 0 && outdeg == 0);
    MPI_CHECK(MPI_Neighbor_allgather(&rank, 1, MPI_INT, gath, 1, MPI_INT, dg));
    MPI_CHECK(MPI_Comm_free(&dg));

    /* Errors. */
    int badsrc[1] = {size};
    /* MPICH 5.0.2 accepts a source that is not a rank. */
    if (!tu_is_mpich())
        CHECK_ERR_EITHER(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, badsrc, unweighted, 0,
                                                        NULL, unweighted, MPI_INFO_NULL, 0, &dg),
                         MPI_ERR_RANK, MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Dist_graph_neighbors_count(MPI_COMM_WORLD, &indeg, &outdeg, &weighted),
                    MPI_ERR_TOPOLOGY);
    CHECK_ERR_CLASS(MPI_Neighbor_allgather(&rank, 1, MPI_INT, gath, 1, MPI_INT, MPI_COMM_WORLD),
                    MPI_ERR_TOPOLOGY);

    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("topo_graph: ok\n");
    return 0;
}
