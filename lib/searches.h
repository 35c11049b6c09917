/*
 * searches - saved report searches: after an import run changed reports, each
 * search's count of reports added or changed since its owner last opened it,
 * recounted in the owner's scope now (an index range on updated_at, so the
 * cost follows what changed, not the size of the database).
 */
#ifndef CPORT_SEARCHES_H
#define CPORT_SEARCHES_H

#include <stddef.h> /* before db.h, which uses size_t without including it */

#include "config.h"
#include "db.h"

/* Recount new_count of every saved search. *n gets how many were recounted.
 * A search whose owner is disabled or whose filter no longer validates keeps
 * its old count. CP_OK or the database error. */
int searches_recount(struct db *d, const struct config *cfg, long *n, char *err, size_t errlen);

#endif
