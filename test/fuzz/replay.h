/*
 * replay.h - the main() every fuzz target (test/fuzz/fuzz_*.c) shares when it is
 * not built for libFuzzer: run LLVMFuzzerTestOneInput on each file named on the
 * command line, or on each regular file of a named directory (in name order, so
 * a run is repeatable), printing each path first so a crash names its input.
 * That is how ctest replays the seed corpora in every test run, under ASan too.
 * A target includes it after defining LLVMFuzzerTestOneInput; with
 * -DCPORT_LIBFUZZER (scripts/fuzz) libFuzzer supplies main() instead.
 */
#ifndef CPORT_FUZZ_REPLAY_H
#define CPORT_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef CPORT_LIBFUZZER
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Run one file through the target; 0 when it could be read. Inputs are
 * limited to 64 MB: a seed corpus holds small files. */
static int replay_file(const char *path)
{
    fprintf(stderr, "replay: %s\n", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size > (64 << 20)) {
        fclose(f);
        return -1;
    }
    /* An exact-size copy, so ASan sees any read past the input's end. */
    uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

/* Replay every regular file of dir in name order; counts into runs and bad. */
static void replay_dir(const char *dir, int *runs, int *bad)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        (*bad)++;
        return;
    }
    for (int i = 0; i < n; i++) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            *bad += replay_file(p) != 0;
            (*runs)++;
        }
        free(names[i]);
    }
    free(names);
}

/* Replay every file named, or every regular file in a named directory; fails
 * when something could not be read or nothing was replayed at all. */
int main(int argc, char **argv)
{
    int runs = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            replay_dir(argv[i], &runs, &bad);
        } else {
            bad += replay_file(argv[i]) != 0;
            runs++;
        }
    }
    printf("%d inputs replayed, %d unreadable\n", runs, bad);
    return bad || !runs;
}
#endif

#endif
