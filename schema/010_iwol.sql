-- 010_iwol: suggestions for INTERPOL's Worst-of List (DOMAIN.md). An LEA
-- suggests a registrable domain with evidence reports; analysts of other LEAs
-- and hotlines who see the domain in their own scope confirm or dispute; the
-- suggester submits once two countries confirm (its own counts) and no dispute
-- is left unanswered; INTERPOL accepts or rejects, and later delists.
CREATE TABLE iwol_suggestions (
    id              INTEGER PRIMARY KEY,
    domain          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open','submitted','accepted','rejected','delisted')),
    org_id          INTEGER NOT NULL REFERENCES orgs(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    country         TEXT NOT NULL,
    justification   TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    decision_reason TEXT,
    delisting_requested INTEGER NOT NULL DEFAULT 0
);
-- One live suggestion a domain: a second suggestion becomes a confirmation.
CREATE UNIQUE INDEX iwol_live_domain ON iwol_suggestions(domain) WHERE status IN ('open','submitted','accepted');
CREATE INDEX iwol_status ON iwol_suggestions(status, id);

CREATE TABLE iwol_evidence (
    suggestion_id INTEGER NOT NULL REFERENCES iwol_suggestions(id),
    report_id     INTEGER NOT NULL REFERENCES reports(id),
    org_id        INTEGER NOT NULL,
    added_at      INTEGER NOT NULL,
    PRIMARY KEY (suggestion_id, report_id)
) WITHOUT ROWID;

-- One verdict per organisation (a later one replaces it).
CREATE TABLE iwol_verifications (
    id            INTEGER PRIMARY KEY,
    suggestion_id INTEGER NOT NULL REFERENCES iwol_suggestions(id),
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    country       TEXT NOT NULL,
    user_id       INTEGER NOT NULL,
    verdict       TEXT NOT NULL CHECK (verdict IN ('confirm','dispute')),
    note          TEXT,
    created_at    INTEGER NOT NULL,
    replied_at    INTEGER,
    UNIQUE (suggestion_id, org_id)
);

CREATE TABLE iwol_events (
    id            INTEGER PRIMARY KEY,
    suggestion_id INTEGER NOT NULL REFERENCES iwol_suggestions(id),
    at            INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    org_name      TEXT,
    action        TEXT NOT NULL,
    from_status   TEXT,
    to_status     TEXT,
    reason        TEXT
);
CREATE INDEX iwol_events_suggestion ON iwol_events(suggestion_id, id);
