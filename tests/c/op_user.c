/* ranks: 1 2 3 4 */
/* User-defined operations and MPI_Reduce_local (each rank on its own data; the values depend on
 * the rank):
 * - Reduce_local with predefined operations on every family of predefined types (C integers,
 *   fixed-size integers, MPI_AINT/COUNT, floating point with long double, complex, C_BOOL,
 *   BYTE, the MAXLOC/MINLOC pairs), each result computed here in C;
 * - on derived types whose signature is one predefined type (a contiguous type, and a vector
 *   whose gaps must stay untouched): applied element by element here; the standard lists only
 *   predefined types, and MPICH refuses, so that part is skipped there;
 * - user operations: commutative (int sum, created with MPI_Op_create), non-commutative (2x2
 *   matrix product on a contiguous type, string concatenation on a contiguous char type: the
 *   operand order shows in the result), one made with MPI_Op_create_c and called through
 *   MPI_Reduce_local_c, one on a vector with gaps (the function gets the caller's handle and
 *   the gaps stay untouched), one on MPI_INT (gets MPI_INT);
 * - MPI_Op_commutative on every predefined operation (all commutative but MPI_REPLACE and
 *   MPI_NO_OP) and on user ones;
 * - MPI_Op_free (the handle becomes MPI_OP_NULL) and the errors, under MPI_ERRORS_RETURN:
 *   MPI_OP_NULL, a freed handle, a predefined one given to MPI_Op_free (MPI_ERR_OP), a null
 *   function (MPI_ERR_ARG), an operation not defined on the type (MPI_ERR_OP), aliased
 *   buffers (MPI_ERR_BUFFER). */
#include "testutil.h"
#include <complex.h>
#include <stdbool.h>

#define N 5

static int rank;
static MPI_Datatype mat_type, str_type, vec_type;
static int calls;

/* ---- predefined operations ------------------------------------------------------------- */

#define INT_CASE(T, DT, OP, EXPR)                                                                  \
    do {                                                                                           \
        T in[N], io[N], want[N];                                                                   \
        for (int i = 0; i < N; i++) {                                                              \
            T a = (T)((rank * 7 + i * 3) % 11 + 1), b = (T)((rank + i * 5) % 9 + 2);               \
            in[i] = a;                                                                             \
            io[i] = b;                                                                             \
            want[i] = (T)(EXPR);                                                                   \
        }                                                                                          \
        MPI_CHECK(MPI_Reduce_local(in, io, N, DT, OP));                                            \
        for (int i = 0; i < N; i++)                                                                \
            CHECK(io[i] == want[i], #OP " on " #DT ": element %d is %lld, want %lld", i,           \
                  (long long)io[i], (long long)want[i]);                                           \
    } while (0)

#define INT_FAMILY(T, DT)                                                                          \
    do {                                                                                           \
        INT_CASE(T, DT, MPI_SUM, a + b);                                                           \
        INT_CASE(T, DT, MPI_PROD, a * b);                                                          \
        INT_CASE(T, DT, MPI_MAX, a > b ? a : b);                                                   \
        INT_CASE(T, DT, MPI_MIN, a < b ? a : b);                                                   \
        INT_CASE(T, DT, MPI_BAND, a & b);                                                          \
        INT_CASE(T, DT, MPI_BOR, a | b);                                                           \
        INT_CASE(T, DT, MPI_BXOR, a ^ b);                                                          \
    } while (0)

/* Logical operations: inputs that are zero and non-zero. */
#define LOGICAL_CASE(T, DT, OP, EXPR)                                                              \
    do {                                                                                           \
        T in[N], io[N], want[N];                                                                   \
        for (int i = 0; i < N; i++) {                                                              \
            T a = (T)((rank * 7 + i * 3) % 3), b = (T)((rank + i * 5) % 2);                        \
            in[i] = a;                                                                             \
            io[i] = b;                                                                             \
            want[i] = (T)(EXPR);                                                                   \
        }                                                                                          \
        MPI_CHECK(MPI_Reduce_local(in, io, N, DT, OP));                                            \
        for (int i = 0; i < N; i++)                                                                \
            CHECK(io[i] == want[i], #OP " on " #DT ": element %d is %lld, want %lld", i,           \
                  (long long)io[i], (long long)want[i]);                                           \
    } while (0)

#define LOGICAL_FAMILY(T, DT)                                                                      \
    do {                                                                                           \
        LOGICAL_CASE(T, DT, MPI_LAND, (a != 0) && (b != 0));                                       \
        LOGICAL_CASE(T, DT, MPI_LOR, (a != 0) || (b != 0));                                        \
        LOGICAL_CASE(T, DT, MPI_LXOR, (a != 0) != (b != 0));                                       \
    } while (0)

#define FLOAT_CASE(T, DT, OP, EXPR)                                                                \
    do {                                                                                           \
        T in[N], io[N], want[N];                                                                   \
        for (int i = 0; i < N; i++) {                                                              \
            T a = (T)((rank * 7 + i * 3) % 11) * (T)0.5 - 2, b = (T)((rank + i * 5) % 9) * (T)0.25; \
            in[i] = a;                                                                             \
            io[i] = b;                                                                             \
            want[i] = EXPR;                                                                        \
        }                                                                                          \
        MPI_CHECK(MPI_Reduce_local(in, io, N, DT, OP));                                            \
        for (int i = 0; i < N; i++)                                                                \
            CHECK(io[i] == want[i], #OP " on " #DT ": element %d is %Lg, want %Lg", i,             \
                  (long double)io[i], (long double)want[i]);                                       \
    } while (0)

#define FLOAT_FAMILY(T, DT)                                                                        \
    do {                                                                                           \
        FLOAT_CASE(T, DT, MPI_SUM, a + b);                                                         \
        FLOAT_CASE(T, DT, MPI_PROD, a * b);                                                        \
        FLOAT_CASE(T, DT, MPI_MAX, a > b ? a : b);                                                 \
        FLOAT_CASE(T, DT, MPI_MIN, a < b ? a : b);                                                 \
    } while (0)

#define COMPLEX_CASE(T, DT, OP, EXPR)                                                              \
    do {                                                                                           \
        T in[N], io[N], want[N];                                                                   \
        for (int i = 0; i < N; i++) {                                                              \
            T a = (rank + i) * 0.5 + (i - 2) * 1.0 * I, b = (i - rank) * 0.25 + (rank + 1) * 2.0 * I; \
            in[i] = a;                                                                             \
            io[i] = b;                                                                             \
            want[i] = EXPR;                                                                        \
        }                                                                                          \
        MPI_CHECK(MPI_Reduce_local(in, io, N, DT, OP));                                            \
        for (int i = 0; i < N; i++)                                                                \
            CHECK(io[i] == want[i], #OP " on " #DT ": element %d is %g%+gi, want %g%+gi", i,       \
                  (double)creal(io[i]), (double)cimag(io[i]), (double)creal(want[i]),              \
                  (double)cimag(want[i]));                                                         \
    } while (0)

#define PAIR_CASE(S, DT, OP, MAX)                                                                  \
    do {                                                                                           \
        S in[N], io[N], want[N];                                                                   \
        for (int i = 0; i < N; i++) {                                                              \
            in[i].v = (i + rank) % 3;                                                              \
            in[i].k = 10 + i;                                                                      \
            io[i].v = (2 * i) % 3;                                                                 \
            io[i].k = 20 - i + rank;                                                               \
            int in_wins = MAX ? in[i].v > io[i].v : in[i].v < io[i].v;                             \
            want[i] = in_wins ? in[i] : io[i];                                                     \
            if (in[i].v == io[i].v && in[i].k < io[i].k)                                           \
                want[i].k = in[i].k;                                                               \
        }                                                                                          \
        MPI_CHECK(MPI_Reduce_local(in, io, N, DT, OP));                                            \
        for (int i = 0; i < N; i++)                                                                \
            CHECK(io[i].v == want[i].v && io[i].k == want[i].k,                                    \
                  #OP " on " #DT ": element %d is (%g, %d), want (%g, %d)", i, (double)io[i].v,    \
                  io[i].k, (double)want[i].v, want[i].k);                                          \
    } while (0)

struct dint { double v; int k; };
struct iint { int v; int k; };
struct sint { short v; int k; };
struct ldint { long double v; int k; };

static void predefined_ops(void)
{
    INT_FAMILY(signed char, MPI_SIGNED_CHAR);
    INT_FAMILY(unsigned char, MPI_UNSIGNED_CHAR);
    INT_FAMILY(short, MPI_SHORT);
    INT_FAMILY(unsigned short, MPI_UNSIGNED_SHORT);
    INT_FAMILY(int, MPI_INT);
    INT_FAMILY(unsigned, MPI_UNSIGNED);
    INT_FAMILY(long, MPI_LONG);
    INT_FAMILY(unsigned long, MPI_UNSIGNED_LONG);
    INT_FAMILY(long long, MPI_LONG_LONG);
    INT_FAMILY(unsigned long long, MPI_UNSIGNED_LONG_LONG);
    INT_FAMILY(int8_t, MPI_INT8_T);
    INT_FAMILY(uint16_t, MPI_UINT16_T);
    INT_FAMILY(int32_t, MPI_INT32_T);
    INT_FAMILY(uint64_t, MPI_UINT64_T);
    INT_FAMILY(MPI_Aint, MPI_AINT);
    INT_FAMILY(MPI_Count, MPI_COUNT);
    INT_FAMILY(MPI_Offset, MPI_OFFSET);
    LOGICAL_FAMILY(int, MPI_INT);
    LOGICAL_FAMILY(unsigned long long, MPI_UNSIGNED_LONG_LONG);
    LOGICAL_FAMILY(bool, MPI_C_BOOL);
    INT_CASE(unsigned char, MPI_BYTE, MPI_BAND, a & b);
    INT_CASE(unsigned char, MPI_BYTE, MPI_BOR, a | b);
    INT_CASE(unsigned char, MPI_BYTE, MPI_BXOR, a ^ b);
    FLOAT_FAMILY(float, MPI_FLOAT);
    FLOAT_FAMILY(double, MPI_DOUBLE);
    FLOAT_FAMILY(long double, MPI_LONG_DOUBLE);
    COMPLEX_CASE(float _Complex, MPI_C_FLOAT_COMPLEX, MPI_SUM, a + b);
    COMPLEX_CASE(float _Complex, MPI_C_FLOAT_COMPLEX, MPI_PROD, a * b);
    COMPLEX_CASE(double _Complex, MPI_C_DOUBLE_COMPLEX, MPI_SUM, a + b);
    COMPLEX_CASE(double _Complex, MPI_C_DOUBLE_COMPLEX, MPI_PROD, a * b);
    COMPLEX_CASE(long double _Complex, MPI_C_LONG_DOUBLE_COMPLEX, MPI_SUM, a + b);
    PAIR_CASE(struct dint, MPI_DOUBLE_INT, MPI_MAXLOC, 1);
    PAIR_CASE(struct dint, MPI_DOUBLE_INT, MPI_MINLOC, 0);
    PAIR_CASE(struct iint, MPI_2INT, MPI_MAXLOC, 1);
    PAIR_CASE(struct sint, MPI_SHORT_INT, MPI_MINLOC, 0);
    PAIR_CASE(struct ldint, MPI_LONG_DOUBLE_INT, MPI_MAXLOC, 1);

    /* Zero elements: nothing to do, nothing touched. */
    int z = 42;
    MPI_CHECK(MPI_Reduce_local(&rank, &z, 0, MPI_INT, MPI_SUM));
    CHECK(z == 42, "count 0 changed the buffer");
}

/* Predefined operations on derived types of one predefined type. */
static void predefined_on_derived(void)
{
    MPI_Datatype three;
    MPI_CHECK(MPI_Type_contiguous(3, MPI_INT, &three));
    MPI_CHECK(MPI_Type_commit(&three));
    int in[6], io[6];
    for (int i = 0; i < 6; i++) {
        in[i] = i + rank;
        io[i] = 10 * i;
    }
    MPI_CHECK(MPI_Reduce_local(in, io, 2, three, MPI_SUM));
    for (int i = 0; i < 6; i++)
        CHECK(io[i] == 11 * i + rank, "SUM on contiguous: element %d is %d", i, io[i]);
    MPI_CHECK(MPI_Type_free(&three));

    /* vec_type: 2 doubles 2 apart (extent 3 doubles); 2 elements: data at 0, 2, 3, 5. */
    MPI_Datatype dvec;
    MPI_CHECK(MPI_Type_vector(2, 1, 2, MPI_DOUBLE, &dvec));
    MPI_CHECK(MPI_Type_commit(&dvec));
    double a[6], b[6];
    for (int i = 0; i < 6; i++) {
        a[i] = (i * 5 + rank) % 7;
        b[i] = -1.0 - i;
    }
    MPI_CHECK(MPI_Reduce_local(a, b, 2, dvec, MPI_MAX));
    for (int i = 0; i < 6; i++) {
        int gap = i == 1 || i == 4;
        double want = gap ? -1.0 - i : (a[i] > -1.0 - i ? a[i] : -1.0 - i);
        CHECK(b[i] == want, "MAX on vector: element %d is %g, want %g", i, b[i], want);
    }
    MPI_CHECK(MPI_Type_free(&dvec));
}

/* ---- user operations -------------------------------------------------------------------- */

static void int_sum(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    CHECK(*dt == MPI_INT, "int_sum got another datatype");
    for (int i = 0; i < *len; i++)
        ((int *)inout)[i] += ((int *)in)[i];
    calls++;
}

/* inout = 2 * in - inout: not commutative, on MPI_INT. */
static void twice_minus(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    CHECK(*dt == MPI_INT, "twice_minus got another datatype");
    for (int i = 0; i < *len; i++)
        ((int *)inout)[i] = 2 * ((int *)in)[i] - ((int *)inout)[i];
}

/* inout = in x inout for 2x2 row-major matrices of doubles (mat_type). */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    CHECK(*dt == mat_type, "matmul got another datatype");
    for (int k = 0; k < *len; k++) {
        const double *a = (const double *)in + 4 * k;
        double *b = (double *)inout + 4 * k;
        double c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                       a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]};
        memcpy(b, c, sizeof c);
    }
}

/* inout = in ++ inout for NUL-terminated strings in 16-char slots (str_type), big-count form. */
static void concat_c(void *in, void *inout, MPI_Count *len, MPI_Datatype *dt)
{
    CHECK(*dt == str_type, "concat got another datatype");
    for (MPI_Count k = 0; k < *len; k++) {
        char joined[32];
        snprintf(joined, sizeof joined, "%s%s", (char *)in + 16 * k, (char *)inout + 16 * k);
        memcpy((char *)inout + 16 * k, joined, 15);
        ((char *)inout)[16 * k + 15] = 0;
    }
    calls++;
}

/* On vec_type (2 ints 2 apart, extent 3 ints): inout = in - inout on the data only. */
static void vec_minus(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    CHECK(*dt == vec_type, "vec_minus got another datatype");
    for (int k = 0; k < *len; k++)
        for (int j = 0; j < 3; j += 2) {
            int *o = (int *)inout + 3 * k + j;
            *o = ((int *)in)[3 * k + j] - *o;
        }
}

static void user_ops(void)
{
    int flag = -1;
    MPI_Op sum, tm, mm, cat, vm;
    MPI_CHECK(MPI_Op_create(int_sum, 1, &sum));
    MPI_CHECK(MPI_Op_create(twice_minus, 0, &tm));
    MPI_CHECK(MPI_Op_create(matmul, 0, &mm));
    MPI_CHECK(MPI_Op_create_c(concat_c, 0, &cat));
    MPI_CHECK(MPI_Op_create(vec_minus, 0, &vm));
    MPI_CHECK(MPI_Op_commutative(sum, &flag));
    CHECK(flag == 1, "user sum: commutative %d", flag);
    MPI_CHECK(MPI_Op_commutative(mm, &flag));
    CHECK(flag == 0, "matmul: commutative %d", flag);
    MPI_CHECK(MPI_Op_commutative(cat, &flag));
    CHECK(flag == 0, "concat: commutative %d", flag);

    /* Commutative sum on MPI_INT. */
    int in[N], io[N];
    for (int i = 0; i < N; i++) {
        in[i] = rank * 100 + i;
        io[i] = 3 * i;
    }
    calls = 0;
    MPI_CHECK(MPI_Reduce_local(in, io, N, MPI_INT, sum));
    CHECK(calls >= 1, "the user function was not called");
    for (int i = 0; i < N; i++)
        CHECK(io[i] == rank * 100 + 4 * i, "user sum: element %d is %d", i, io[i]);

    /* 2 * in - inout: the operand order matters. */
    for (int i = 0; i < N; i++) {
        in[i] = rank + i;
        io[i] = 7 * i;
    }
    MPI_CHECK(MPI_Reduce_local(in, io, N, MPI_INT, tm));
    for (int i = 0; i < N; i++)
        CHECK(io[i] == 2 * (rank + i) - 7 * i, "twice_minus: element %d is %d", i, io[i]);

    /* Matrix products: two pairs at once. */
    double A[8], B[8], W[8];
    for (int i = 0; i < 8; i++) {
        A[i] = (i * 3 + rank) % 5 - 1;
        B[i] = (i * 7 + 2 * rank) % 4 + 0.5;
    }
    for (int k = 0; k < 2; k++) {
        const double *a = A + 4 * k, *b = B + 4 * k;
        W[4 * k + 0] = a[0] * b[0] + a[1] * b[2];
        W[4 * k + 1] = a[0] * b[1] + a[1] * b[3];
        W[4 * k + 2] = a[2] * b[0] + a[3] * b[2];
        W[4 * k + 3] = a[2] * b[1] + a[3] * b[3];
    }
    MPI_CHECK(MPI_Reduce_local(A, B, 2, mat_type, mm));
    for (int i = 0; i < 8; i++)
        CHECK(B[i] == W[i], "matmul: element %d is %g, want %g", i, B[i], W[i]);

    /* String concatenation through the big-count forms. */
    char s_in[2][16] = {"ab", "x"}, s_io[2][16] = {"cd", "yz"};
    s_in[1][0] = (char)('a' + rank);
    calls = 0;
    MPI_CHECK(MPI_Reduce_local_c(s_in, s_io, (MPI_Count)2, str_type, cat));
    CHECK(calls >= 1, "the big-count user function was not called");
    char want1[4] = {(char)('a' + rank), 'y', 'z', 0};
    CHECK(strcmp(s_io[0], "abcd") == 0 && strcmp(s_io[1], want1) == 0,
          "concat gave \"%s\" \"%s\", want \"abcd\" \"%s\"", s_io[0], s_io[1], want1);

    /* A vector with gaps: the function sees the caller's layout; the gaps stay. */
    int v_in[6], v_io[6];
    for (int i = 0; i < 6; i++) {
        v_in[i] = 10 * i + rank;
        v_io[i] = -i;
    }
    MPI_CHECK(MPI_Reduce_local(v_in, v_io, 2, vec_type, vm));
    for (int i = 0; i < 6; i++) {
        int gap = i == 1 || i == 4;
        int want = gap ? -i : 10 * i + rank + i;
        CHECK(v_io[i] == want, "vec_minus: element %d is %d, want %d", i, v_io[i], want);
    }

    /* Freeing: the handle becomes MPI_OP_NULL; a freed handle is invalid everywhere. */
    MPI_Op old = sum;
    MPI_CHECK(MPI_Op_free(&sum));
    CHECK(sum == MPI_OP_NULL, "Op_free did not set MPI_OP_NULL");
    MPI_CHECK(MPI_Op_free(&tm));
    MPI_CHECK(MPI_Op_free(&mm));
    MPI_CHECK(MPI_Op_free(&cat));
    MPI_CHECK(MPI_Op_free(&vm));
    /* MPICH does not detect a freed operation handle (it reuses the object), so only ours. */
    if (!tu_is_mpich()) {
        CHECK_ERR_CLASS(MPI_Reduce_local(in, io, N, MPI_INT, old), MPI_ERR_OP);
        CHECK_ERR_CLASS(MPI_Op_commutative(old, &flag), MPI_ERR_OP);
        CHECK_ERR_CLASS(MPI_Op_free(&old), MPI_ERR_OP);
    }
}

static void errors(void)
{
    int flag = -1, in[N] = {0}, io[N] = {0};
    MPI_Op ops[] = {MPI_MAX, MPI_MIN, MPI_SUM, MPI_PROD, MPI_LAND, MPI_BAND, MPI_LOR,
                    MPI_BOR, MPI_LXOR, MPI_BXOR, MPI_MAXLOC, MPI_MINLOC, MPI_REPLACE, MPI_NO_OP};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        MPI_CHECK(MPI_Op_commutative(ops[i], &flag));
        /* REPLACE and NO_OP keep one operand: not commutative (MPICH agrees). */
        int want = ops[i] != MPI_REPLACE && ops[i] != MPI_NO_OP;
        CHECK(flag == want, "predefined op %zu: commutative %d", i, flag);
    }
    CHECK_ERR_CLASS(MPI_Op_commutative(MPI_OP_NULL, &flag), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Reduce_local(in, io, N, MPI_INT, MPI_OP_NULL), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Reduce_local(in, io, N, MPI_INT, MPI_MAXLOC), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Reduce_local(in, io, N, MPI_DOUBLE, MPI_BAND), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Reduce_local(in, in, N, MPI_INT, MPI_SUM), MPI_ERR_BUFFER);
    MPI_Op p = MPI_SUM;
    CHECK_ERR_CLASS(MPI_Op_free(&p), MPI_ERR_OP);
    CHECK(p == MPI_SUM, "a failed Op_free changed the handle");
    p = MPI_OP_NULL;
    CHECK_ERR_CLASS(MPI_Op_free(&p), MPI_ERR_OP);
    CHECK_ERR_CLASS(MPI_Op_create(NULL, 1, &p), MPI_ERR_ARG);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    rank = tu_rank();
    tu_errors_return();
    MPI_CHECK(MPI_Type_contiguous(4, MPI_DOUBLE, &mat_type));
    MPI_CHECK(MPI_Type_commit(&mat_type));
    MPI_CHECK(MPI_Type_contiguous(16, MPI_CHAR, &str_type));
    MPI_CHECK(MPI_Type_commit(&str_type));
    MPI_CHECK(MPI_Type_vector(2, 1, 2, MPI_INT, &vec_type));
    MPI_CHECK(MPI_Type_commit(&vec_type));

    predefined_ops();
    if (!tu_is_mpich())
        predefined_on_derived();
    user_ops();
    errors();

    MPI_CHECK(MPI_Type_free(&mat_type));
    MPI_CHECK(MPI_Type_free(&str_type));
    MPI_CHECK(MPI_Type_free(&vec_type));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0)
        printf("op_user: ok\n");
    MPI_Finalize();
    return 0;
}
