/* ranks: 1 2 */
/* Derived datatype constructors: size, lb, extent, true lb and true extent of each against
 * hand-computed values; get_envelope/get_contents return what each constructor got; names of
 * predefined and derived types; a type freed while another is built on it; invalid arguments
 * get MPI_ERR_TYPE / MPI_ERR_ARG / MPI_ERR_COUNT under MPI_ERRORS_RETURN; uncommitted types in
 * communication get MPI_ERR_TYPE. */
#include "testutil.h"

static void check_type(MPI_Datatype t, const char *what, MPI_Count size, MPI_Count lb,
                       MPI_Count extent, MPI_Count tlb, MPI_Count textent)
{
    MPI_Count s = -1, l = -1, e = -1, tl = -1, te = -1;
    MPI_CHECK(MPI_Type_size_c(t, &s));
    MPI_CHECK(MPI_Type_get_extent_c(t, &l, &e));
    MPI_CHECK(MPI_Type_get_true_extent_c(t, &tl, &te));
    CHECK(s == size && l == lb && e == extent && tl == tlb && te == textent,
          "%s: size %lld lb %lld extent %lld true lb %lld true extent %lld, expected %lld %lld "
          "%lld %lld %lld",
          what, (long long)s, (long long)l, (long long)e, (long long)tl, (long long)te,
          (long long)size, (long long)lb, (long long)extent, (long long)tlb, (long long)textent);
    int si = -1;
    MPI_Aint la = -1, ea = -1;
    MPI_CHECK(MPI_Type_size(t, &si));
    MPI_CHECK(MPI_Type_get_extent(t, &la, &ea));
    CHECK(si == size && la == lb && ea == extent, "%s: int forms disagree", what);
}

/* get_envelope/get_contents of `t` must give back exactly these arguments. */
static void check_contents(MPI_Datatype t, int combiner, int ni, const int *ints, int na,
                           const MPI_Aint *addrs, int nd, const MPI_Datatype *types)
{
    int gi, ga, gd, gc;
    MPI_CHECK(MPI_Type_get_envelope(t, &gi, &ga, &gd, &gc));
    CHECK(gc == combiner && gi == ni && ga == na && gd == nd,
          "envelope %d %d %d combiner %d, expected %d %d %d %d", gi, ga, gd, gc, ni, na, nd,
          combiner);
    int iv[64];
    MPI_Aint av[64];
    MPI_Datatype dv[64];
    MPI_CHECK(MPI_Type_get_contents(t, 64, 64, 64, iv, av, dv));
    for (int i = 0; i < ni; i++)
        CHECK(iv[i] == ints[i], "combiner %d integer %d: %d, expected %d", combiner, i, iv[i], ints[i]);
    for (int i = 0; i < na; i++)
        CHECK(av[i] == addrs[i], "combiner %d address %d: %ld, expected %ld", combiner, i,
              (long)av[i], (long)addrs[i]);
    for (int i = 0; i < nd; i++) {
        int c2, x;
        MPI_CHECK(MPI_Type_get_envelope(dv[i], &x, &x, &x, &c2));
        if (c2 == MPI_COMBINER_NAMED)
            CHECK(dv[i] == types[i], "combiner %d type %d is not the predefined type given", combiner, i);
        else
            MPI_CHECK(MPI_Type_free(&dv[i])); /* a new handle on a derived constituent */
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    tu_errors_return();
    MPI_Datatype t, u, v;

    /* contiguous(5, int) */
    MPI_CHECK(MPI_Type_contiguous(5, MPI_INT, &t));
    check_type(t, "contiguous", 20, 0, 20, 0, 20);
    check_contents(t, MPI_COMBINER_CONTIGUOUS, 1, (int[]){5}, 0, NULL, 1, (MPI_Datatype[]){MPI_INT});
    MPI_CHECK(MPI_Type_free(&t));
    CHECK(t == MPI_DATATYPE_NULL, "free sets MPI_DATATYPE_NULL");

    /* vector(3, 2, 4, double): blocks at 0, 32, 64; data to 80 */
    MPI_CHECK(MPI_Type_vector(3, 2, 4, MPI_DOUBLE, &t));
    check_type(t, "vector", 48, 0, 80, 0, 80);
    check_contents(t, MPI_COMBINER_VECTOR, 3, (int[]){3, 2, 4}, 0, NULL, 1, (MPI_Datatype[]){MPI_DOUBLE});
    /* A vector of vectors: 2 blocks of 1 at stride 3 (in extents of 80 bytes). */
    MPI_CHECK(MPI_Type_vector(2, 1, 3, t, &u));
    check_type(u, "vector of vector", 96, 0, 320, 0, 320);
    MPI_CHECK(MPI_Type_free(&t)); /* u still needs t's layout */
    check_type(u, "vector of freed vector", 96, 0, 320, 0, 320);
    {
        int gi, ga, gd, gc;
        MPI_Datatype inner;
        int iv[3];
        MPI_CHECK(MPI_Type_get_envelope(u, &gi, &ga, &gd, &gc));
        MPI_CHECK(MPI_Type_get_contents(u, 3, 0, 1, iv, NULL, &inner));
        check_type(inner, "constituent of freed type", 48, 0, 80, 0, 80);
        MPI_CHECK(MPI_Type_free(&inner));
    }
    MPI_CHECK(MPI_Type_free(&u));

    /* negative stride hvector(3, 1, -16, int): ints at 0, -16, -32 */
    MPI_CHECK(MPI_Type_create_hvector(3, 1, -16, MPI_INT, &t));
    check_type(t, "hvector", 12, -32, 36, -32, 36);
    check_contents(t, MPI_COMBINER_HVECTOR, 2, (int[]){3, 1}, 1, (MPI_Aint[]){-16}, 1, (MPI_Datatype[]){MPI_INT});
    MPI_CHECK(MPI_Type_free(&t));

    /* indexed {3 at 4, 1 at 0} of short: data 8..14 and 0..2 */
    MPI_CHECK(MPI_Type_indexed(2, (int[]){3, 1}, (int[]){4, 0}, MPI_SHORT, &t));
    check_type(t, "indexed", 8, 0, 14, 0, 14);
    check_contents(t, MPI_COMBINER_INDEXED, 5, (int[]){2, 3, 1, 4, 0}, 0, NULL, 1, (MPI_Datatype[]){MPI_SHORT});
    MPI_CHECK(MPI_Type_free(&t));

    MPI_CHECK(MPI_Type_create_hindexed(2, (int[]){2, 1}, (MPI_Aint[]){10, 1}, MPI_CHAR, &t));
    check_type(t, "hindexed", 3, 1, 11, 1, 11);
    check_contents(t, MPI_COMBINER_HINDEXED, 3, (int[]){2, 2, 1}, 2, (MPI_Aint[]){10, 1}, 1, (MPI_Datatype[]){MPI_CHAR});
    MPI_CHECK(MPI_Type_free(&t));

    MPI_CHECK(MPI_Type_create_indexed_block(3, 2, (int[]){6, 0, 3}, MPI_FLOAT, &t));
    check_type(t, "indexed_block", 24, 0, 32, 0, 32);
    check_contents(t, MPI_COMBINER_INDEXED_BLOCK, 5, (int[]){3, 2, 6, 0, 3}, 0, NULL, 1, (MPI_Datatype[]){MPI_FLOAT});
    MPI_CHECK(MPI_Type_free(&t));

    MPI_CHECK(MPI_Type_create_hindexed_block(2, 1, (MPI_Aint[]){-8, 8}, MPI_DOUBLE, &t));
    check_type(t, "hindexed_block", 16, -8, 24, -8, 24);
    check_contents(t, MPI_COMBINER_HINDEXED_BLOCK, 2, (int[]){2, 1}, 2, (MPI_Aint[]){-8, 8}, 1, (MPI_Datatype[]){MPI_DOUBLE});
    MPI_CHECK(MPI_Type_free(&t));

    /* struct { char c; double d[2]; int i; } as C lays it out: 0, 8, 24; extent 32 (padded) */
    struct S { char c; double d[2]; int i; };
    MPI_CHECK(MPI_Type_create_struct(3, (int[]){1, 2, 1}, (MPI_Aint[]){0, 8, 24},
                                     (MPI_Datatype[]){MPI_CHAR, MPI_DOUBLE, MPI_INT}, &t));
    check_type(t, "struct", 21, 0, (MPI_Count)sizeof(struct S), 0, 28);
    check_contents(t, MPI_COMBINER_STRUCT, 4, (int[]){3, 1, 2, 1}, 3, (MPI_Aint[]){0, 8, 24}, 3,
                   (MPI_Datatype[]){MPI_CHAR, MPI_DOUBLE, MPI_INT});

    /* resized to lb -8, extent 48; a struct of it is not padded further */
    MPI_CHECK(MPI_Type_create_resized(t, -8, 48, &u));
    check_type(u, "resized", 21, -8, 48, 0, 28);
    {
        int gi, ga, gd, gc;
        MPI_Aint av[2];
        MPI_Datatype inner;
        MPI_CHECK(MPI_Type_get_envelope(u, &gi, &ga, &gd, &gc));
        CHECK(gc == MPI_COMBINER_RESIZED && gi == 0 && ga == 2 && gd == 1, "resized envelope");
        MPI_CHECK(MPI_Type_get_contents(u, 0, 2, 1, NULL, av, &inner));
        CHECK(av[0] == -8 && av[1] == 48, "resized contents %ld %ld", (long)av[0], (long)av[1]);
        check_type(inner, "resized's constituent", 21, 0, 32, 0, 28);
        MPI_CHECK(MPI_Type_free(&inner));
    }
    MPI_CHECK(MPI_Type_contiguous(2, u, &v));
    check_type(v, "contiguous of resized", 42, -8, 96, 0, 76);
    MPI_CHECK(MPI_Type_free(&v));
    MPI_CHECK(MPI_Type_dup(u, &v));
    check_type(v, "dup", 21, -8, 48, 0, 28);
    {
        int gi, ga, gd, gc;
        MPI_CHECK(MPI_Type_get_envelope(v, &gi, &ga, &gd, &gc));
        CHECK(gc == MPI_COMBINER_DUP && gi == 0 && ga == 0 && gd == 1, "dup envelope");
    }
    MPI_CHECK(MPI_Type_free(&v));
    MPI_CHECK(MPI_Type_free(&u));
    MPI_CHECK(MPI_Type_free(&t));

    /* subarray: 2x3 of a 4x5 int array at (1, 2), C and Fortran order */
    MPI_CHECK(MPI_Type_create_subarray(2, (int[]){4, 5}, (int[]){2, 3}, (int[]){1, 2}, MPI_ORDER_C, MPI_INT, &t));
    /* C: rows 1..2, cols 2..4: first at (1*5+2)*4 = 28, last ends (2*5+4+1)*4 = 60 */
    check_type(t, "subarray C", 24, 0, 80, 28, 32);
    check_contents(t, MPI_COMBINER_SUBARRAY, 8, (int[]){2, 4, 5, 2, 3, 1, 2, MPI_ORDER_C}, 0, NULL, 1, (MPI_Datatype[]){MPI_INT});
    MPI_CHECK(MPI_Type_free(&t));
    MPI_CHECK(MPI_Type_create_subarray(2, (int[]){4, 5}, (int[]){2, 3}, (int[]){1, 2}, MPI_ORDER_FORTRAN, MPI_INT, &t));
    /* Fortran: index (i, j) at (j*4+i)*4; i in 1..2, j in 2..4: first 36, last (2, 4) ends 76 */
    check_type(t, "subarray Fortran", 24, 0, 80, 36, 40);
    MPI_CHECK(MPI_Type_free(&t));

    /* darray: a 6x4 double array, block x cyclic(1) over 2x2 processes; process 3 = (1, 1)
     * owns rows 3..5 and columns 1, 3. */
    MPI_CHECK(MPI_Type_create_darray(4, 3, 2, (int[]){6, 4},
                                     (int[]){MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_CYCLIC},
                                     (int[]){MPI_DISTRIBUTE_DFLT_DARG, MPI_DISTRIBUTE_DFLT_DARG},
                                     (int[]){2, 2}, MPI_ORDER_C, MPI_DOUBLE, &t));
    /* first (3, 1) at (3*4+1)*8 = 104, last (5, 3) ends (5*4+3+1)*8 = 192 */
    check_type(t, "darray", 48, 0, 192, 104, 88);
    check_contents(t, MPI_COMBINER_DARRAY, 12,
                   (int[]){4, 3, 2, 6, 4, MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_CYCLIC,
                           MPI_DISTRIBUTE_DFLT_DARG, MPI_DISTRIBUTE_DFLT_DARG, 2, 2, MPI_ORDER_C},
                   0, NULL, 1, (MPI_Datatype[]){MPI_DOUBLE});
    MPI_CHECK(MPI_Type_free(&t));

    /* large-count forms: get_envelope_c / get_contents_c */
    MPI_CHECK(MPI_Type_vector_c(4, 1, 3, MPI_INT, &t));
    check_type(t, "vector_c", 16, 0, 40, 0, 40);
    {
        MPI_Count ni, na, nc, nd, lc[3];
        int comb;
        MPI_Datatype dt;
        MPI_CHECK(MPI_Type_get_envelope_c(t, &ni, &na, &nc, &nd, &comb));
        CHECK(comb == MPI_COMBINER_VECTOR && ni == 0 && na == 0 && nc == 3 && nd == 1, "vector_c envelope");
        MPI_CHECK(MPI_Type_get_contents_c(t, 0, 0, 3, 1, NULL, NULL, lc, &dt));
        CHECK(lc[0] == 4 && lc[1] == 1 && lc[2] == 3 && dt == MPI_INT, "vector_c contents");
    }
    MPI_CHECK(MPI_Type_free(&t));

    /* names */
    {
        char name[MPI_MAX_OBJECT_NAME];
        int len;
        MPI_CHECK(MPI_Type_get_name(MPI_DOUBLE_INT, name, &len));
        CHECK(strcmp(name, "MPI_DOUBLE_INT") == 0 && len == 14, "name %s", name);
        MPI_CHECK(MPI_Type_get_name(MPI_UNSIGNED_LONG_LONG, name, &len));
        CHECK(strcmp(name, "MPI_UNSIGNED_LONG_LONG") == 0, "name %s", name);
        MPI_CHECK(MPI_Type_contiguous(2, MPI_INT, &t));
        MPI_CHECK(MPI_Type_get_name(t, name, &len));
        CHECK(len == 0 && name[0] == 0, "a new type has an empty name, not %s", name);
        MPI_CHECK(MPI_Type_set_name(t, "pair of ints"));
        MPI_CHECK(MPI_Type_get_name(t, name, &len));
        CHECK(strcmp(name, "pair of ints") == 0 && len == 12, "name %s", name);
        MPI_CHECK(MPI_Type_free(&t));
    }

    /* match_size, value_index */
    MPI_CHECK(MPI_Type_match_size(MPI_TYPECLASS_REAL, 8, &t));
    {
        int s;
        MPI_CHECK(MPI_Type_size(t, &s));
        CHECK(s == 8, "match_size real 8 gave size %d", s);
    }
    CHECK_ERR_CLASS(MPI_Type_match_size(MPI_TYPECLASS_INTEGER, 3, &t), MPI_ERR_ARG);
    MPI_CHECK(MPI_Type_get_value_index(MPI_DOUBLE, MPI_INT, &t));
    CHECK(t == MPI_DOUBLE_INT, "value_index double/int");

    /* invalid arguments */
    CHECK_ERR_CLASS(MPI_Type_contiguous(-1, MPI_INT, &t), MPI_ERR_COUNT);
    CHECK_ERR_CLASS(MPI_Type_vector(2, -1, 1, MPI_INT, &t), MPI_ERR_COUNT);
    CHECK_ERR_CLASS(MPI_Type_contiguous(2, MPI_DATATYPE_NULL, &t), MPI_ERR_TYPE);
    if (!tu_is_mpich()) /* MPICH 5.0.2 accepts a subsize larger than the size */
        CHECK_ERR_CLASS(MPI_Type_create_subarray(1, (int[]){4}, (int[]){5}, (int[]){0}, MPI_ORDER_C, MPI_INT, &t), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Type_create_subarray(1, (int[]){4}, (int[]){2}, (int[]){0}, 99, MPI_INT, &t), MPI_ERR_ARG);
    CHECK_ERR_CLASS(MPI_Type_free(&(MPI_Datatype){MPI_INT}), MPI_ERR_TYPE);
    MPI_CHECK(MPI_Type_contiguous(3, MPI_INT, &t));
    u = t;
    MPI_CHECK(MPI_Type_free(&t));
    /* A stale handle (MPICH 5.0.2 does not detect them: skipped there). */
    if (!tu_is_mpich()) {
        int s;
        CHECK_ERR_CLASS(MPI_Type_commit(&u), MPI_ERR_TYPE);
        CHECK_ERR_CLASS(MPI_Type_size(u, &s), MPI_ERR_TYPE);
    }
    {
        int x;
        CHECK_ERR_CLASS(MPI_Type_get_contents(MPI_INT, 0, 0, 0, &x, NULL, NULL), MPI_ERR_TYPE);
    }

    /* Derived types in communication: uncommitted ones are refused with MPI_ERR_TYPE;
     * committed ones travel (p2p_derived.c and coll_derived.c test that in depth). */
    {
        int buf[6] = {0};
        MPI_CHECK(MPI_Type_contiguous(3, MPI_INT, &t));
        CHECK_ERR_CLASS(MPI_Send(buf, 1, t, MPI_PROC_NULL, 0, MPI_COMM_WORLD), MPI_ERR_TYPE);
        int psize, pos = 0;
        char pbuf[64];
        CHECK_ERR_CLASS(MPI_Pack_size(1, t, MPI_COMM_WORLD, &psize), MPI_ERR_TYPE);
        CHECK_ERR_CLASS(MPI_Pack(buf, 1, t, pbuf, 64, &pos, MPI_COMM_WORLD), MPI_ERR_TYPE);
        MPI_CHECK(MPI_Type_commit(&t));
        int got[3] = {-1, -1, -1};
        buf[0] = 7, buf[1] = 8, buf[2] = 9;
        MPI_CHECK(MPI_Sendrecv(buf, 1, t, 0, 0, got, 3, MPI_INT, 0, 0, MPI_COMM_SELF, MPI_STATUS_IGNORE));
        CHECK(got[0] == 7 && got[1] == 8 && got[2] == 9, "derived send to self: %d %d %d", got[0], got[1], got[2]);

        MPI_CHECK(MPI_Type_free(&t));
    }

    MPI_Barrier(MPI_COMM_WORLD);
    if (tu_rank() == 0)
        printf("type_ctor ok\n");
    MPI_Finalize();
    return 0;
}
