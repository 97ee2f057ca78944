/* Shared helpers for the ferrompi benchmarks (OSU-style).
 *
 * Only plain MPI-1 calls are used by the benchmarks so they build with any
 * implementation's mpicc. This header is plain C (no MPI calls).
 *
 * Options common to all programs:
 *   -m MAX     largest message size in bytes (default 4194304)
 *   -n MIN     smallest message size (default 0 for latency, 1 for bandwidth)
 *   -s LIST    explicit comma-separated size list (overrides -n/-m)
 *   -i N       timed iterations for small messages (<= 8192 B)
 *   -I N       timed iterations for large messages (> 8192 B)
 *   -x N       warm-up iterations for small messages
 *   -X N       warm-up iterations for large messages
 *   -q         quick: divide the timed iteration counts by 10 (at least 2);
 *              warm-up counts stay (they are cheap and the first size needs them)
 *   -t SECONDS time budget per size: the timed iterations are cut so that they take about
 *              this long at the pace of the warm-up (measured on rank 0; at least 2
 *              iterations, at least 1 warm-up); bounds runs where an MPI collapses
 */
#ifndef FERROMPI_BENCH_COMMON_H
#define FERROMPI_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_LARGE_MESSAGE 8192
#define BENCH_WINDOW 64 /* messages in flight per window of the bandwidth tests, as OSU's */
#define BENCH_MAX_SIZES 64

struct bench_opts {
    long sizes[BENCH_MAX_SIZES];
    int nsizes;
    long max_size;
    int iters_small, iters_large, skip_small, skip_large;
    double budget; /* -t: seconds of timed iterations per size, 0 = no limit */
};

static int bench_parse(int argc, char **argv, struct bench_opts *o, long min_default,
                       int iters_small, int iters_large, int skip_small, int skip_large)
{
    long min = min_default, max = 4L << 20;
    const char *list = NULL;
    int quick = 0;
    o->iters_small = iters_small;
    o->iters_large = iters_large;
    o->skip_small = skip_small;
    o->skip_large = skip_large;
    o->budget = 0.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (!strcmp(a, "-q")) { quick = 1; continue; }
        if (a[0] != '-' || a[1] == 0 || a[2] != 0 || v == NULL) {
            fprintf(stderr, "bad argument '%s' (see benches/common.h for options)\n", a);
            return -1;
        }
        switch (a[1]) {
        case 'm': max = atol(v); break;
        case 'n': min = atol(v); break;
        case 's': list = v; break;
        case 'i': o->iters_small = atoi(v); break;
        case 'I': o->iters_large = atoi(v); break;
        case 'x': o->skip_small = atoi(v); break;
        case 'X': o->skip_large = atoi(v); break;
        case 't': o->budget = atof(v); break;
        default:
            fprintf(stderr, "unknown option '%s'\n", a);
            return -1;
        }
        i++;
    }
    if (quick) {
        int *p[2] = {&o->iters_small, &o->iters_large};
        for (int k = 0; k < 2; k++) {
            *p[k] /= 10;
            if (*p[k] < 2) *p[k] = 2;
        }
    }
    o->nsizes = 0;
    if (list) {
        const char *s = list;
        while (*s && o->nsizes < BENCH_MAX_SIZES) {
            char *end;
            long v = strtol(s, &end, 10);
            if (end == s || v < 0) {
                fprintf(stderr, "bad size list '%s'\n", list);
                return -1;
            }
            o->sizes[o->nsizes++] = v;
            s = (*end == ',') ? end + 1 : end;
            if (*end && *end != ',') {
                fprintf(stderr, "bad size list '%s'\n", list);
                return -1;
            }
        }
    } else {
        if (min == 0) o->sizes[o->nsizes++] = 0;
        for (long s = (min < 1 ? 1 : min); s <= max && o->nsizes < BENCH_MAX_SIZES; s *= 2)
            o->sizes[o->nsizes++] = s;
    }
    o->max_size = 0;
    for (int k = 0; k < o->nsizes; k++)
        if (o->sizes[k] > o->max_size) o->max_size = o->sizes[k];
    if (o->iters_small < 1 || o->iters_large < 1 || o->skip_small < 0 || o->skip_large < 0 || o->budget < 0) {
        fprintf(stderr, "iteration counts and the time budget must be positive\n");
        return -1;
    }
    if (o->budget > 0) { /* the pace comes from the warm-up */
        if (o->skip_small < 1) o->skip_small = 1;
        if (o->skip_large < 1) o->skip_large = 1;
    }
    return 0;
}

/* Page-aligned buffer, touched so that page faults stay out of the timed loop. */
static char *bench_alloc(long size, int fill)
{
    void *p = NULL;
    size_t n = (size_t)(size > 0 ? size : 1);
    if (posix_memalign(&p, 4096, n) != 0) return NULL;
    memset(p, fill, n);
    return (char *)p;
}

/* What the point-to-point benchmarks start with: MPI_Init, the options, the rank count
 * (exactly two, or with `pairs` any even count: rank r < N/2 pairs with r + N/2, as OSU's
 * multi-pair tests do), and send and receive buffers of the largest size. Returns 0, or the
 * status main should exit with after MPI_Finalize. */
static inline int bench_start(int *argc, char ***argv, const char *name, int pairs,
                       struct bench_opts *o, long min_default, int iters_small, int iters_large,
                       int skip_small, int skip_large, int *rank, char **sbuf, char **rbuf)
{
    int size;
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (bench_parse(*argc, *argv, o, min_default, iters_small, iters_large, skip_small,
                    skip_large) != 0)
        return 2;
    if (pairs ? (size < 2 || size % 2 != 0) : size != 2) {
        if (*rank == 0)
            fprintf(stderr, "%s needs %s ranks (got %d)\n", name, pairs ? "an even number of" : "exactly 2", size);
        return 2;
    }
    *sbuf = bench_alloc(o->max_size, 'a');
    *rbuf = bench_alloc(o->max_size, 'b');
    if (!*sbuf || !*rbuf) {
        fprintf(stderr, "rank %d: out of memory\n", *rank);
        return 1;
    }
    return 0;
}

/* Deterministic pattern depending on the size, the sender and a sequence number. */
static inline void bench_pattern(char *buf, long size, int rank, int seq)
{
    for (long i = 0; i < size; i++)
        buf[i] = (char)((i * 131 + size * 7 + rank * 17 + seq * 29) & 0xff);
}

static inline long bench_check(const char *buf, long size, int rank, int seq)
{
    for (long i = 0; i < size; i++)
        if (buf[i] != (char)((i * 131 + size * 7 + rank * 17 + seq * 29) & 0xff)) return i;
    return -1;
}

/* The timed iteration count of a size under -t: `iters`, cut so that the timed loop takes
 * about o->budget seconds at the pace of the `skip` warm-up iterations that took `warm_s`
 * seconds on rank 0 (at least 2). Every rank takes rank 0's count (MPI_Bcast, called outside
 * the timing, and only under -t, so runs without it make no extra call). */
static inline int bench_timed_iters(const struct bench_opts *o, int iters, int skip, double warm_s)
{
    if (o->budget <= 0) return iters;
    int n = iters;
    if (skip > 0 && warm_s > 0) {
        double fit = o->budget / (warm_s / skip);
        if (fit < n) n = fit < 2 ? 2 : (int)fit;
    }
    MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return n;
}

/* One checked message of n bytes from `from` to `to` (tag 7, not timed): the sender fills a
 * pattern for size index k, the receiver verifies it. Returns 1 on the receiver when the data
 * is wrong (reported on stderr), else 0. Ranks that are neither do nothing. */
static inline int bench_checked_send(char *sbuf, char *rbuf, long n, int k, int rank, int from, int to)
{
    MPI_Status st;
    if (rank == from) {
        bench_pattern(sbuf, n, from, k);
        MPI_Send(sbuf, (int)n, MPI_CHAR, to, 7, MPI_COMM_WORLD);
    } else if (rank == to) {
        memset(rbuf, 0, (size_t)(n > 0 ? n : 1));
        MPI_Recv(rbuf, (int)n, MPI_CHAR, from, 7, MPI_COMM_WORLD, &st);
        long bad = bench_check(rbuf, n, from, k);
        if (bad >= 0) {
            fprintf(stderr, "rank %d: data mismatch at byte %ld of %ld-byte message from rank %d\n",
                    rank, bad, n, from);
            return 1;
        }
    }
    return 0;
}

/* Both directions of a pair (the lower rank sends first): what the ping-pong and
 * bidirectional tests check once per size. */
static inline int bench_checked_exchange(char *sbuf, char *rbuf, long n, int k, int rank, int peer)
{
    int lo = rank < peer ? rank : peer, hi = rank < peer ? peer : rank;
    int failed = bench_checked_send(sbuf, rbuf, n, k, rank, lo, hi);
    return bench_checked_send(sbuf, rbuf, n, k, rank, hi, lo) | failed;
}

/* Runs `round(ctx)` for messages of n bytes, OSU's way: a barrier, the warm-up rounds, then
 * the timed ones (their count cut to -t's budget, bench_timed_iters). Returns the seconds the
 * timed rounds took on this rank; *timed gets their count. */
static inline double bench_rounds(const struct bench_opts *o, long n, int *timed, void (*round)(void *), void *ctx)
{
    int iters = n > BENCH_LARGE_MESSAGE ? o->iters_large : o->iters_small;
    int skip = n > BENCH_LARGE_MESSAGE ? o->skip_large : o->skip_small;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = 0.0, warm = MPI_Wtime();
    for (int i = 0; i < skip + iters; i++) {
        if (i == skip) {
            iters = bench_timed_iters(o, iters, skip, MPI_Wtime() - warm);
            t0 = MPI_Wtime();
        }
        round(ctx);
    }
    *timed = iters;
    return MPI_Wtime() - t0;
}

/* One rank's side of a pair in the latency and bandwidth tests: `leads` sends first (ping-pong)
 * or is the sender (bandwidth). */
struct bench_pair {
    char *sbuf, *rbuf;
    long n;
    int peer, leads;
};

/* One round trip of n bytes (tag 1): the leader sends then receives, the other the reverse. */
static inline void bench_pingpong(void *ctx)
{
    struct bench_pair *p = (struct bench_pair *)ctx;
    MPI_Status st;
    if (p->leads) {
        MPI_Send(p->sbuf, (int)p->n, MPI_CHAR, p->peer, 1, MPI_COMM_WORLD);
        MPI_Recv(p->rbuf, (int)p->n, MPI_CHAR, p->peer, 1, MPI_COMM_WORLD, &st);
    } else {
        MPI_Recv(p->rbuf, (int)p->n, MPI_CHAR, p->peer, 1, MPI_COMM_WORLD, &st);
        MPI_Send(p->sbuf, (int)p->n, MPI_CHAR, p->peer, 1, MPI_COMM_WORLD);
    }
}

/* One window of the bandwidth test: the leader posts BENCH_WINDOW sends of n bytes (tag 100),
 * the other as many receives; once they are done the receiver acknowledges (tag 101). As in
 * OSU, all messages of a window use one send and one receive buffer. */
static inline void bench_window(void *ctx)
{
    struct bench_pair *p = (struct bench_pair *)ctx;
    MPI_Request req[BENCH_WINDOW];
    MPI_Status sts[BENCH_WINDOW], st;
    char ack[4] = {0, 0, 0, 0};
    for (int w = 0; w < BENCH_WINDOW; w++) {
        if (p->leads)
            MPI_Isend(p->sbuf, (int)p->n, MPI_CHAR, p->peer, 100, MPI_COMM_WORLD, &req[w]);
        else
            MPI_Irecv(p->rbuf, (int)p->n, MPI_CHAR, p->peer, 100, MPI_COMM_WORLD, &req[w]);
    }
    MPI_Waitall(BENCH_WINDOW, req, sts);
    if (p->leads)
        MPI_Recv(ack, 4, MPI_CHAR, p->peer, 101, MPI_COMM_WORLD, &st);
    else
        MPI_Send(ack, 4, MPI_CHAR, p->peer, 101, MPI_COMM_WORLD);
}

#endif
