-- 011_media_content: media bytes fetched by `cport import --media`. The
-- originals live encrypted in the content-addressed store under the data
-- directory (lib/mstore.c); the database holds only their SHA-256 and what was
-- computed from them. A content seen under several media items is stored once.
CREATE TABLE media_files (
    sha256       BLOB PRIMARY KEY,    -- of the plaintext: the store's address
    bytes        INTEGER NOT NULL,
    type         TEXT NOT NULL,       -- sniffed from the bytes, never from headers
    md5          BLOB NOT NULL,
    sha1         BLOB NOT NULL,
    pdq          BLOB,                -- NULL when the content could not be decoded
    pdq_quality  INTEGER,
    width        INTEGER,
    height       INTEGER,
    preview      INTEGER NOT NULL DEFAULT 0, -- a blurred greyscale preview exists
    decode_error TEXT,                -- why there is no PDQ or preview
    stored_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- fetch_state: NULL nothing to fetch; pending; stored; failed (retried by the
-- next run until media_fetch_attempts); refused (the bytes are not acceptable
-- media: too large, not an image or video; not retried unless the item changes).
ALTER TABLE media ADD COLUMN fetch_state TEXT
    CHECK (fetch_state IN ('pending','stored','failed','refused'));
ALTER TABLE media ADD COLUMN fetch_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN fetch_error TEXT;
ALTER TABLE media ADD COLUMN fetched_at INTEGER;
ALTER TABLE media ADD COLUMN file_sha256 BLOB;  -- media_files.sha256 once stored
ALTER TABLE media ADD COLUMN hash_mismatch TEXT; -- ICCAM's hashes that disagree: "md5,pdq:41"
CREATE INDEX media_fetch ON media(fetch_state) WHERE fetch_state IN ('pending','failed');
CREATE INDEX media_file ON media(file_sha256) WHERE file_sha256 IS NOT NULL;

-- Existing items with a content reference wait for their first fetch.
UPDATE media SET fetch_state = 'pending' WHERE content_ref IS NOT NULL;

-- How an analyst wants previews shown by default; the first view of every
-- session is blurred whatever this says (sessions.media_viewed).
ALTER TABLE users ADD COLUMN pref_blur INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN pref_greyscale INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN media_viewed INTEGER NOT NULL DEFAULT 0;

-- What a run's media fetch did (failed counts refused items too).
ALTER TABLE import_runs ADD COLUMN media_stored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_runs ADD COLUMN media_failed INTEGER NOT NULL DEFAULT 0;
