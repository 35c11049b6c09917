/*
 * fuzz_hashfmt - libFuzzer target for the hash-list formats (lib/hashfmt.c):
 * every input is sniffed, parsed as every format and written back out. Built
 * with -DCPORT_LIBFUZZER and -fsanitize=fuzzer it fuzzes; in the normal build
 * it is a replay program that runs each file named on the command line (or
 * each file of a named directory), so the seed corpus runs in every test run.
 */
#include "hashfmt.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The fuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return hashfmt_fuzz_one(data, size); }

#ifndef CPORT_LIBFUZZER
/* Run one file through the target; 0 when it could be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size > (64 << 20)) {
        fclose(f);
        return -1;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

/* Replay every file named, or every regular file in a named directory. */
int main(int argc, char **argv)
{
    int runs = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                    continue;
                char p[4096];
                snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
                    bad += replay_file(p) != 0, runs++;
            }
            if (d)
                closedir(d);
        } else {
            bad += replay_file(argv[i]) != 0, runs++;
        }
    }
    printf("%d inputs replayed, %d unreadable\n", runs, bad);
    return bad || !runs;
}
#endif
