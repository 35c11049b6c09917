-- 009_packages: intelligence packages and the background jobs that build them.
-- A package is composed in a request (its selection: report ids or a filter,
-- kept as the query string of GET /reports) and built later by `cport jobs`,
-- within its creator's scope at build time. The file lives under the data
-- directory (packages/); when it expires the file goes and the row says so.

CREATE TABLE packages (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    title         TEXT NOT NULL,
    case_ref      TEXT,
    notes         TEXT,
    report_ids    TEXT,              -- JSON array, or NULL when a filter selects
    filter        TEXT,              -- the filter as a JSON object, or NULL
    include_media_content INTEGER NOT NULL DEFAULT 0,
    encrypted     INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued','building','ready','failed','expired')),
    done          INTEGER NOT NULL DEFAULT 0,   -- progress: reports written
    total         INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    file          TEXT,              -- path relative to the data directory
    sha256        TEXT,
    bytes         INTEGER,
    report_count  INTEGER,
    created_at    INTEGER NOT NULL,
    built_at      INTEGER,
    expires_at    INTEGER
);
CREATE INDEX packages_org ON packages(org_id, id);
CREATE INDEX packages_expiry ON packages(status, expires_at);

-- Work for `cport jobs`: claimed one at a time (queued -> running -> done |
-- failed); a runner that dies leaves "running" rows that the next start puts
-- back in the queue.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('package')),
    ref_id      INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','running','done','failed')),
    secret      BLOB,              -- a package's transport passphrase, set to NULL once built
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    runner_pid  INTEGER
);
CREATE INDEX jobs_queue ON jobs(status, id);
