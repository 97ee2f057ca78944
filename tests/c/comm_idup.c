/* ranks: 1 2 3 4 */
/* MPI_Comm_idup is nonblocking: each rank enters it only after a message the previous rank
 * sends after its own MPI_Comm_idup (a chain, which deadlocks if the call waits for the
 * others); a blocking dup of MPI_COMM_SELF runs while an idup waits for the other members;
 * several idups outstanding at once, on one parent and on two (started in different orders
 * on different ranks), interleaved with MPI_Ibarrier; a blocking dup that must finish while
 * an idup of its process waits; MPI_Comm_idup_with_info; attributes
 * copied by their callbacks; each copy has the parent's ranks and groups, compares
 * MPI_CONGRUENT and keeps its messages apart; a Cartesian communicator's copy keeps the
 * topology; idups of an intercommunicator, several outstanding. */
#include "testutil.h"

static int copies;

static int copy_plus_one(MPI_Comm old, int key, void *extra, void *in, void *out, int *flag)
{
    (void)old, (void)key, (void)extra;
    *(void **)out = (void *)((char *)in + 1);
    *flag = 1;
    copies++;
    return MPI_SUCCESS;
}

static int copy_fails(MPI_Comm old, int key, void *extra, void *in, void *out, int *flag)
{
    (void)old, (void)key, (void)extra, (void)in, (void)out;
    *flag = 0;
    return MPI_ERR_OTHER;
}

/* `c` is a working copy of `parent`: same rank and size, congruent, its own messages. */
static void check_copy(MPI_Comm c, MPI_Comm parent, int salt)
{
    int r = -1, s = -1, pr = -1, ps = -1, cmp = -1;
    MPI_CHECK(MPI_Comm_rank(c, &r));
    MPI_CHECK(MPI_Comm_size(c, &s));
    MPI_CHECK(MPI_Comm_rank(parent, &pr));
    MPI_CHECK(MPI_Comm_size(parent, &ps));
    CHECK(r == pr && s == ps, "copy rank %d size %d, parent %d %d", r, s, pr, ps);
    MPI_CHECK(MPI_Comm_compare(c, parent, &cmp));
    CHECK(cmp == MPI_CONGRUENT, "copy vs parent: %d", cmp);
    /* Same tag on parent and copy: each receive gets its own communicator's message. */
    int to = (r + 1) % s, from = (r + s - 1) % s;
    int a = salt * 1000 + r, b = salt * 2000 + r, on_parent = -1, on_copy = -1;
    MPI_Request rq[2];
    MPI_CHECK(MPI_Isend(&a, 1, MPI_INT, to, 5, parent, &rq[0]));
    MPI_CHECK(MPI_Isend(&b, 1, MPI_INT, to, 5, c, &rq[1]));
    MPI_CHECK(MPI_Recv(&on_copy, 1, MPI_INT, from, 5, c, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Recv(&on_parent, 1, MPI_INT, from, 5, parent, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    CHECK(on_copy == salt * 2000 + from && on_parent == salt * 1000 + from, "copy got %d, parent got %d", on_copy,
          on_parent);
    int sum = -1;
    MPI_CHECK(MPI_Allreduce(&r, &sum, 1, MPI_INT, MPI_SUM, c));
    CHECK(sum == s * (s - 1) / 2, "allreduce on the copy: %d", sum);
}

/* Idup of an intercommunicator between the even and the odd ranks; the odd group's leader
 * enters it only after a message the even leader sends after its own idup. */
static void inter_idup(int rank, int size)
{
    int color = rank % 2;
    MPI_Comm local, inter, copy;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &local));
    MPI_CHECK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, 1 - color, 7, &inter));
    int lrank = -1, lsize = -1, rsize = -1, token = 0, flag = 0;
    MPI_CHECK(MPI_Comm_rank(local, &lrank));
    MPI_CHECK(MPI_Comm_size(local, &lsize));
    MPI_CHECK(MPI_Comm_remote_size(inter, &rsize));
    MPI_Request req;
    if (color == 1)
        MPI_CHECK(MPI_Recv(&token, 1, MPI_INT, 0, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Comm_idup(inter, &copy, &req));
    if (rank == 0) {
        token = 99;
        for (int r = 1; r < size; r += 2)
            MPI_CHECK(MPI_Send(&token, 1, MPI_INT, r, 8, MPI_COMM_WORLD));
    }
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(color == 0 || token == 99);
    MPI_CHECK(MPI_Comm_test_inter(copy, &flag));
    CHECK(flag, "idup of an intercommunicator is an intercommunicator");
    int r = -1, s = -1, rs = -1, cmp = -1;
    MPI_CHECK(MPI_Comm_rank(copy, &r));
    MPI_CHECK(MPI_Comm_size(copy, &s));
    MPI_CHECK(MPI_Comm_remote_size(copy, &rs));
    CHECK(r == lrank && s == lsize && rs == rsize, "inter copy rank %d size %d remote %d", r, s, rs);
    MPI_CHECK(MPI_Comm_compare(copy, inter, &cmp));
    CHECK(cmp == MPI_CONGRUENT, "inter copy vs parent: %d", cmp);
    /* Every process sends its world rank to every remote rank, on the copy and on the parent
     * with the same tag; the copy's messages come first here, sent last. */
    MPI_Request rq[8];
    int mine = rank, n = 0;
    for (int d = 0; d < rsize; d++)
        MPI_CHECK(MPI_Isend(&mine, 1, MPI_INT, d, 3, inter, &rq[n++]));
    for (int d = 0; d < rsize; d++)
        MPI_CHECK(MPI_Isend(&mine, 1, MPI_INT, d, 3, copy, &rq[n++]));
    for (int pass = 0; pass < 2; pass++) {
        MPI_Comm c = pass == 0 ? copy : inter;
        for (int src = 0; src < rsize; src++) {
            int v = -1;
            MPI_CHECK(MPI_Recv(&v, 1, MPI_INT, src, 3, c, MPI_STATUS_IGNORE));
            CHECK(v == 2 * src + (1 - color), "remote rank %d sent %d on pass %d", src, v, pass);
        }
    }
    MPI_CHECK(MPI_Waitall(n, rq, MPI_STATUSES_IGNORE));
    MPI_CHECK(MPI_Barrier(copy));
    /* Two more idups of the intercommunicator outstanding, with an Ibarrier between them. */
    MPI_Comm more[2];
    MPI_Request mq[3];
    MPI_CHECK(MPI_Comm_idup(inter, &more[0], &mq[0]));
    MPI_CHECK(MPI_Ibarrier(inter, &mq[1]));
    MPI_CHECK(MPI_Comm_idup(copy, &more[1], &mq[2]));
    MPI_CHECK(MPI_Waitall(3, mq, MPI_STATUSES_IGNORE));
    for (int i = 0; i < 2; i++) {
        MPI_CHECK(MPI_Comm_compare(more[i], inter, &cmp));
        CHECK(cmp == MPI_CONGRUENT, "inter copy %d vs parent: %d", i, cmp);
        /* Local rank l and remote rank l exchange where both exist. */
        int v = rank, got = -1;
        if (lrank < lsize && lrank < rsize) {
            MPI_CHECK(MPI_Sendrecv(&v, 1, MPI_INT, lrank, 6, &got, 1, MPI_INT, lrank, 6, more[i], MPI_STATUS_IGNORE));
            CHECK(got == 2 * lrank + 1 - color, "inter copy %d: remote rank %d sent %d", i, lrank, got);
        }
        MPI_CHECK(MPI_Comm_free(&more[i]));
    }
    MPI_CHECK(MPI_Comm_free(&copy));
    MPI_CHECK(MPI_Comm_free(&inter));
    MPI_CHECK(MPI_Comm_free(&local));
}

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();

    /* The chain: rank r enters MPI_Comm_idup after rank r - 1's message, sent after rank
     * r - 1's own MPI_Comm_idup. Meanwhile rank 0 dups MPI_COMM_SELF, blocking. */
    MPI_Comm chain, self_copy;
    MPI_Request req;
    int token = -1;
    if (rank > 0)
        MPI_CHECK(MPI_Recv(&token, 1, MPI_INT, rank - 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Comm_idup(MPI_COMM_WORLD, &chain, &req));
    CHECK(chain != MPI_COMM_NULL);
    /* Using the copy before its request completes is erroneous; ours reports MPI_ERR_COMM
     * through the copy's (inherited) handler. Rank 1 has not entered yet, so it is pending. */
    if (rank == 0 && size > 1 && !tu_is_mpich()) {
        int n = -1;
        CHECK_ERR_CLASS(MPI_Comm_size(chain, &n), MPI_ERR_COMM);
        CHECK_ERR_CLASS(MPI_Barrier(chain), MPI_ERR_COMM);
    }
    if (rank == 0) {
        MPI_CHECK(MPI_Comm_dup(MPI_COMM_SELF, &self_copy));
        check_copy(self_copy, MPI_COMM_SELF, 9);
        MPI_CHECK(MPI_Comm_free(&self_copy));
    }
    token = rank;
    if (rank + 1 < size)
        MPI_CHECK(MPI_Send(&token, 1, MPI_INT, rank + 1, 1, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(req == MPI_REQUEST_NULL);
    CHECK(rank == 0 || token == rank, "chain token %d", token);
    check_copy(chain, MPI_COMM_WORLD, 1);

    /* Several outstanding: three idups of world with an Ibarrier among them, and an idup of
     * `half` (even and odd ranks), which even ranks start first and odd ranks last. */
    MPI_Comm half, w[3], h;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half));
    MPI_Request rq[5];
    int n = 0;
    if (rank % 2 == 0)
        MPI_CHECK(MPI_Comm_idup(half, &h, &rq[n++]));
    MPI_CHECK(MPI_Comm_idup(MPI_COMM_WORLD, &w[0], &rq[n++]));
    MPI_CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &rq[n++]));
    MPI_CHECK(MPI_Comm_idup(MPI_COMM_WORLD, &w[1], &rq[n++]));
    MPI_CHECK(MPI_Comm_idup_with_info(MPI_COMM_WORLD, MPI_INFO_NULL, &w[2], &rq[n++]));
    if (rank % 2 == 1)
        MPI_CHECK(MPI_Comm_idup(half, &h, &rq[n++]));
    MPI_CHECK(MPI_Waitall(n, rq, MPI_STATUSES_IGNORE));
    for (int i = 0; i < 3; i++)
        check_copy(w[i], MPI_COMM_WORLD, 2 + i);
    check_copy(h, half, 5);
    /* The copies are distinct communicators. */
    int cmp = -1;
    MPI_CHECK(MPI_Comm_compare(w[0], w[1], &cmp));
    CHECK(cmp == MPI_CONGRUENT, "two copies: %d", cmp);
    for (int i = 0; i < 3; i++)
        MPI_CHECK(MPI_Comm_free(&w[i]));
    MPI_CHECK(MPI_Comm_free(&h));

    /* A blocking creation while an idup of the same process waits: rank 0's idup of world
     * waits for rank 1, which waits for rank 0's token, sent after rank 0's blocking dup of
     * `half`, which needs rank 2, which enters the idup only after that dup. The dup must
     * not wait for the idup to release the context ids. */
    if (size >= 3) {
        MPI_Comm x, y;
        if (rank == 1)
            MPI_CHECK(MPI_Recv(&token, 1, MPI_INT, 0, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        if (rank == 2)
            MPI_CHECK(MPI_Comm_dup(half, &y));
        MPI_CHECK(MPI_Comm_idup(MPI_COMM_WORLD, &x, &req));
        if (rank != 2)
            MPI_CHECK(MPI_Comm_dup(half, &y));
        if (rank == 0)
            MPI_CHECK(MPI_Send(&token, 1, MPI_INT, 1, 4, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        check_copy(x, MPI_COMM_WORLD, 6);
        check_copy(y, half, 7);
        MPI_CHECK(MPI_Comm_free(&x));
        MPI_CHECK(MPI_Comm_free(&y));
    }

    /* Attributes are copied by their callbacks; the copy has them once the request completes. */
    int key = MPI_KEYVAL_INVALID, found = 0;
    void *val = NULL;
    MPI_CHECK(MPI_Comm_create_keyval(copy_plus_one, MPI_COMM_NULL_DELETE_FN, &key, NULL));
    MPI_CHECK(MPI_Comm_set_attr(half, key, (void *)(intptr_t)40));
    MPI_Comm half_copy;
    MPI_CHECK(MPI_Comm_idup(half, &half_copy, &req));
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(copies == 1, "copy callback ran %d times", copies);
    MPI_CHECK(MPI_Comm_get_attr(half_copy, key, &val, &found));
    CHECK(found && (intptr_t)val == 41, "copied attribute %d %ld", found, (long)(intptr_t)val);
    MPI_CHECK(MPI_Comm_free(&half_copy));
    MPI_CHECK(MPI_Comm_free_keyval(&key));

    /* A failing copy callback fails MPI_Comm_idup everywhere with its error; the parent goes
     * on working, and so do later copies. */
    MPI_CHECK(MPI_Comm_create_keyval(copy_fails, MPI_COMM_NULL_DELETE_FN, &key, NULL));
    MPI_CHECK(MPI_Comm_set_attr(half, key, NULL));
    MPI_Comm lost = MPI_COMM_NULL;
    req = MPI_REQUEST_NULL;
    CHECK_ERR_CLASS(MPI_Comm_idup(half, &lost, &req), MPI_ERR_OTHER);
    MPI_CHECK(MPI_Comm_delete_attr(half, key));
    MPI_CHECK(MPI_Comm_free_keyval(&key));
    MPI_CHECK(MPI_Comm_idup(half, &half_copy, &req));
    MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    check_copy(half_copy, half, 8);
    MPI_CHECK(MPI_Comm_free(&half_copy));

    /* A Cartesian communicator's copy has its topology. */
    {
        int dims[1] = {size}, periods[1] = {1}, type = -1, src = -1, dst = -1, csrc = -1, cdst = -1;
        MPI_Comm cart, cart_copy;
        MPI_CHECK(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &cart));
        MPI_CHECK(MPI_Comm_idup(cart, &cart_copy, &req));
        MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        MPI_CHECK(MPI_Topo_test(cart_copy, &type));
        CHECK(type == MPI_CART, "topology of the copy: %d", type);
        MPI_CHECK(MPI_Cart_shift(cart, 0, 1, &src, &dst));
        MPI_CHECK(MPI_Cart_shift(cart_copy, 0, 1, &csrc, &cdst));
        CHECK(src == csrc && dst == cdst, "shift on the copy %d %d, on the parent %d %d", csrc, cdst, src, dst);
        MPI_CHECK(MPI_Comm_free(&cart_copy));
        MPI_CHECK(MPI_Comm_free(&cart));
    }

    if (size >= 2)
        inter_idup(rank, size);

    MPI_CHECK(MPI_Comm_free(&half));
    MPI_CHECK(MPI_Comm_free(&chain));
    MPI_CHECK(MPI_Finalize());
    return 0;
}
