-- 012_insight: saved report searches and the dashboard's removal index.
--
-- Saved searches: report searches kept under a name by their owner, with
-- how many reports in the owner's scope were added or changed since the owner
-- last opened the search (new_count, recounted after every import run that
-- changed reports, never on page load). "Since" is measured on the feed's own
-- clock: a report is new when its updated_at is after the newest updated_at
-- in the database when the search was opened (seen_mark), so the importer's
-- delay and the two clocks' skew don't matter.
CREATE TABLE saved_searches (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    filter      TEXT NOT NULL,        -- canonical JSON object of GET /reports filters
    created_at  INTEGER NOT NULL,
    opened_at   INTEGER NOT NULL,     -- when its owner last opened it
    seen_mark   INTEGER NOT NULL,     -- the newest report updated_at then: "new" is after it
    new_count   INTEGER NOT NULL DEFAULT 0,
    counted_at  INTEGER,              -- when new_count was last computed
    UNIQUE (user_id, name)
);

-- Removals by date (the dashboard's removed and removal_time series): only
-- removed reports are in it, with what a scope tests.
CREATE INDEX reports_removed ON reports(removed_at, host_country, reporting_hotline, assessing_hotline,
                                        class_bits, status, site_type, reported_at)
    WHERE removed_at IS NOT NULL;

-- INTERPOL's reports (a current baseline item) by date, now carrying what the
-- dashboard groups and filters by, so its series are read from the index alone.
DROP INDEX reports_baseline;
CREATE INDEX reports_baseline ON reports(reported_at, status, site_type, host_country, class_bits)
    WHERE class_bits & 1;
