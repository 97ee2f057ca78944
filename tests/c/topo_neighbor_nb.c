/* ranks: 1 2 3 4 */
/* Nonblocking and persistent neighbor collectives: MPI_Ineighbor_allgather, allgatherv,
 * alltoall, alltoallv, alltoallw (and a _c form) on a periodic ring (at 1 and 2 ranks both
 * neighbours are the same process), on a non-periodic line (MPI_PROC_NULL ends keep their
 * blocks), on a distributed graph; several outstanding at once with point-to-point traffic in
 * between; MPI_Neighbor_alltoall_init and MPI_Neighbor_allgather_init restarted with new
 * contents. Expected values come from the neighbours' ranks. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    int rank = tu_rank(), size = tu_size();
    int dims[1] = {size}, periods[1] = {1};
    MPI_Comm ring, line, dg;
    MPI_CHECK(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring));
    int left = (rank + size - 1) % size, right = (rank + 1) % size;
    MPI_Request r[6];

    /* --- several outstanding on the ring, with point-to-point in between --- */
    {
        int ag[2] = {-1, -1}, a2a_s[2] = {rank * 10, rank * 10 + 1}, a2a_r[2] = {-1, -1};
        int agv[3] = {-1, -1, -1}, counts[2] = {1, 1}, displs[2] = {2, 0};
        int v_s[4] = {rank, rank + 100, rank + 200, rank + 300}, v_r[4] = {-1, -1, -1, -1};
        int v_sc[2] = {2, 2}, v_sd[2] = {0, 2}, v_rc[2] = {2, 2}, v_rd[2] = {2, 0};
        int w_s[2] = {rank * 7, rank * 7 + 1}, w_r[2] = {-1, -1};
        int w_c[2] = {1, 1};
        MPI_Aint w_sd[2] = {0, sizeof(int)}, w_rd[2] = {sizeof(int), 0};
        MPI_Datatype w_t[2] = {MPI_INT, MPI_INT};
        MPI_CHECK(MPI_Ineighbor_allgather(&rank, 1, MPI_INT, ag, 1, MPI_INT, ring, &r[0]));
        MPI_CHECK(MPI_Ineighbor_alltoall(a2a_s, 1, MPI_INT, a2a_r, 1, MPI_INT, ring, &r[1]));
        MPI_CHECK(MPI_Ineighbor_allgatherv(&rank, 1, MPI_INT, agv, counts, displs, MPI_INT, ring, &r[2]));
        MPI_CHECK(MPI_Ineighbor_alltoallv(v_s, v_sc, v_sd, MPI_INT, v_r, v_rc, v_rd, MPI_INT, ring, &r[3]));
        MPI_CHECK(MPI_Ineighbor_alltoallw(w_s, w_c, w_sd, w_t, w_r, w_c, w_rd, w_t, ring, &r[4]));
        int out = rank, in = -1;
        MPI_CHECK(MPI_Sendrecv(&out, 1, MPI_INT, right, 9, &in, 1, MPI_INT, left, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        CHECK(in == left);
        MPI_CHECK(MPI_Waitall(5, r, MPI_STATUSES_IGNORE));
        CHECK(ag[0] == left && ag[1] == right, "Ineighbor_allgather: %d %d", ag[0], ag[1]);
        /* what the left neighbour sent to its right, and the right one to its left */
        CHECK(a2a_r[0] == left * 10 + 1 && a2a_r[1] == right * 10, "Ineighbor_alltoall: %d %d", a2a_r[0], a2a_r[1]);
        CHECK(agv[2] == left && agv[0] == right && agv[1] == -1, "Ineighbor_allgatherv: %d %d %d", agv[0], agv[1], agv[2]);
        /* alltoallv: block 0 (ints 0-1) goes left, block 1 (ints 2-3) right; from the left
         * neighbour (its block 1) into ints 2-3, from the right (its block 0) into ints 0-1 */
        CHECK(v_r[2] == left + 200 && v_r[3] == left + 300 && v_r[0] == right && v_r[1] == right + 100,
              "Ineighbor_alltoallv: %d %d %d %d", v_r[0], v_r[1], v_r[2], v_r[3]);
        CHECK(w_r[1] == left * 7 + 1 && w_r[0] == right * 7, "Ineighbor_alltoallw: %d %d", w_r[0], w_r[1]);
    }

    /* --- a line: the ends' missing neighbours are MPI_PROC_NULL --- */
    {
        int nper[1] = {0};
        MPI_CHECK(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, nper, 0, &line));
        long ag[2] = {-5, -5}, me = rank;
        MPI_CHECK(MPI_Ineighbor_allgather_c(&me, (MPI_Count)1, MPI_LONG, ag, (MPI_Count)1, MPI_LONG, line, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        CHECK(ag[0] == (rank > 0 ? rank - 1 : -5), "line left block %ld", ag[0]);
        CHECK(ag[1] == (rank < size - 1 ? rank + 1 : -5), "line right block %ld", ag[1]);
        MPI_CHECK(MPI_Comm_free(&line));
    }

    /* --- a distributed graph: each rank hears from its left, talks to its right --- */
    {
        int one = 1;
        MPI_CHECK(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, &left, &one, 1, &right, &one,
                                                 MPI_INFO_NULL, 0, &dg));
        int got = -1, mine = rank * 3 + 1;
        MPI_CHECK(MPI_Ineighbor_alltoall(&mine, 1, MPI_INT, &got, 1, MPI_INT, dg, &r[0]));
        MPI_CHECK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
        CHECK(got == left * 3 + 1, "dist graph Ineighbor_alltoall: %d", got);
        MPI_CHECK(MPI_Comm_free(&dg));
    }

    /* --- persistent: built once, restarted with new contents --- */
    {
        int s[2], rv[2], ag[2], me;
        MPI_CHECK(MPI_Neighbor_alltoall_init(s, 1, MPI_INT, rv, 1, MPI_INT, ring, MPI_INFO_NULL, &r[0]));
        MPI_CHECK(MPI_Neighbor_allgather_init(&me, 1, MPI_INT, ag, 1, MPI_INT, ring, MPI_INFO_NULL, &r[1]));
        for (int it = 0; it < 5; it++) {
            s[0] = rank * 100 + it;
            s[1] = rank * 100 + 50 + it;
            me = rank + it * 1000;
            rv[0] = rv[1] = ag[0] = ag[1] = -1;
            MPI_CHECK(MPI_Startall(2, r));
            MPI_CHECK(MPI_Waitall(2, r, MPI_STATUSES_IGNORE));
            CHECK(rv[0] == left * 100 + 50 + it && rv[1] == right * 100 + it, "iteration %d: alltoall_init %d %d", it, rv[0], rv[1]);
            CHECK(ag[0] == left + it * 1000 && ag[1] == right + it * 1000, "iteration %d: allgather_init %d %d", it, ag[0], ag[1]);
        }
        MPI_CHECK(MPI_Request_free(&r[0]));
        MPI_CHECK(MPI_Request_free(&r[1]));
    }

    MPI_CHECK(MPI_Comm_free(&ring));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
