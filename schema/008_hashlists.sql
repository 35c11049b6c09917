-- 008_hashlists: hash lists an organisation owns and shares (DOMAIN.md, "Hash
-- lists"). A list's version moves on every change; each entry remembers the
-- version that added it and the version that last changed it, and a removed
-- entry stays as a tombstone, so a subscriber can sync "since version N"
-- (added, changed, removed) cheaply. Matching never scans these tables: an
-- index file (lib/hidx.c) covers the entries up to a sequence number and the
-- few changed after it are checked directly.

CREATE TABLE hash_lists (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    description TEXT,
    scheme      TEXT NOT NULL DEFAULT 'none'
                CHECK (scheme IN ('none','vic_us','uk_abc','ncmec','interpol_baseline')),
    kind        TEXT NOT NULL DEFAULT 'normal' CHECK (kind IN ('normal','warning')),
    version     INTEGER NOT NULL DEFAULT 0,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE hash_entries (
    id                  INTEGER PRIMARY KEY,
    list_id             INTEGER NOT NULL REFERENCES hash_lists(id) ON DELETE CASCADE,
    algorithm           TEXT NOT NULL CHECK (algorithm IN ('md5','sha1','sha256','pdq','photodna')),
    value               BLOB NOT NULL,
    category            TEXT,
    series              TEXT,
    media_id            TEXT,
    victim_identified   INTEGER,
    offender_identified INTEGER,
    is_distributed      INTEGER,
    source              TEXT,          -- where it came from: a file name, "api", a user
    added_at            INTEGER NOT NULL,
    enabled             INTEGER NOT NULL DEFAULT 1,
    removed             INTEGER NOT NULL DEFAULT 0,  -- tombstone for incremental exports
    added_version       INTEGER NOT NULL,
    version             INTEGER NOT NULL,            -- list version of the last change
    seq                 INTEGER NOT NULL,            -- global change sequence (matching index)
    UNIQUE (list_id, algorithm, value)
);
CREATE INDEX hash_entries_version ON hash_entries(list_id, version);
CREATE INDEX hash_entries_seq ON hash_entries(seq);

-- Read access: a named organisation, or every organisation of a kind.
CREATE TABLE hash_list_shares (
    id          INTEGER PRIMARY KEY,
    list_id     INTEGER NOT NULL REFERENCES hash_lists(id) ON DELETE CASCADE,
    org_id      INTEGER REFERENCES orgs(id),
    org_kind    TEXT CHECK (org_kind IN ('lea','hotline','interpol')),
    granted_at  INTEGER NOT NULL,
    granted_by  TEXT NOT NULL,
    CHECK ((org_id IS NULL) <> (org_kind IS NULL))
);
CREATE UNIQUE INDEX hash_list_shares_once ON hash_list_shares(list_id, coalesce(org_id, 0), coalesce(org_kind, ''));

-- Cross-references found by the background correlation (`cport hashlist
-- reindex`): which media items hit which entries, and how close (PDQ).
CREATE TABLE hash_hits (
    media_id  INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    entry_id  INTEGER NOT NULL REFERENCES hash_entries(id) ON DELETE CASCADE,
    distance  INTEGER NOT NULL DEFAULT 0,
    found_at  INTEGER NOT NULL,
    PRIMARY KEY (entry_id, media_id)
) WITHOUT ROWID;
CREATE INDEX hash_hits_media ON hash_hits(media_id);

-- The global sequence of entry changes, and the correlation's watermarks.
INSERT INTO data_versions(name, n) VALUES ('hashes', 0), ('hits_media', 0), ('hits_seq', 0);
