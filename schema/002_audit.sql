-- 002_audit: the tamper-evident audit trail. Each entry carries the BLAKE2b-256
-- hash of the previous entry and of its own fields (lib/audit.c), so editing,
-- deleting, inserting or reordering rows breaks the chain; audit_heads keeps
-- the chain head signed with the instance's Ed25519 key, so cutting off the
-- tail is caught too.

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,  -- consecutive: id = previous id + 1
    at         INTEGER NOT NULL,
    user_id    INTEGER,              -- the actor, when signed in
    org_id     INTEGER,
    actor      TEXT NOT NULL,        -- email, "cli:<login>" or "anonymous"
    ip         TEXT,
    request_id TEXT,
    action     TEXT NOT NULL,        -- session.create, session.fail, access.denied, org.add, ...
    object     TEXT,                 -- what it concerns, e.g. "report:123", "org:4"
    detail     TEXT,                 -- JSON with the rest
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL
);
CREATE INDEX audit_org ON audit(org_id, at);
CREATE INDEX audit_action ON audit(action, at);

CREATE TABLE audit_heads (
    id         INTEGER PRIMARY KEY,
    entry_id   INTEGER NOT NULL,     -- the last entry covered
    hash       BLOB NOT NULL,        -- its hash
    signed_at  INTEGER NOT NULL,
    public_key BLOB NOT NULL,        -- Ed25519 public key that signed
    signature  BLOB NOT NULL         -- over "cport-audit-head:" || entry_id || hash || signed_at
);
