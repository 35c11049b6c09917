-- 004_tokens: API tokens can be read-only and bound to client addresses.
ALTER TABLE api_tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN allowed_ips TEXT; -- JSON array of addresses / CIDR blocks; NULL: any
