-- 001_core: organisations, people, agreements, sessions, the ICCAM reports and
-- media they see, and the importer's bookkeeping. Times are Unix seconds (UTC).

CREATE TABLE orgs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('lea','hotline','interpol','operator')),
    name        TEXT NOT NULL UNIQUE,
    country     TEXT NOT NULL CHECK (length(country) = 2),
    code        TEXT UNIQUE,            -- a hotline's ICCAM code, e.g. NL-EOKM
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role        TEXT NOT NULL CHECK (role IN ('viewer','analyst','org_admin','operator')),
    pw_hash     TEXT NOT NULL,          -- crypto_pwhash_str (Argon2id)
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- One LEA bound to its national hotline; what the LEA sees comes from here only.
CREATE TABLE agreements (
    id                    INTEGER PRIMARY KEY,
    lea_org_id            INTEGER NOT NULL REFERENCES orgs(id),
    hotline_code          TEXT NOT NULL,
    media_metadata        INTEGER NOT NULL DEFAULT 0,
    media_content         INTEGER NOT NULL DEFAULT 0,
    include_reported_from INTEGER NOT NULL DEFAULT 0,
    valid_from            INTEGER,      -- NULL: since ever
    valid_to              INTEGER,      -- NULL: until revoked
    created_at            INTEGER NOT NULL
);
CREATE INDEX agreements_lea ON agreements(lea_org_id);

CREATE TABLE agreement_countries (
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    country      TEXT NOT NULL CHECK (length(country) = 2),
    PRIMARY KEY (agreement_id, country)
) WITHOUT ROWID;

-- Browser sessions: the cookie holds 32 random bytes, the table their hash.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    last_used_ip TEXT,
    revoked      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- Hotlines as the feed lists them.
CREATE TABLE hotlines (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    country  TEXT NOT NULL,
    website  TEXT,
    email    TEXT
) WITHOUT ROWID;

-- One row per reported page URL. The media-derived columns (media_count and the
-- *_bits summaries of current classifications and media types) are kept by the
-- importer so that filters and the INTERPOL scope need no join.
CREATE TABLE reports (
    id                INTEGER PRIMARY KEY,
    iccam_id          TEXT NOT NULL UNIQUE,
    updated_at        INTEGER NOT NULL,
    reported_at       INTEGER NOT NULL,
    reporting_hotline TEXT,
    assessing_hotline TEXT,
    url               TEXT NOT NULL,
    domain            TEXT NOT NULL,
    site_type         TEXT NOT NULL,
    host_country      TEXT,
    host_ip           TEXT,
    host_asn          INTEGER,
    host_provider     TEXT,
    commercial        INTEGER NOT NULL DEFAULT 0,
    status            TEXT NOT NULL,
    assessed_at       INTEGER,
    forwarded_at      INTEGER,
    lea_notified_at   INTEGER,
    ntd_sent_at       INTEGER,
    removed_at        INTEGER,
    media_count       INTEGER NOT NULL DEFAULT 0,
    class_bits        INTEGER NOT NULL DEFAULT 0, -- 1 baseline, 2 not_baseline, 4 illegal, 8 not_illegal
    type_bits         INTEGER NOT NULL DEFAULT 0  -- 1 image, 2 video, 4 other
);
-- The two browse indexes carry every column a scope or filter tests after the
-- leading ones, so a search checks its conditions inside the index and touches
-- table rows only for the page it returns (and counts without touching them).
CREATE INDEX reports_reported ON reports(reported_at, host_country, status, site_type, class_bits,
                                         type_bits, reporting_hotline, assessing_hotline);
CREATE INDEX reports_country ON reports(host_country, reported_at, status, site_type, class_bits,
                                        type_bits, reporting_hotline, assessing_hotline);
CREATE INDEX reports_updated ON reports(updated_at, id);
CREATE INDEX reports_domain ON reports(domain, id);
CREATE INDEX reports_reporting ON reports(reporting_hotline, reported_at);
CREATE INDEX reports_assessing ON reports(assessing_hotline, reported_at);
CREATE INDEX reports_baseline ON reports(reported_at, id) WHERE class_bits & 1;

-- Full text over url, domain and provider. Kept in step by iccam.c, not by
-- triggers: with trusted_schema off SQLite refuses FTS5 inside triggers.
CREATE VIRTUAL TABLE reports_fts USING fts5(
    url, domain, host_provider, content='reports', content_rowid='id',
    tokenize = "unicode61 tokenchars '-'");

-- A withdrawn report leaves a tombstone so an older copy never resurrects it.
CREATE TABLE report_tombstones (
    iccam_id   TEXT PRIMARY KEY,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE media (
    id              INTEGER PRIMARY KEY,
    report_id       INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    iccam_media_id  TEXT NOT NULL UNIQUE,
    content_url     TEXT,
    media_type      TEXT NOT NULL,
    mime            TEXT,
    bytes           INTEGER,
    width           INTEGER,
    height          INTEGER,
    duration_s      REAL,
    md5             BLOB,
    sha1            BLOB,
    sha256          BLOB,
    pdq             BLOB,
    pdq_quality     INTEGER,
    photodna        BLOB,
    first_seen_at   INTEGER,
    is_new          INTEGER,
    known_to_police INTEGER,
    content_ref     TEXT
);
CREATE INDEX media_report ON media(report_id);

-- Every assessment is kept; is_current marks the one that counts.
CREATE TABLE classifications (
    id            INTEGER PRIMARY KEY,
    media_id      INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    international TEXT,
    national      TEXT,
    age_group     TEXT,
    gender        TEXT,
    assessed_at   INTEGER,
    assessed_by   TEXT,
    is_current    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX classifications_media ON classifications(media_id, is_current);

-- Importer bookkeeping: where each feed stands, every run, every quarantined record.
CREATE TABLE import_state (
    feed       TEXT PRIMARY KEY,
    cursor     TEXT,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE import_runs (
    id         INTEGER PRIMARY KEY,
    feed       TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    status     TEXT NOT NULL DEFAULT 'running',  -- running | ok | failed
    pages      INTEGER NOT NULL DEFAULT 0,
    inserted   INTEGER NOT NULL DEFAULT 0,
    updated    INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0,
    unchanged  INTEGER NOT NULL DEFAULT 0,
    rejected   INTEGER NOT NULL DEFAULT 0,
    error      TEXT
);

CREATE TABLE import_rejects (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER REFERENCES import_runs(id),
    iccam_id   TEXT,
    reason     TEXT NOT NULL,
    raw        TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- A page fetched again (the feed's last page is re-read until it grows) must not
-- quarantine the same record twice.
CREATE UNIQUE INDEX import_rejects_once ON import_rejects(reason, raw);
