/* Shared helpers for the C test programs in tests/c (not a test itself: no directives).
 *
 * CHECK(cond, fmt, ...)   on failure prints "file:line: rank R: CHECK(cond) failed: msg" to
 *                         stderr and calls MPI_Abort(MPI_COMM_WORLD, 1) (exit(1) outside MPI).
 * MPI_CHECK(call)         the call must return MPI_SUCCESS (prints the error string if not).
 * CHECK_ERR_CLASS(call, class)
 *                         the call must fail, and MPI_Error_class of its code must be `class`.
 * tu_errors_return()      sets MPI_ERRORS_RETURN on MPI_COMM_WORLD and MPI_COMM_SELF (errors on
 *                         MPI_COMM_NULL and on no handle are raised on MPI_COMM_SELF).
 */
#ifndef FERROMPI_TESTUTIL_H
#define FERROMPI_TESTUTIL_H

#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int tu_rank_cached = -1;

static inline int tu_mpi_active(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

static inline int tu_rank(void)
{
    if (tu_rank_cached < 0 && tu_mpi_active())
        MPI_Comm_rank(MPI_COMM_WORLD, &tu_rank_cached);
    return tu_rank_cached;
}

static inline int tu_size(void)
{
    int n = -1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

__attribute__((noreturn, format(printf, 4, 5))) static void
tu_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
    char msg[1024] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *m = msg[0] == ' ' ? msg + 1 : msg; /* CHECK prefixes a space to its format */
    fprintf(stderr, "%s:%d: rank %d: %s failed%s%s\n", file, line, tu_rank(), what,
            m[0] ? ": " : "", m);
    fflush(stderr);
    fflush(stdout);
    if (tu_mpi_active())
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            tu_fail(__FILE__, __LINE__, "CHECK(" #cond ")", " " __VA_ARGS__);                      \
    } while (0)

static inline const char *tu_errstr(int code, char *buf)
{
    int len = 0;
    buf[0] = 0;
    if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS)
        snprintf(buf, MPI_MAX_ERROR_STRING, "<no string for code %d>", code);
    return buf;
}

#define MPI_CHECK(call)                                                                            \
    do {                                                                                           \
        int tu_rc_ = (call);                                                                       \
        if (tu_rc_ != MPI_SUCCESS) {                                                               \
            char tu_buf_[MPI_MAX_ERROR_STRING];                                                    \
            tu_fail(__FILE__, __LINE__, #call, "returned %d (%s)", tu_rc_,                         \
                    tu_errstr(tu_rc_, tu_buf_));                                                   \
        }                                                                                          \
    } while (0)

static inline int tu_class_of(int code)
{
    int cls = -1;
    if (MPI_Error_class(code, &cls) != MPI_SUCCESS)
        return -1;
    return cls;
}

#define CHECK_ERR_CLASS(call, want)                                                                \
    do {                                                                                           \
        int tu_rc_ = (call);                                                                       \
        int tu_cls_ = tu_class_of(tu_rc_);                                                         \
        if (tu_rc_ == MPI_SUCCESS || tu_cls_ != (want)) {                                          \
            char tu_buf_[MPI_MAX_ERROR_STRING];                                                    \
            tu_fail(__FILE__, __LINE__, #call, "returned code %d class %d (%s), expected class %s", \
                    tu_rc_, tu_cls_, tu_errstr(tu_rc_, tu_buf_), #want);                           \
        }                                                                                          \
    } while (0)

static inline void tu_errors_return(void)
{
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN));
}

static inline void tu_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* True when running on MPICH (used only to step around known MPICH bugs, each named where used). */
static inline int tu_is_mpich(void)
{
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (MPI_Get_library_version(v, &len) != MPI_SUCCESS)
        return 0;
    return strstr(v, "MPICH") != NULL;
}

/* Checks a status for the given source, tag and element count of `type`. */
#define CHECK_STATUS(st, src, tg, type, cnt)                                                       \
    do {                                                                                           \
        int tu_c_ = -12345;                                                                        \
        MPI_CHECK(MPI_Get_count(&(st), (type), &tu_c_));                                           \
        CHECK((st).MPI_SOURCE == (src) && (st).MPI_TAG == (tg) && tu_c_ == (cnt),                  \
              "status source %d tag %d count %d, expected %d %d %d", (st).MPI_SOURCE,              \
              (st).MPI_TAG, tu_c_, (int)(src), (int)(tg), (int)(cnt));                             \
    } while (0)

/* A simple deterministic checksum (FNV-1a, 64 bit). */
static inline uint64_t tu_fnv(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
