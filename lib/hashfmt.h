/*
 * hashfmt - the hash-list formats hotlines, INTERPOL and police exchange, read and
 * written: Project VIC VICS JSON (OData v1.3 "odata.metadata" and v2.0
 * "@odata.context"; the Media and the Cases entity sets), INTERPOL ICSE CSV, CSV
 * with a header naming columns by algorithm, and plain text with one hash a line.
 *
 * Reading streams: lists run to millions of hashes (ICSE 4.9M items, UK CAID ~13M),
 * so a 1 GB file must not need 1 GB of memory. Input is pushed in chunks of any
 * size and every entry is handed to a callback as soon as its record is complete;
 * memory stays bounded by the longest record (CSV/text: 64 KiB) or the longest JSON
 * string (4 MiB) and the nesting depth (64), whatever the file's size.
 *
 * JSON is parsed with yajl 2 (Debian's libyajl-dev), an event-driven parser that
 * takes the document in arbitrary chunks. cJSON, used elsewhere in lib/, builds the
 * whole tree in memory and so cannot stream. A maintained, fuzzed Debian package
 * beats a hand-written tokenizer: JSON's string escapes, surrogates, UTF-8
 * validation and number grammar are exactly where hand-written parsers go wrong.
 *
 * Bad records never vanish: each invalid line (CSV, ICSE, text) or media object
 * (VICS) is reported to the sink with its line number and a reason, counted by the
 * caller, and parsing goes on. A record is all or nothing - a media object with a
 * good MD5 and a corrupt SHA1 is reported, not half-imported. Only a file that is
 * not the declared format at all (JSON syntax error, CSV header without a hash
 * column) stops the parse, with an error naming the line.
 *
 * Field mapping:
 *   VICS  MediaID (string or number), Category (string or number), Series, MD5,
 *         SHA1, SHA256, PDQ, PhotoDNA (base64 or hex), VictimIdentified,
 *         OffenderIdentified, IsDistributed (true/false, also as strings or 0/1).
 *         Other members, nested or not (MediaFiles, Exifs, Tags...), are skipped.
 *         In $metadata#Cases files the media are the objects of each case's
 *         "Media" array; without metadata an object with a "Media" array is a case.
 *   ICSE  MD5, SHA1, PhotoDNA, Image ID -> media_id, Series name -> series,
 *         Is distributed / Victim identified / Offender identified -> flags,
 *         Baseline true -> category "baseline" (INTERPOL's baseline scheme).
 *         Columns are found by header name, in any order; others are ignored.
 *   CSV   header names (any case) md5, sha1, sha256, pdq, photodna, category,
 *         series, media_id; others are ignored; at least one hash column.
 *   text  32 hex md5, 40 sha1, 64 sha256 (pdq when asked for), 288 hex or 192
 *         base64 PhotoDNA; blank lines and # comments skipped.
 * A record with several hashes yields one entry per hash, in the order md5, sha1,
 * sha256, pdq, photodna, sharing the record's other fields.
 */
#ifndef CPORT_HASHFMT_H
#define CPORT_HASHFMT_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

enum hashfmt_alg { HF_MD5 = 1, HF_SHA1, HF_SHA256, HF_PDQ, HF_PHOTODNA };
#define HF_ALG_MAX HF_PHOTODNA

/* Limits of the text fields, in bytes of printable UTF-8. */
#define HF_CATEGORY_MAX 32
#define HF_SERIES_MAX 200
#define HF_MEDIA_ID_MAX 64

/* "md5", "sha1", "sha256", "pdq", "photodna"; "?" for anything else. */
const char *hashfmt_alg_name(enum hashfmt_alg a);
/* The algorithm named name (any case); CP_OK or CP_BAD. */
int hashfmt_alg_parse(const char *name, enum hashfmt_alg *a);
/* Bytes of a value: 16, 20, 32, 32, 144; 0 for an unknown algorithm. */
size_t hashfmt_alg_size(enum hashfmt_alg a);

enum hashfmt_format { HF_VICS = 1, HF_ICSE, HF_CSV, HF_TEXT };

/* "vics", "icse", "csv", "text"; "?" for anything else. */
const char *hashfmt_format_name(enum hashfmt_format f);
/* The format named name (any case); CP_OK or CP_BAD. */
int hashfmt_format_parse(const char *name, enum hashfmt_format *f);
/* Guess the format from the first n bytes of a file (a few KiB is plenty): a JSON
 * object is VICS, a ';' header with ICSE column names ICSE, a header naming a hash
 * algorithm CSV, a hash or a # comment text. CP_OK, or CP_BAD when it looks like
 * none of them. */
int hashfmt_sniff(const char *head, size_t n, enum hashfmt_format *f);

/* One hash of a list, as handed to the sink. */
struct hashfmt_entry {
    enum hashfmt_alg alg;
    uint8_t value[144];
    size_t len;                                                 /* hashfmt_alg_size(alg) */
    const char *category, *series, *media_id;                   /* NULL when absent; valid during the callback only */
    int victim_identified, offender_identified, is_distributed; /* -1 unknown, 0, 1 */
    long line; /* 1-based; VICS: the line where the media object began */
};

/* Where a parse delivers its results. Either callback may be NULL. */
struct hashfmt_sink {
    int (*entry)(void *arg, const struct hashfmt_entry *e);    /* non-CP_OK stops the parse with that status */
    void (*invalid)(void *arg, long line, const char *reason); /* one per invalid line/object */
    void *arg;
};

/*
 * The push parser: create it, feed the input in chunks of any size (as a read loop
 * or a libcurl write callback delivers them), then finish. Entries and invalid
 * records reach the sink during feed and finish. text_alg applies to HF_TEXT only:
 * 0 tells the algorithm from each line's length, an algorithm requires every line
 * to be that one (the CLI's --algorithm; the only way to read 64-hex PDQ lists).
 *
 * feed and finish return CP_OK while the input is fine so far; CP_BAD when it is
 * not the declared format (err says which line and why); the entry callback's
 * status when it stopped the parse. After a failure every further call returns
 * the same status. A UTF-8 byte order mark at the start is skipped.
 */
struct hashfmt_parser;
int hashfmt_parser_new(struct hashfmt_parser **pp, enum hashfmt_format fmt, enum hashfmt_alg text_alg,
                       const struct hashfmt_sink *sink, char *err, size_t errlen);
int hashfmt_parser_feed(struct hashfmt_parser *p, const void *data, size_t n, char *err, size_t errlen);
int hashfmt_parser_finish(struct hashfmt_parser *p, char *err, size_t errlen);
void hashfmt_parser_free(struct hashfmt_parser *p);

/* Parse everything readable from fd, 64 KiB at a time, with bounded memory.
 * Returns as the push parser does, or CP_ERR when reading fails. */
int hashfmt_parse_fd(int fd, enum hashfmt_format fmt, enum hashfmt_alg text_alg, const struct hashfmt_sink *sink,
                     char *err, size_t errlen);
/* The same with reads of at most chunk bytes: for tests of chunk boundaries. */
int hashfmt_parse_fd_chunked(int fd, size_t chunk, enum hashfmt_format fmt, enum hashfmt_alg text_alg,
                             const struct hashfmt_sink *sink, char *err, size_t errlen);
/* Parse n bytes in memory, for tests, fuzzing and small uploads. */
int hashfmt_parse_mem(const char *data, size_t n, enum hashfmt_format fmt, enum hashfmt_alg text_alg,
                      const struct hashfmt_sink *sink, char *err, size_t errlen);

/*
 * Writers (export): begin, one call per entry, end, all appending to a struct buf
 * the caller may write out and buf_reset between calls, so an export of millions
 * of hashes needs no more memory than one entry's text.
 *   HF_VICS  VICS 2.0 JSON: {"@odata.context": ".../2.0.xml/<CC>/$metadata#Media",
 *            "value": [one media object per entry]}; the hash in its algorithm's
 *            member (MD5/SHA1/SHA256/PDQ upper-case hex, PhotoDNA base64); MediaID
 *            and Category as numbers when they are plain integers; the known flags
 *            as booleans; "cport": {"change": ...} when a change is given, for the
 *            fields VICS lacks. Strings go through jw, escaped by construction.
 *   HF_CSV   header md5,sha1,sha256,pdq,photodna,category,series,media_id,change;
 *            one row an entry, RFC 4180 quoting where needed.
 *   HF_TEXT  one hash a line (hex; PhotoDNA base64).
 * ICSE is read only. The struct is public so it can live on the stack; its members
 * are the writer's own.
 */
struct hashfmt_writer {
    enum hashfmt_format fmt;
    struct buf *out;
    long n; /* entries written */
};

/* Start a list of format fmt in out. country: the ISO 3166 code in the VICS
 * context URL (NULL: "US", Project VIC's default); ignored by the other formats.
 * CP_OK, or CP_BAD for an unwritable format or a bad country code. */
int hashfmt_writer_begin(struct hashfmt_writer *w, enum hashfmt_format fmt, struct buf *out, const char *country,
                         char *err, size_t errlen);
/* Append one entry; change is NULL or "added", "changed", "removed" (incremental
 * exports). CP_BAD, writing nothing, when the entry is not valid (unknown
 * algorithm, wrong length, text fields over their limits or not printable). */
int hashfmt_writer_entry(struct hashfmt_writer *w, const struct hashfmt_entry *e, const char *change, char *err,
                         size_t errlen);
/* Close the list (the VICS array and object). */
void hashfmt_writer_end(struct hashfmt_writer *w);

/* Fuzz entry point: sniff data and parse it as every format (text with every
 * algorithm), writing each entry back out in every writable format, results
 * ignored. Always returns 0; a crash or sanitizer report is the finding. */
int hashfmt_fuzz_one(const uint8_t *data, size_t n);

#endif
