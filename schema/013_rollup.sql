-- 013_rollup: the dashboard's series summed per day ahead of time, so that a
-- year of a national LEA's reports costs a few thousand rows, not one index
-- entry per report (lib/rollup.c builds it, lib/stats.c reads it).
--
-- stats_rollup holds, per basis (0: by reported_at day, 1: removed reports by
-- removed_at day), per part of the reports, per grouping and per UTC day, how
-- many reports and media items fall in each group value. Parts are the pieces
-- every scope is a signed sum of (scope_parts in lib/scope.c):
--   *          every report                 i          INTERPOL's (class_bits & 1)
--   h:CC       hosted in CC                 h-         with no hosting country
--   d:CC       hosted in CC and sent by a hotline of CC
--   r:CODE     sent by hotline CODE         a:CODE     assessed by hotline CODE
--   b:CODE     sent and assessed by CODE
-- gdim: 0 status, 1 site_type, 2 hosting country ('unknown' for none),
-- 3 international class ('baseline', 'not_baseline', 'unclassified').
CREATE TABLE stats_rollup (
    part    TEXT NOT NULL,
    basis   INTEGER NOT NULL,
    gdim    INTEGER NOT NULL,
    day     INTEGER NOT NULL, -- seconds / 86400, as the raw series bucket it
    gval    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    media   INTEGER NOT NULL,
    PRIMARY KEY (part, basis, gdim, day, gval)
) WITHOUT ROWID;

-- Days whose rows are out of date: the series count them from the reports
-- until the next rebuild. The importer (lib/iccam.c, the one writer of
-- reports) marks the old and new days of every report it inserts, changes or
-- withdraws in the very transaction that writes it, so a reader's snapshot
-- always knows which rollup days it may trust (a trigger on reports would do
-- the same at a fifth of the import's speed). basis -1 (day 0): nothing may
-- be trusted (never built, or a hotline's country changed, which moves
-- reports in or out of d: parts: the triggers below).
CREATE TABLE stats_dirty (
    basis   INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    PRIMARY KEY (basis, day)
) WITHOUT ROWID;
INSERT INTO stats_dirty(basis, day) VALUES (-1, 0);

-- The parts present in stats_rollup, so a rebuild of some days can delete
-- their rows by key instead of scanning the table.
CREATE TABLE stats_parts (
    part    TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TRIGGER hotlines_stats_insert AFTER INSERT ON hotlines
BEGIN
    INSERT OR IGNORE INTO stats_dirty(basis, day) VALUES (-1, 0);
END;

CREATE TRIGGER hotlines_stats_delete AFTER DELETE ON hotlines
BEGIN
    INSERT OR IGNORE INTO stats_dirty(basis, day) VALUES (-1, 0);
END;

CREATE TRIGGER hotlines_stats_update AFTER UPDATE ON hotlines
WHEN OLD.country IS NOT NEW.country OR OLD.code IS NOT NEW.code
BEGIN
    INSERT OR IGNORE INTO stats_dirty(basis, day) VALUES (-1, 0);
END;
