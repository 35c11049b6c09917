-- 003_lockout: consecutive sign-in failures lock an account for a while, and
-- failures per client address are counted so one address can't try forever.
ALTER TABLE users ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until INTEGER;

CREATE TABLE signin_failures (
    id INTEGER PRIMARY KEY,
    ip TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX signin_failures_ip ON signin_failures(ip, at);
