/* ranks: 1 2 3 4 */
/* timeout: 120 */
/* MPI_Reduce and MPI_Allreduce with every predefined operation on every predefined datatype it
 * is defined for (MPI-4.1 §6.9.2): MAX/MIN on C integers, fixed-size integers, floating point
 * and MPI_AINT/OFFSET/COUNT; SUM/PROD on those plus complex; LAND/LOR/LXOR on C integers and
 * MPI_C_BOOL; BAND/BOR/BXOR on C integers, MPI_BYTE and the multi-language types;
 * MAXLOC/MINLOC on the pair types (ties go to the smaller index). Results are compared with a
 * reference folded locally over all ranks' inputs (at one rank the result is the input, not
 * normalised: LAND of 2 is 2); the Reduce root rotates over all ranks. */
#include "testutil.h"
#include <complex.h>
#include <stdbool.h>

#define COUNT 7

static int rank, size, combos;

enum { OMAX, OMIN, OSUM, OPROD, OLAND, OLOR, OLXOR, OBAND, OBOR, OBXOR, NOPS };
static const char *opname[NOPS] = {"MAX", "MIN", "SUM", "PROD", "LAND",
                                   "LOR", "LXOR", "BAND", "BOR", "BXOR"};
static MPI_Op mpiop(int o)
{
    MPI_Op t[NOPS] = {MPI_MAX, MPI_MIN, MPI_SUM, MPI_PROD, MPI_LAND,
                      MPI_LOR, MPI_LXOR, MPI_BAND, MPI_BOR, MPI_BXOR};
    return t[o];
}

/* Inputs: small enough that no op overflows an 8-bit type at 4 ranks. */
static long long gen(int o, int r, int i)
{
    switch (o) {
    case OMAX:
    case OMIN:
        return (r * 7 + i * 3) % 11 - 5;
    case OSUM:
        return (r * 5 + i) % 30 - 10;
    case OPROD:
        return (r + i) % 2 + 1;
    case OLAND:
    case OLOR:
    case OLXOR:
        return (r + i) % 3;
    default:
        return ((r * 37 + i * 11) ^ (r << 3)) & 0x7f;
    }
}

/* Runs Allreduce and Reduce (rotating root) and compares with `ref` (COUNT elements). */
static void run(MPI_Datatype dt, const char *tname, int o, MPI_Op op, const char *oname,
                const void *send, void *recv, const void *ref, size_t esz,
                int (*eq)(const void *, const void *))
{
    memset(recv, 0x5c, COUNT * esz);
    MPI_CHECK(MPI_Allreduce(send, recv, COUNT, dt, op, MPI_COMM_WORLD));
    for (int i = 0; i < COUNT; i++)
        CHECK(eq((const char *)recv + i * esz, (const char *)ref + i * esz),
              "Allreduce %s on %s: element %d wrong", oname, tname, i);
    int root = combos % size;
    memset(recv, 0x5c, COUNT * esz);
    MPI_CHECK(MPI_Reduce(send, recv, COUNT, dt, op, root, MPI_COMM_WORLD));
    if (rank == root)
        for (int i = 0; i < COUNT; i++)
            CHECK(eq((const char *)recv + i * esz, (const char *)ref + i * esz),
                  "Reduce %s on %s (root %d): element %d wrong", oname, tname, root, i);
    (void)o;
    combos++;
}

static int optional_missing(MPI_Datatype dt)
{
    int sz = 0;
    MPI_CHECK(MPI_Type_size(dt, &sz));
    return sz == 0;
}

/* Integer-like types: which ops apply is a bit mask. */
#define M_MINMAX ((1 << OMAX) | (1 << OMIN))
#define M_SUMPROD ((1 << OSUM) | (1 << OPROD))
#define M_LOGICAL ((1 << OLAND) | (1 << OLOR) | (1 << OLXOR))
#define M_BITWISE ((1 << OBAND) | (1 << OBOR) | (1 << OBXOR))
#define M_CINT (M_MINMAX | M_SUMPROD | M_LOGICAL | M_BITWISE)
#define M_MULTI (M_MINMAX | M_SUMPROD | M_BITWISE)

#define DEF_INT(fn, T)                                                                             \
    static int eq_##fn(const void *a, const void *b) { return *(const T *)a == *(const T *)b; }   \
    static T apply_##fn(int o, T a, T b)                                                           \
    {                                                                                              \
        switch (o) {                                                                               \
        case OMAX: return a > b ? a : b;                                                           \
        case OMIN: return a < b ? a : b;                                                           \
        case OSUM: return (T)(a + b);                                                              \
        case OPROD: return (T)(a * b);                                                             \
        case OLAND: return (T)(a && b);                                                            \
        case OLOR: return (T)(a || b);                                                             \
        case OLXOR: return (T)(!a != !b);                                                          \
        case OBAND: return (T)(a & b);                                                             \
        case OBOR: return (T)(a | b);                                                              \
        default: return (T)(a ^ b);                                                                \
        }                                                                                          \
    }                                                                                              \
    static void fn(MPI_Datatype dt, const char *tname, int mask)                                   \
    {                                                                                              \
        for (int o = 0; o < NOPS; o++) {                                                           \
            if (!(mask & (1 << o)))                                                                \
                continue;                                                                          \
            T s[COUNT], r[COUNT], ref[COUNT];                                                      \
            for (int i = 0; i < COUNT; i++) {                                                      \
                s[i] = (T)gen(o, rank, i);                                                         \
                ref[i] = (T)gen(o, 0, i);                                                          \
                for (int p = 1; p < size; p++)                                                     \
                    ref[i] = apply_##fn(o, ref[i], (T)gen(o, p, i));                               \
            }                                                                                      \
            run(dt, tname, o, mpiop(o), opname[o], s, r, ref, sizeof(T), eq_##fn);                 \
        }                                                                                          \
    }

DEF_INT(t_schar, signed char)
DEF_INT(t_uchar, unsigned char)
DEF_INT(t_short, short)
DEF_INT(t_ushort, unsigned short)
DEF_INT(t_int, int)
DEF_INT(t_uint, unsigned)
DEF_INT(t_long, long)
DEF_INT(t_ulong, unsigned long)
DEF_INT(t_llong, long long)
DEF_INT(t_ullong, unsigned long long)
DEF_INT(t_i8, int8_t)
DEF_INT(t_u8, uint8_t)
DEF_INT(t_i16, int16_t)
DEF_INT(t_u16, uint16_t)
DEF_INT(t_i32, int32_t)
DEF_INT(t_u32, uint32_t)
DEF_INT(t_i64, int64_t)
DEF_INT(t_u64, uint64_t)
DEF_INT(t_aint, MPI_Aint)
DEF_INT(t_offset, MPI_Offset)
DEF_INT(t_count, MPI_Count)

#define DEF_FLOAT(fn, T)                                                                           \
    static int eq_##fn(const void *a, const void *b) { return *(const T *)a == *(const T *)b; }   \
    static T apply_##fn(int o, T a, T b)                                                           \
    {                                                                                              \
        switch (o) {                                                                               \
        case OMAX: return a > b ? a : b;                                                           \
        case OMIN: return a < b ? a : b;                                                           \
        case OSUM: return a + b;                                                                   \
        default: return a * b;                                                                     \
        }                                                                                          \
    }                                                                                              \
    static void fn(MPI_Datatype dt, const char *tname)                                             \
    {                                                                                              \
        for (int o = OMAX; o <= OPROD; o++) {                                                      \
            T s[COUNT], r[COUNT], ref[COUNT];                                                      \
            for (int i = 0; i < COUNT; i++) {                                                      \
                s[i] = (T)gen(o, rank, i) / (T)4;                                                  \
                ref[i] = (T)gen(o, 0, i) / (T)4;                                                   \
                for (int p = 1; p < size; p++)                                                     \
                    ref[i] = apply_##fn(o, ref[i], (T)gen(o, p, i) / (T)4);                        \
            }                                                                                      \
            run(dt, tname, o, mpiop(o), opname[o], s, r, ref, sizeof(T), eq_##fn);                 \
        }                                                                                          \
    }

DEF_FLOAT(t_float, float)
DEF_FLOAT(t_double, double)
DEF_FLOAT(t_ldouble, long double)

#define DEF_COMPLEX(fn, T, RT)                                                                     \
    static int eq_##fn(const void *a, const void *b) { return *(const T *)a == *(const T *)b; }   \
    static T val_##fn(int o, int r, int i)                                                         \
    {                                                                                              \
        if (o == OSUM)                                                                             \
            return (RT)gen(OSUM, r, i) + (RT)gen(OSUM, r + 3, i) * (T)I;                           \
        return (RT)((r + i) % 2 + 1) + (RT)((r * 2 + i) % 3 - 1) * (T)I;                           \
    }                                                                                              \
    static void fn(MPI_Datatype dt, const char *tname)                                             \
    {                                                                                              \
        for (int o = OSUM; o <= OPROD; o++) {                                                      \
            T s[COUNT], r[COUNT], ref[COUNT];                                                      \
            for (int i = 0; i < COUNT; i++) {                                                      \
                s[i] = val_##fn(o, rank, i);                                                       \
                ref[i] = val_##fn(o, 0, i);                                                        \
                for (int p = 1; p < size; p++)                                                     \
                    ref[i] = o == OSUM ? ref[i] + val_##fn(o, p, i) : ref[i] * val_##fn(o, p, i);  \
            }                                                                                      \
            run(dt, tname, o, mpiop(o), opname[o], s, r, ref, sizeof(T), eq_##fn);                 \
        }                                                                                          \
    }

DEF_COMPLEX(t_cfloat, float _Complex, float)
DEF_COMPLEX(t_cdouble, double _Complex, double)
DEF_COMPLEX(t_cldouble, long double _Complex, long double)

static int eq_bool(const void *a, const void *b) { return *(const bool *)a == *(const bool *)b; }
static void t_bool(MPI_Datatype dt, const char *tname)
{
    for (int o = OLAND; o <= OLXOR; o++) {
        bool s[COUNT], r[COUNT], ref[COUNT];
        for (int i = 0; i < COUNT; i++) {
            s[i] = gen(o, rank, i) != 0;
            ref[i] = gen(o, 0, i) != 0;
            for (int p = 1; p < size; p++) {
                bool b = gen(o, p, i) != 0;
                ref[i] = o == OLAND ? (ref[i] && b) : o == OLOR ? (ref[i] || b) : (ref[i] != b);
            }
        }
        run(dt, tname, o, mpiop(o), opname[o], s, r, ref, sizeof(bool), eq_bool);
    }
}

/* Pair types for MAXLOC/MINLOC: values with ties across ranks, index = rank * 10 + i. */
#define DEF_PAIR(fn, VT)                                                                           \
    typedef struct {                                                                               \
        VT v;                                                                                      \
        int k;                                                                                     \
    } P_##fn;                                                                                      \
    static int eq_##fn(const void *a, const void *b)                                               \
    {                                                                                              \
        const P_##fn *x = a, *y = b;                                                               \
        return x->v == y->v && x->k == y->k;                                                       \
    }                                                                                              \
    static void fn(MPI_Datatype dt, const char *tname)                                             \
    {                                                                                              \
        for (int m = 0; m < 2; m++) {                                                              \
            P_##fn s[COUNT], r[COUNT], ref[COUNT];                                                 \
            memset(s, 0, sizeof s);                                                                \
            memset(ref, 0, sizeof ref);                                                            \
            for (int i = 0; i < COUNT; i++) {                                                      \
                for (int p = 0; p < size; p++) {                                                   \
                    P_##fn x;                                                                      \
                    memset(&x, 0, sizeof x);                                                       \
                    x.v = (VT)((p * 5 + i * 3) % 4) - (VT)1;                                       \
                    x.k = (size - 1 - p) * 10 + i; /* ties: the larger rank has the smaller k */   \
                    if (p == rank)                                                                 \
                        s[i] = x;                                                                  \
                    if (p == 0)                                                                    \
                        ref[i] = x;                                                                \
                    else if (m == 0 ? x.v > ref[i].v : x.v < ref[i].v)                             \
                        ref[i] = x;                                                                \
                    else if (x.v == ref[i].v && x.k < ref[i].k)                                    \
                        ref[i].k = x.k;                                                            \
                }                                                                                  \
            }                                                                                      \
            run(dt, tname, 0, m == 0 ? MPI_MAXLOC : MPI_MINLOC, m == 0 ? "MAXLOC" : "MINLOC", s,  \
                r, ref, sizeof(P_##fn), eq_##fn);                                                  \
        }                                                                                          \
    }

DEF_PAIR(t_float_int, float)
DEF_PAIR(t_double_int, double)
DEF_PAIR(t_long_int, long)
DEF_PAIR(t_short_int, short)
DEF_PAIR(t_long_double_int, long double)
DEF_PAIR(t_2int, int)

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    rank = tu_rank();
    size = tu_size();

    t_schar(MPI_SIGNED_CHAR, "MPI_SIGNED_CHAR", M_CINT);
    t_uchar(MPI_UNSIGNED_CHAR, "MPI_UNSIGNED_CHAR", M_CINT);
    t_short(MPI_SHORT, "MPI_SHORT", M_CINT);
    t_ushort(MPI_UNSIGNED_SHORT, "MPI_UNSIGNED_SHORT", M_CINT);
    t_int(MPI_INT, "MPI_INT", M_CINT);
    t_uint(MPI_UNSIGNED, "MPI_UNSIGNED", M_CINT);
    t_long(MPI_LONG, "MPI_LONG", M_CINT);
    t_ulong(MPI_UNSIGNED_LONG, "MPI_UNSIGNED_LONG", M_CINT);
    t_llong(MPI_LONG_LONG, "MPI_LONG_LONG", M_CINT);
    t_ullong(MPI_UNSIGNED_LONG_LONG, "MPI_UNSIGNED_LONG_LONG", M_CINT);
    t_i8(MPI_INT8_T, "MPI_INT8_T", M_CINT);
    t_u8(MPI_UINT8_T, "MPI_UINT8_T", M_CINT);
    t_i16(MPI_INT16_T, "MPI_INT16_T", M_CINT);
    t_u16(MPI_UINT16_T, "MPI_UINT16_T", M_CINT);
    t_i32(MPI_INT32_T, "MPI_INT32_T", M_CINT);
    t_u32(MPI_UINT32_T, "MPI_UINT32_T", M_CINT);
    t_i64(MPI_INT64_T, "MPI_INT64_T", M_CINT);
    t_u64(MPI_UINT64_T, "MPI_UINT64_T", M_CINT);
    t_aint(MPI_AINT, "MPI_AINT", M_MULTI);
    t_offset(MPI_OFFSET, "MPI_OFFSET", M_MULTI);
    t_count(MPI_COUNT, "MPI_COUNT", M_MULTI);
    t_uchar(MPI_BYTE, "MPI_BYTE", M_BITWISE);

    t_float(MPI_FLOAT, "MPI_FLOAT");
    t_double(MPI_DOUBLE, "MPI_DOUBLE");
    t_ldouble(MPI_LONG_DOUBLE, "MPI_LONG_DOUBLE");

    t_cfloat(MPI_C_FLOAT_COMPLEX, "MPI_C_FLOAT_COMPLEX");
    t_cfloat(MPI_C_COMPLEX, "MPI_C_COMPLEX");
    t_cdouble(MPI_C_DOUBLE_COMPLEX, "MPI_C_DOUBLE_COMPLEX");
    t_cldouble(MPI_C_LONG_DOUBLE_COMPLEX, "MPI_C_LONG_DOUBLE_COMPLEX");
    if (!optional_missing(MPI_CXX_FLOAT_COMPLEX))
        t_cfloat(MPI_CXX_FLOAT_COMPLEX, "MPI_CXX_FLOAT_COMPLEX");
    if (!optional_missing(MPI_CXX_DOUBLE_COMPLEX))
        t_cdouble(MPI_CXX_DOUBLE_COMPLEX, "MPI_CXX_DOUBLE_COMPLEX");
    if (!optional_missing(MPI_CXX_LONG_DOUBLE_COMPLEX))
        t_cldouble(MPI_CXX_LONG_DOUBLE_COMPLEX, "MPI_CXX_LONG_DOUBLE_COMPLEX");

    t_bool(MPI_C_BOOL, "MPI_C_BOOL");
    if (!optional_missing(MPI_CXX_BOOL))
        t_bool(MPI_CXX_BOOL, "MPI_CXX_BOOL");

    t_float_int(MPI_FLOAT_INT, "MPI_FLOAT_INT");
    t_double_int(MPI_DOUBLE_INT, "MPI_DOUBLE_INT");
    t_long_int(MPI_LONG_INT, "MPI_LONG_INT");
    t_short_int(MPI_SHORT_INT, "MPI_SHORT_INT");
    t_long_double_int(MPI_LONG_DOUBLE_INT, "MPI_LONG_DOUBLE_INT");
    t_2int(MPI_2INT, "MPI_2INT");

    CHECK(combos > 200, "only %d (type, op) combinations ran", combos);
    MPI_CHECK(MPI_Finalize());
    return 0;
}
