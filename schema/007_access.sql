-- 007_access: the access procedure (DOMAIN.md), one-time enrolment links, and
-- the time each session last proved its password and second factor.

-- Sensitive actions (tokens, roles, agreements, media reveal) need a proof
-- within the last few minutes; sign-in counts as one.
ALTER TABLE sessions ADD COLUMN reauth_at INTEGER NOT NULL DEFAULT 0;

-- A person's name as an admin typed it (invitations, access requests).
ALTER TABLE users ADD COLUMN name TEXT;

-- One LEA asking to join: requested -> demo_held -> hotline_approved ->
-- interpol_endorsed -> active, or rejected at any step before active. The
-- hotline's approval fixes the agreement the activation creates.
CREATE TABLE access_requests (
    id            INTEGER PRIMARY KEY,
    status        TEXT NOT NULL DEFAULT 'requested' CHECK (status IN
                  ('requested','demo_held','hotline_approved','interpol_endorsed','active','rejected')),
    agency        TEXT NOT NULL,
    country       TEXT NOT NULL CHECK (length(country) = 2),
    officer       TEXT NOT NULL,
    email         TEXT NOT NULL COLLATE NOCASE,
    phone         TEXT NOT NULL,
    justification TEXT NOT NULL,
    ip            TEXT,                 -- where the public form came from
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    -- set by the hotline's approval
    hotline_code          TEXT,
    jurisdiction          TEXT,        -- JSON array of ISO alpha-2 codes
    media_metadata        INTEGER,
    media_content         INTEGER,
    include_reported_from INTEGER,
    valid_from            INTEGER,
    valid_to              INTEGER,
    -- set on rejection or activation
    reason        TEXT,
    org_id        INTEGER REFERENCES orgs(id),
    user_id       INTEGER REFERENCES users(id)
);
CREATE INDEX access_requests_status ON access_requests(status, id);
CREATE INDEX access_requests_ip ON access_requests(ip, created_at);

-- Every step taken on a request, for its page (the audit trail has them too).
CREATE TABLE access_request_steps (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES access_requests(id),
    at          INTEGER NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    user_id     INTEGER,
    actor       TEXT NOT NULL,
    org_name    TEXT,
    note        TEXT
);
CREATE INDEX access_request_steps_request ON access_request_steps(request_id, id);

-- One-time links that let a person set their password (and then TOTP): for an
-- activated LEA's first org_admin, an invited user, or an access reset. Only
-- the BLAKE2b hash of the link's secret is kept.
CREATE TABLE enrolments (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('activation','invite','reset')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_by  TEXT NOT NULL
);
CREATE INDEX enrolments_user ON enrolments(user_id);
