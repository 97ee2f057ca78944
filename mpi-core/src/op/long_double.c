/*
 * Reductions on C `long double` and the types built from it (MPI_LONG_DOUBLE,
 * MPI_C_LONG_DOUBLE_COMPLEX, MPI_LONG_DOUBLE_INT).
 *
 * Why C: Rust has no type for the x87 80-bit extended format that `long double` is on x86_64
 * (nor for the IEEE binary128 it is on aarch64 Linux). Emulating the arithmetic in software
 * would be slow and a source of rounding bugs; the C compiler already does it exactly as the
 * user's own C code does, so results match what the application computes itself.
 *
 * Buffers come straight from user memory and may be unaligned, so every element is copied in
 * and out with memcpy. Only the value bytes of a `long double` are written back (10 on x87,
 * where the other 6 of the 16 are padding), so padding in the user's buffer is left alone and
 * results are byte-for-byte deterministic.
 *
 * Element order follows MPI's user-function convention: inout[i] = in[i] op inout[i].
 */
#include <float.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(long double) == 16, "ferrompi expects a 16-byte long double");

#if LDBL_MANT_DIG == 64
#define LD_VALUE_BYTES 10 /* x87 extended: 64-bit significand, 15-bit exponent, sign */
#else
#define LD_VALUE_BYTES sizeof(long double)
#endif

/* Operation codes: keep in sync with `LdOp` in op.rs. */
enum {
    LD_MAX = 0,
    LD_MIN = 1,
    LD_SUM = 2,
    LD_PROD = 3,
    LDC_SUM = 4,
    LDC_PROD = 5,
    LDI_MAXLOC = 6,
    LDI_MINLOC = 7,
};

static long double load(const unsigned char *p) {
    long double v = 0.0L;
    memcpy(&v, p, LD_VALUE_BYTES);
    return v;
}

static void store(unsigned char *p, long double v) {
    memcpy(p, &v, LD_VALUE_BYTES);
}

static int load_int(const unsigned char *p) {
    int v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store_int(unsigned char *p, int v) {
    memcpy(p, &v, sizeof v);
}

/* struct { long double value; int index; }: index at offset 16, element 32 bytes. */
#define LDI_INDEX_OFFSET 16
#define LDI_SIZE 32

/*
 * Applies `op` to `n` elements. Returns 0, or -1 for an unknown op code (the Rust side checks
 * the (op, type) pair first, so -1 means a bug there).
 */
int ferrompi_long_double_reduce(int op, unsigned char *inout, const unsigned char *in, size_t n) {
    size_t i;
    switch (op) {
    case LD_MAX:
        for (i = 0; i < n; i++) {
            long double a = load(in + 16 * i), b = load(inout + 16 * i);
            /* Same form as the other float types: b > a ? b : a. */
            store(inout + 16 * i, b > a ? b : a);
        }
        return 0;
    case LD_MIN:
        for (i = 0; i < n; i++) {
            long double a = load(in + 16 * i), b = load(inout + 16 * i);
            store(inout + 16 * i, b < a ? b : a);
        }
        return 0;
    case LD_SUM:
        for (i = 0; i < n; i++)
            store(inout + 16 * i, load(in + 16 * i) + load(inout + 16 * i));
        return 0;
    case LD_PROD:
        for (i = 0; i < n; i++)
            store(inout + 16 * i, load(in + 16 * i) * load(inout + 16 * i));
        return 0;
    case LDC_SUM:
        for (i = 0; i < 2 * n; i++) /* real and imaginary parts alike */
            store(inout + 16 * i, load(in + 16 * i) + load(inout + 16 * i));
        return 0;
    case LDC_PROD:
        for (i = 0; i < n; i++) {
            const unsigned char *x = in + 32 * i;
            unsigned char *y = inout + 32 * i;
            long double ar = load(x), ai = load(x + 16);
            long double br = load(y), bi = load(y + 16);
            /* The textbook formula, written out rather than `_Complex` `*` so that no libgcc
             * NaN/infinity recovery (__mulxc3) runs and the result matches the other complex
             * kinds, which MPICH and Open MPI compute the same way. */
            store(y, ar * br - ai * bi);
            store(y + 16, ar * bi + ai * br);
        }
        return 0;
    case LDI_MAXLOC:
    case LDI_MINLOC:
        for (i = 0; i < n; i++) {
            const unsigned char *x = in + LDI_SIZE * i;
            unsigned char *y = inout + LDI_SIZE * i;
            long double av = load(x), bv = load(y);
            int ai = load_int(x + LDI_INDEX_OFFSET), bi = load_int(y + LDI_INDEX_OFFSET);
            int in_wins = op == LDI_MAXLOC ? av > bv : av < bv;
            if (in_wins) {
                store(y, av);
                store_int(y + LDI_INDEX_OFFSET, ai);
            } else if (av == bv) {
                store_int(y + LDI_INDEX_OFFSET, ai < bi ? ai : bi);
            }
        }
        return 0;
    default:
        return -1;
    }
}
