-- 006_versions: counters that move only when what a cache depends on changes:
-- "reports" with every import page, "access" with organisations, users and
-- agreements. Caches of totals, facets, full-text hits and scopes key on them
-- rather than on PRAGMA data_version, which every audit entry would move.
CREATE TABLE data_versions (
    name TEXT PRIMARY KEY,
    n    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO data_versions(name, n) VALUES ('reports', 0), ('access', 0);
