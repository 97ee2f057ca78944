/* ranks: 1 2 3 4 */
/* env: FERROMPI_COLL_BARRIER=dissemination FERROMPI_COLL_BCAST=binomial FERROMPI_COLL_REDUCE=binomial FERROMPI_COLL_ALLREDUCE=recursive_doubling FERROMPI_COLL_ALLGATHER=ring FERROMPI_COLL_ALLTOALL=pairwise */
/* Small blocking collectives, which meet on a shared-memory board of the host (one per
 * communicator, 16 per host: mpi-core/src/board.rs), on more communicators at once than there
 * are boards, so that some take messages instead; then half of them freed and as many made
 * again, which claim the boards released (and must find their counters reset). Each round
 * mixes barrier, bcast, reduce, allreduce, allgather and alltoall with every root, in place
 * and not, on contiguous buffers and on a strided vector type (packed into the board and
 * unpacked from it), long runs of reduces and bcasts whose leaves and root race ahead, with a
 * nonblocking allreduce and a point-to-point exchange in flight on the same communicator.
 * Every value is checked; the env variant runs the same calls on messages. */
#include "testutil.h"

enum { COMMS = 24, N = 100 };

static void round_on(MPI_Comm comm, MPI_Datatype strided, int salt)
{
    int rank, size;
    MPI_CHECK(MPI_Comm_rank(comm, &rank));
    MPI_CHECK(MPI_Comm_size(comm, &size));
    int a[2 * N], b[2 * N], c[N], nb_in = rank + salt, nb_out = -1, token = rank, got = -1;
    MPI_Request reqs[3];
    MPI_CHECK(MPI_Iallreduce(&nb_in, &nb_out, 1, MPI_INT, MPI_SUM, comm, &reqs[0]));
    MPI_CHECK(MPI_Irecv(&got, 1, MPI_INT, (rank + size - 1) % size, 5, comm, &reqs[1]));
    MPI_CHECK(MPI_Isend(&token, 1, MPI_INT, (rank + 1) % size, 5, comm, &reqs[2]));

    MPI_CHECK(MPI_Barrier(comm));
    for (int root = 0; root < size; root++) {
        /* Bcast of a strided vector: the gaps keep their own values. */
        for (int i = 0; i < 2 * N; i++)
            a[i] = rank == root ? (i % 2 ? -7 : i * 3 + root + salt) : (i % 2 ? -5 : 0);
        MPI_CHECK(MPI_Bcast(a, 1, strided, root, comm));
        for (int i = 0; i < 2 * N; i++) {
            int want = i % 2 ? (rank == root ? -7 : -5) : i * 3 + root + salt;
            CHECK(a[i] == want, "bcast root %d: a[%d] = %d, want %d", root, i, a[i], want);
        }
        /* Reduce, the root in place on odd roots. */
        for (int i = 0; i < N; i++) {
            a[i] = rank * 1000 + i + salt;
            c[i] = -1;
        }
        int in_place = rank == root && root % 2 == 1;
        if (in_place)
            memcpy(c, a, sizeof(int) * N);
        MPI_CHECK(MPI_Reduce(in_place ? MPI_IN_PLACE : a, c, N, MPI_INT, MPI_SUM, root, comm));
        for (int i = 0; rank == root && i < N; i++) {
            int want = 1000 * size * (size - 1) / 2 + size * (i + salt);
            CHECK(c[i] == want, "reduce root %d: c[%d] = %d, want %d", root, i, c[i], want);
        }
    }
    /* Allreduce of the strided vector (MAX; MPICH refuses predefined ops on derived types,
     * as tests/c/coll_derived.c says), and in place on contiguous ints (SUM). */
    if (!tu_is_mpich()) {
        for (int i = 0; i < 2 * N; i++) {
            a[i] = i % 2 ? -9 : (i + rank * 7) % 50 + salt;
            b[i] = i % 2 ? -3 : 0;
        }
        MPI_CHECK(MPI_Allreduce(a, b, 1, strided, MPI_MAX, comm));
        for (int i = 0; i < 2 * N; i++) {
            int want = -3;
            for (int r = 0; r < size && i % 2 == 0; r++)
                want = r == 0 || (i + r * 7) % 50 + salt > want ? (i + r * 7) % 50 + salt : want;
            CHECK(b[i] == want, "allreduce max: b[%d] = %d, want %d", i, b[i], want);
        }
    }
    for (int i = 0; i < N; i++)
        c[i] = rank + i;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, c, N, MPI_INT, MPI_SUM, comm));
    for (int i = 0; i < N; i++)
        CHECK(c[i] == size * (size - 1) / 2 + size * i, "allreduce in place: c[%d] = %d", i, c[i]);
    /* Allgather and alltoall of 5 ints per rank, in place and not. */
    {
        enum { B = 5 };
        int mine[B], all[4 * B], out[4 * B], in[4 * B];
        for (int i = 0; i < B; i++)
            mine[i] = rank * 100 + i + salt;
        for (int in_place = 0; in_place < 2; in_place++) {
            for (int i = 0; i < size * B; i++)
                all[i] = i / B == rank ? rank * 100 + i % B + salt : -1;
            MPI_CHECK(MPI_Allgather(in_place ? MPI_IN_PLACE : mine, B, MPI_INT, all, B, MPI_INT, comm));
            for (int i = 0; i < size * B; i++)
                CHECK(all[i] == (i / B) * 100 + i % B + salt, "allgather (in place %d): all[%d] = %d", in_place, i, all[i]);
            for (int i = 0; i < size * B; i++) {
                out[i] = rank * 1000 + i + salt; /* block i / B goes to rank i / B */
                in[i] = -1;
            }
            MPI_CHECK(MPI_Alltoall(in_place ? MPI_IN_PLACE : out, B, MPI_INT, in_place ? out : in, B, MPI_INT, comm));
            int *got = in_place ? out : in;
            for (int i = 0; i < size * B; i++)
                CHECK(got[i] == (i / B) * 1000 + rank * B + i % B + salt, "alltoall (in place %d): [%d] = %d", in_place, i, got[i]);
        }
    }
    /* Runs of reduces and bcasts with nothing between them. */
    for (int k = 0; k < 50; k++) {
        int v = rank + k, sum = -1;
        MPI_CHECK(MPI_Reduce(&v, &sum, 1, MPI_INT, MPI_SUM, k % size, comm));
        CHECK(rank != k % size || sum == size * (size - 1) / 2 + size * k, "reduce %d: %d", k, sum);
    }
    for (int k = 0; k < 50; k++) {
        int v = rank == k % size ? k * 11 : -1;
        MPI_CHECK(MPI_Bcast(&v, 1, MPI_INT, k % size, comm));
        CHECK(v == k * 11, "bcast %d: %d", k, v);
    }

    MPI_CHECK(MPI_Waitall(3, reqs, MPI_STATUSES_IGNORE));
    CHECK(nb_out == size * (size - 1) / 2 + size * salt, "iallreduce: %d", nb_out);
    CHECK(got == (rank + size - 1) % size, "ring token %d", got);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    tu_errors_return();
    MPI_Datatype strided; /* N ints, every other one */
    MPI_CHECK(MPI_Type_vector(N, 1, 2, MPI_INT, &strided));
    MPI_CHECK(MPI_Type_commit(&strided));

    MPI_Comm comms[COMMS];
    for (int i = 0; i < COMMS; i++) {
        MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comms[i]));
        round_on(comms[i], strided, i);
    }
    for (int i = 0; i < COMMS; i += 2)
        MPI_CHECK(MPI_Comm_free(&comms[i]));
    for (int i = 0; i < COMMS; i += 2)
        MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, 0, tu_size() - tu_rank(), &comms[i]));
    for (int i = 0; i < COMMS; i++)
        round_on(comms[i], strided, 100 + i);
    for (int i = 0; i < COMMS; i++)
        MPI_CHECK(MPI_Comm_free(&comms[i]));
    round_on(MPI_COMM_WORLD, strided, 7);

    MPI_CHECK(MPI_Type_free(&strided));
    MPI_Finalize();
    if (tu_rank() == 0)
        printf("coll_board: ok\n");
    return 0;
}
