/* mem_rss: resident memory of each rank right after MPI_Init.
 *
 * Every rank reads its own /proc/self/status (VmRSS, RssAnon, RssFile, RssShmem) and
 * /proc/self/smaps_rollup (Pss) before making any MPI call other than MPI_Init, then the
 * values are gathered to rank 0, which prints one line per rank:
 *   "rank VmRSS RssAnon RssFile RssShmem Pss" (kB)
 * VmRSS = RssAnon (private heap, stacks) + RssFile (mapped files: libraries, including the
 * MPI library's code) + RssShmem (shared memory: an MPI's shared-memory rings and segments
 * are counted in full by every rank that maps them). Pss divides each shared page by the
 * number of processes mapping it, so summing Pss over ranks does not count a page twice.
 * A value the kernel does not provide reads -1.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { VMRSS, RSSANON, RSSFILE, RSSSHMEM, PSS, NFIELDS };
static const char *const FIELDS[NFIELDS] = {"VmRSS:", "RssAnon:", "RssFile:", "RssShmem:", "Pss:"};

/* Fills the fields found in `path` (lines "Name:   123 kB"). */
static void read_kb(const char *path, long *out)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        for (int k = 0; k < NFIELDS; k++) {
            size_t len = strlen(FIELDS[k]);
            if (out[k] < 0 && !strncmp(line, FIELDS[k], len)) out[k] = atol(line + len);
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    long mine[NFIELDS];
    for (int k = 0; k < NFIELDS; k++) mine[k] = -1;
    read_kb("/proc/self/status", mine);
    read_kb("/proc/self/smaps_rollup", mine);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    long *all = rank == 0 ? malloc(sizeof(long) * NFIELDS * (size_t)nranks) : NULL;
    if (rank == 0 && !all) {
        fprintf(stderr, "mem_rss: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Gather(mine, NFIELDS, MPI_LONG, all, NFIELDS, MPI_LONG, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("# ferrompi mem_rss: kB per rank right after MPI_Init\n");
        printf("# rank VmRSS RssAnon RssFile RssShmem Pss\n");
        for (int r = 0; r < nranks; r++) {
            printf("%d", r);
            for (int k = 0; k < NFIELDS; k++) printf(" %ld", all[r * NFIELDS + k]);
            printf("\n");
        }
        free(all);
    }
    MPI_Finalize();
    return 0;
}
