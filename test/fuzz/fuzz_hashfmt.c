/*
 * fuzz_hashfmt - libFuzzer target for the hash-list formats (lib/hashfmt.c):
 * every input is sniffed, parsed as every format and written back out. Built
 * with -DCPORT_LIBFUZZER and -fsanitize=fuzzer it fuzzes; in the normal build
 * it is a replay program (replay.h) that runs each file named on the command
 * line (or each file of a named directory), so the seed corpus runs in every
 * test run.
 */
#include "hashfmt.h"

#include <stddef.h>
#include <stdint.h>

/* The fuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return hashfmt_fuzz_one(data, size); }

#include "replay.h"
