/* ranks: 2 3 4 */
/* Collectives on an intercommunicator between the even and the odd world ranks: Barrier, Bcast
 * and Reduce from every root of either group (MPI_ROOT at the root, MPI_PROC_NULL at the rest
 * of its group, whose buffers must stay untouched; the other group names the root's remote
 * rank), Allreduce (each group gets the reduction of the other group's data), all checked
 * against values computed from world ranks; an invalid root gets MPI_ERR_ROOT. */
#include "testutil.h"

static int grp[2][64], gn[2];

#define N 3
#define SENTINEL (-999)

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();
    for (int r = 0; r < size; r++)
        grp[r % 2][gn[r % 2]++] = r;
    int color = rank % 2, other = 1 - color;

    MPI_Comm local, inter;
    MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &local));
    MPI_CHECK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, grp[other][0], 1, &inter));
    int lrank = -1;
    MPI_CHECK(MPI_Comm_rank(inter, &lrank));

    for (int i = 0; i < 3; i++)
        MPI_CHECK(MPI_Barrier(inter));

    /* Bcast from every root of each group. */
    for (int g = 0; g < 2; g++) {
        for (int root = 0; root < gn[g]; root++) {
            int buf[N], root_world = grp[g][root];
            int arg;
            if (g == color)
                arg = lrank == root ? MPI_ROOT : MPI_PROC_NULL;
            else
                arg = root;
            for (int i = 0; i < N; i++)
                buf[i] = arg == MPI_ROOT ? 500 + 10 * rank + i : SENTINEL;
            MPI_CHECK(MPI_Bcast(buf, N, MPI_INT, arg, inter));
            for (int i = 0; i < N; i++) {
                int want = arg == MPI_PROC_NULL ? SENTINEL : 500 + 10 * root_world + i;
                CHECK(buf[i] == want, "bcast group %d root %d: buf[%d] = %d, expected %d", g,
                      root, i, buf[i], want);
            }
        }
    }

    /* Reduce to every root of each group: sum and max of the other group's data. */
    for (int g = 0; g < 2; g++) {
        int sg = 1 - g; /* the contributing group */
        long want_sum[N] = {0};
        double want_max = -1;
        for (int k = 0; k < gn[sg]; k++) {
            int w = grp[sg][k];
            for (int i = 0; i < N; i++)
                want_sum[i] += (long)(w + 1) * (i + 1);
            if (w * 1.5 > want_max)
                want_max = w * 1.5;
        }
        for (int root = 0; root < gn[g]; root++) {
            int arg = g == color ? (lrank == root ? MPI_ROOT : MPI_PROC_NULL) : root;
            long send[N], recv[N];
            for (int i = 0; i < N; i++) {
                send[i] = (long)(rank + 1) * (i + 1);
                recv[i] = SENTINEL;
            }
            MPI_CHECK(MPI_Reduce(send, recv, N, MPI_LONG, MPI_SUM, arg, inter));
            for (int i = 0; i < N; i++) {
                long want = arg == MPI_ROOT ? want_sum[i] : SENTINEL;
                CHECK(recv[i] == want, "reduce group %d root %d: recv[%d] = %ld, expected %ld", g,
                      root, i, recv[i], want);
            }
            double d = rank * 1.5, dr = SENTINEL;
            MPI_CHECK(MPI_Reduce(&d, &dr, 1, MPI_DOUBLE, MPI_MAX, arg, inter));
            CHECK(dr == (arg == MPI_ROOT ? want_max : SENTINEL), "reduce max %g", dr);
        }
    }

    /* Allreduce: each group gets the other group's sum and maximum. */
    {
        long want_sum = 0;
        int want_max = -1;
        for (int k = 0; k < gn[other]; k++) {
            want_sum += grp[other][k] + 1;
            if (grp[other][k] > want_max)
                want_max = grp[other][k];
        }
        long s = rank + 1, got = -1;
        MPI_CHECK(MPI_Allreduce(&s, &got, 1, MPI_LONG, MPI_SUM, inter));
        CHECK(got == want_sum, "allreduce sum %ld, expected %ld", got, want_sum);
        int pair[2] = {rank, 7 * rank}, gp[2] = {-1, -1};
        MPI_CHECK(MPI_Allreduce(pair, gp, 2, MPI_INT, MPI_MAX, inter));
        CHECK(gp[0] == want_max && gp[1] == 7 * want_max, "allreduce max %d %d", gp[0], gp[1]);
        /* Zero elements: nothing moves, nobody waits forever. */
        MPI_CHECK(MPI_Allreduce(&s, &got, 0, MPI_LONG, MPI_SUM, inter));
    }

    /* The intercommunicator's collectives do not disturb the local group's or the world's. */
    {
        int v = rank, sum = -1, want = 0;
        for (int k = 0; k < gn[color]; k++)
            want += grp[color][k];
        MPI_CHECK(MPI_Allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, local));
        CHECK(sum == want);
        MPI_CHECK(MPI_Allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
        CHECK(sum == size * (size - 1) / 2);
    }

    /* Errors: a root that is neither MPI_ROOT, MPI_PROC_NULL nor a remote rank. */
    {
        int v = 0;
        CHECK_ERR_CLASS(MPI_Bcast(&v, 1, MPI_INT, gn[other], inter), MPI_ERR_ROOT);
        CHECK_ERR_CLASS(MPI_Bcast(&v, 1, MPI_INT, -7, inter), MPI_ERR_ROOT);
        CHECK_ERR_CLASS(MPI_Reduce(&v, &v, 1, MPI_INT, MPI_SUM, gn[other], inter), MPI_ERR_ROOT);
    }

    MPI_CHECK(MPI_Barrier(inter));
    MPI_CHECK(MPI_Comm_free(&inter));
    MPI_CHECK(MPI_Comm_free(&local));
    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("intercomm_coll: ok\n");
    return 0;
}
