/* osu_coll: latency of one collective over all ranks, OSU method.
 *
 * `-c NAME` picks the collective: allreduce, reduce, bcast, allgather, alltoall or barrier.
 * Sizes are bytes per rank: the message of allreduce / reduce (MPI_FLOAT, MPI_SUM; sizes
 * below 4 bytes are skipped), bcast (MPI_CHAR from rank 0), and the block each rank
 * contributes to allgather and alltoall (MPI_CHAR); barrier runs once, as size 0.
 *
 * For each size: one checked call (every rank verifies its result against a reference it
 * computes itself, outside the timing), a barrier, `skip` warm-up calls, then `iters` timed
 * calls, each timed on its own (MPI_Wtime before and after, as OSU does; reduce and bcast
 * rotate nothing: the root is rank 0). Reported latency = the average over ranks of each
 * rank's mean time per call, in microseconds.
 * Output: comment lines start with '#'; data lines are "size latency_us".
 * Other options: see common.h (defaults: 1000 timed / 100 warm-up up to 8 KiB, 100 / 10
 * above).
 */
#include <mpi.h>
#include "common.h"

enum coll { ALLREDUCE, REDUCE, BCAST, ALLGATHER, ALLTOALL, BARRIER };
static const char *const NAMES[] = {"allreduce", "reduce", "bcast", "allgather", "alltoall", "barrier"};

/* Element i of rank r's contribution: small integers, exact in float sums. */
static float contribution(int r, long i) { return (float)((i * 7 + r * 3) % 64); }

static void run(enum coll c, char *sbuf, char *rbuf, long n)
{
    int count = (int)(c == ALLREDUCE || c == REDUCE ? n / 4 : n);
    switch (c) {
    case ALLREDUCE: MPI_Allreduce(sbuf, rbuf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); break;
    case REDUCE: MPI_Reduce(sbuf, rbuf, count, MPI_FLOAT, MPI_SUM, 0, MPI_COMM_WORLD); break;
    case BCAST: MPI_Bcast(sbuf, count, MPI_CHAR, 0, MPI_COMM_WORLD); break;
    case ALLGATHER: MPI_Allgather(sbuf, count, MPI_CHAR, rbuf, count, MPI_CHAR, MPI_COMM_WORLD); break;
    case ALLTOALL: MPI_Alltoall(sbuf, count, MPI_CHAR, rbuf, count, MPI_CHAR, MPI_COMM_WORLD); break;
    case BARRIER: MPI_Barrier(MPI_COMM_WORLD); break;
    }
}

/* Byte j of the block rank `from` sends to rank `to` in allgather / alltoall / bcast. */
static char byte_of(int from, int to, long j) { return (char)((j * 13 + from * 31 + to * 7) & 0xff); }

/* One call with known inputs; returns the index of the first wrong result element, or -1. */
static long checked(enum coll c, char *sbuf, char *rbuf, long n, int rank, int nranks)
{
    long count = (c == ALLREDUCE || c == REDUCE) ? n / 4 : n;
    float *fs = (float *)sbuf, *fr = (float *)rbuf;
    switch (c) {
    case ALLREDUCE:
    case REDUCE:
        for (long i = 0; i < count; i++) fs[i] = contribution(rank, i);
        break;
    case BCAST:
        for (long j = 0; j < n; j++) sbuf[j] = rank == 0 ? byte_of(0, 0, j) : 0;
        break;
    case ALLGATHER:
        for (long j = 0; j < n; j++) sbuf[j] = byte_of(rank, 0, j);
        break;
    case ALLTOALL:
        for (int to = 0; to < nranks; to++)
            for (long j = 0; j < n; j++) sbuf[to * n + j] = byte_of(rank, to, j);
        break;
    case BARRIER:
        break;
    }
    run(c, sbuf, rbuf, n);
    switch (c) {
    case ALLREDUCE:
    case REDUCE:
        if (c == REDUCE && rank != 0) return -1;
        for (long i = 0; i < count; i++) {
            float want = 0;
            for (int r = 0; r < nranks; r++) want += contribution(r, i);
            if (fr[i] != want) return i;
        }
        return -1;
    case BCAST:
        for (long j = 0; j < n; j++)
            if (sbuf[j] != byte_of(0, 0, j)) return j;
        return -1;
    case ALLGATHER:
        for (int from = 0; from < nranks; from++)
            for (long j = 0; j < n; j++)
                if (rbuf[from * n + j] != byte_of(from, 0, j)) return from * n + j;
        return -1;
    case ALLTOALL:
        for (int from = 0; from < nranks; from++)
            for (long j = 0; j < n; j++)
                if (rbuf[from * n + j] != byte_of(from, rank, j)) return from * n + j;
        return -1;
    case BARRIER:
        return -1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    /* Take `-c NAME` out; common.h parses the rest. */
    int c = -1, kept = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            for (int k = 0; k < 6; k++)
                if (!strcmp(argv[i + 1], NAMES[k])) c = k;
            i++;
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    struct bench_opts o;
    if (c < 0 || bench_parse(argc, argv, &o, 4, 1000, 100, 100, 10) != 0) {
        if (rank == 0 && c < 0) fprintf(stderr, "osu_coll: -c allreduce|reduce|bcast|allgather|alltoall|barrier\n");
        MPI_Finalize();
        return 2;
    }
    if (c == BARRIER) {
        o.nsizes = 1;
        o.sizes[0] = 0;
        o.max_size = 0;
    }
    /* allgather and alltoall hold one block per rank. */
    long room = o.max_size * (c == ALLGATHER || c == ALLTOALL ? nranks : 1);
    char *sbuf = bench_alloc(room, 'a'), *rbuf = bench_alloc(room, 'b');
    if (!sbuf || !rbuf) {
        fprintf(stderr, "rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) {
        printf("# ferrompi osu_coll %s on %d ranks (OSU method: mean time per call, averaged over ranks)\n", NAMES[c], nranks);
        printf("# size latency_us\n");
        fflush(stdout);
    }
    int failed = 0;
    for (int k = 0; k < o.nsizes; k++) {
        long n = o.sizes[k];
        if ((c == ALLREDUCE || c == REDUCE) && n < 4) continue;
        int iters = n > BENCH_LARGE_MESSAGE ? o.iters_large : o.iters_small;
        int skip = n > BENCH_LARGE_MESSAGE ? o.skip_large : o.skip_small;
        long bad = checked((enum coll)c, sbuf, rbuf, n, rank, nranks);
        if (bad >= 0) {
            fprintf(stderr, "rank %d: %s of %ld bytes: wrong result at element %ld\n", rank, NAMES[c], n, bad);
            failed = 1;
        }
        MPI_Barrier(MPI_COMM_WORLD);
        double total = 0.0, warm = MPI_Wtime();
        for (int i = 0; i < skip + iters; i++) {
            if (i == skip) iters = bench_timed_iters(&o, iters, skip, MPI_Wtime() - warm);
            double t0 = MPI_Wtime();
            run((enum coll)c, sbuf, rbuf, n);
            if (i >= skip) total += MPI_Wtime() - t0;
        }
        double mine = total * 1e6 / iters, sum = 0.0;
        MPI_Reduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            printf("%ld %.3f\n", n, sum / nranks);
            fflush(stdout);
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return failed ? 3 : 0;
}
