/* ranks: 1 2 3 4 */
/* MPI_Comm_create (the even ranks; ranks outside get MPI_COMM_NULL; disjoint groups at once),
 * MPI_Comm_create_group (called by the odd ranks only, while the even ones talk among
 * themselves), MPI_Comm_split_type's hardware types, and bad groups. */
#include "testutil.h"

int main(int argc, char **argv)
{
    MPI_CHECK(MPI_Init(&argc, &argv));
    tu_errors_return();
    int rank = tu_rank(), size = tu_size();

    MPI_Group world, even, odd;
    MPI_CHECK(MPI_Comm_group(MPI_COMM_WORLD, &world));
    int ev[1][3] = {{0, size - 1, 2}};
    MPI_CHECK(MPI_Group_range_incl(world, 1, ev, &even));
    MPI_CHECK(MPI_Group_range_excl(world, 1, ev, &odd));
    int neven = (size + 1) / 2, nodd = size / 2;

    /* Comm_create with the same group everywhere. */
    MPI_Comm ce;
    MPI_CHECK(MPI_Comm_create(MPI_COMM_WORLD, even, &ce));
    int r = -1, s = -1, sum = -1;
    if (rank % 2 == 0) {
        CHECK(ce != MPI_COMM_NULL);
        MPI_CHECK(MPI_Comm_rank(ce, &r));
        MPI_CHECK(MPI_Comm_size(ce, &s));
        CHECK(r == rank / 2 && s == neven, "even comm rank %d size %d", r, s);
        MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, ce));
        CHECK(sum == 2 * (neven * (neven - 1) / 2), "even sum %d", sum);
    } else {
        CHECK(ce == MPI_COMM_NULL);
    }

    /* Disjoint groups at once: each rank passes the group it joins. */
    MPI_Comm cd;
    MPI_CHECK(MPI_Comm_create(MPI_COMM_WORLD, rank % 2 == 0 ? even : odd, &cd));
    CHECK(cd != MPI_COMM_NULL);
    MPI_CHECK(MPI_Comm_size(cd, &s));
    CHECK(s == (rank % 2 == 0 ? neven : nodd));
    int to = -1, got = -1;
    MPI_CHECK(MPI_Comm_rank(cd, &r));
    to = (r + 1) % s;
    MPI_CHECK(MPI_Sendrecv(&rank, 1, MPI_INT, to, 1, &got, 1, MPI_INT, (r + s - 1) % s, 1, cd,
                           MPI_STATUS_IGNORE));
    CHECK(got == 2 * ((r + s - 1) % s) + rank % 2, "ring on disjoint comm got %d", got);
    MPI_CHECK(MPI_Comm_free(&cd));

    /* Comm_create_group: only the odd ranks call it; the even ones use their comm meanwhile. */
    if (rank % 2 == 1) {
        MPI_Comm co;
        MPI_CHECK(MPI_Comm_create_group(MPI_COMM_WORLD, odd, 77, &co));
        CHECK(co != MPI_COMM_NULL);
        MPI_CHECK(MPI_Comm_rank(co, &r));
        MPI_CHECK(MPI_Comm_size(co, &s));
        CHECK(r == rank / 2 && s == nodd);
        MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, co));
        CHECK(sum == nodd * nodd, "odd sum %d", sum);
        /* And again from the new communicator, over its first rank alone. */
        MPI_Group og, first;
        MPI_CHECK(MPI_Comm_group(co, &og));
        int zero = 0;
        MPI_CHECK(MPI_Group_incl(og, 1, &zero, &first));
        if (r == 0) {
            MPI_Comm c1;
            MPI_CHECK(MPI_Comm_create_group(co, first, 0, &c1));
            MPI_CHECK(MPI_Comm_size(c1, &s));
            CHECK(s == 1);
            MPI_CHECK(MPI_Comm_free(&c1));
        }
        MPI_CHECK(MPI_Group_free(&first));
        MPI_CHECK(MPI_Group_free(&og));
        MPI_CHECK(MPI_Comm_free(&co));
    } else {
        for (int i = 0; i < 10; i++)
            MPI_CHECK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, ce));
        MPI_CHECK(MPI_Barrier(ce));
    }
    if (ce != MPI_COMM_NULL)
        MPI_CHECK(MPI_Comm_free(&ce));
    /* Create_group with the empty group. */
    MPI_Comm none;
    MPI_CHECK(MPI_Comm_create_group(MPI_COMM_WORLD, MPI_GROUP_EMPTY, 0, &none));
    CHECK(none == MPI_COMM_NULL);
    MPI_CHECK(MPI_Comm_create(MPI_COMM_WORLD, MPI_GROUP_EMPTY, &none));
    CHECK(none == MPI_COMM_NULL);

    /* Hardware split types: all ranks share this host, so there is no strictly smaller
     * hardware level (HW_UNGUIDED gives MPI_COMM_NULL at one host); without the info key
     * mpi_hw_resource_type HW_GUIDED names no resource. */
    MPI_Comm hw;
    int local = -1;
    MPI_Comm node;
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
    MPI_CHECK(MPI_Comm_size(node, &local));
    MPI_CHECK(MPI_Comm_free(&node));
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_HW_UNGUIDED, 0, MPI_INFO_NULL, &hw));
    if (local == size) {
        CHECK(hw == MPI_COMM_NULL);
    } else {
        CHECK(hw != MPI_COMM_NULL);
        MPI_CHECK(MPI_Comm_size(hw, &s));
        CHECK(s < size);
        MPI_CHECK(MPI_Comm_free(&hw));
    }
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_HW_GUIDED, 0, MPI_INFO_NULL, &hw));
    CHECK(hw == MPI_COMM_NULL);
    /* HW_GUIDED with the standard's resource type mpi_shared_memory is the host split: its
     * members are exactly MPI_COMM_TYPE_SHARED's. */
    MPI_Info hwinfo;
    MPI_CHECK(MPI_Info_create(&hwinfo));
    MPI_CHECK(MPI_Info_set(hwinfo, "mpi_hw_resource_type", "mpi_shared_memory"));
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_HW_GUIDED, 0, hwinfo, &hw));
    CHECK(hw != MPI_COMM_NULL);
    MPI_CHECK(MPI_Comm_size(hw, &s));
    CHECK(s == local, "HW_GUIDED mpi_shared_memory: size %d, host has %d", s, local);
    MPI_CHECK(MPI_Comm_free(&hw));
    MPI_CHECK(MPI_Info_free(&hwinfo));

    /* Errors: a group that is not part of the communicator, invalid groups, a bad tag. */
    if (size > 1)
        CHECK_ERR_CLASS(MPI_Comm_create(MPI_COMM_SELF, world, &none), MPI_ERR_GROUP);
    CHECK_ERR_CLASS(MPI_Comm_create(MPI_COMM_WORLD, MPI_GROUP_NULL, &none), MPI_ERR_GROUP);
    CHECK_ERR_CLASS(MPI_Comm_create_group(MPI_COMM_WORLD, world, -1, &none), MPI_ERR_TAG);
    CHECK_ERR_CLASS(MPI_Comm_create_group(MPI_COMM_NULL, world, 0, &none), MPI_ERR_COMM);
    MPI_Group stale = even;
    MPI_CHECK(MPI_Group_free(&even));
    /* A freed group: MPICH 5.0.2 does not detect it and fails an assertion inside
     * (allreduce_group.c: "(cdst) != MPI_UNDEFINED"), so only ours checks it. */
    if (!tu_is_mpich())
        CHECK_ERR_CLASS(MPI_Comm_create_group(MPI_COMM_WORLD, stale, 0, &none), MPI_ERR_GROUP);

    if (odd != MPI_GROUP_EMPTY)
        MPI_CHECK(MPI_Group_free(&odd));
    MPI_CHECK(MPI_Group_free(&world));
    MPI_CHECK(MPI_Finalize());
    if (rank == 0)
        printf("comm_create: ok\n");
    return 0;
}
