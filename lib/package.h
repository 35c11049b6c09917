/*
 * package - intelligence packages: the content and the build. A package is
 * composed by the API (lib/api_packages.c) and built by `cport jobs`
 * (lib/jobs.c), never in a request: reports.json, reports.csv, media.csv,
 * hashes.vics.json, hashes.txt and README.txt, signed in manifest.json /
 * manifest.sig by lib/pkgzip.c, with only what the creator may see when the
 * build runs.
 */
#ifndef CPORT_PACKAGE_H
#define CPORT_PACKAGE_H

#include "api.h"

/* Build queued package id into <data_dir>/packages/ (encrypted for transport
 * when passphrase is given). Progress goes to the row as it runs; success makes
 * it ready (file, sha256, bytes, expiry) with a package.built audit entry; a
 * failure makes it failed with the reason and leaves no file. */
int package_build(struct db *d, const struct config *cfg, int64_t id, const char *passphrase, char *err,
                  size_t errlen);

/* Delete the files of ready packages whose expiry has passed (the rows say
 * expired); *n counts them. */
int package_expire(struct db *d, const struct config *cfg, int64_t now, int *n);

#endif
