-- The revocation feed's new records and its clients. Times are INTEGER unix
-- milliseconds (UTC); NULL is the zero time.Time.

-- A subject revocation: every access token of the user issued at or before
-- this time is revoked.
ALTER TABLE users ADD COLUMN tokens_revoked_at INTEGER;

-- A revoked (compromised) signing key.
ALTER TABLE signing_keys ADD COLUMN revoked_at INTEGER;

-- store.KindUser became store.KindSubject.
UPDATE revocations SET kind = 'subject' WHERE kind = 'user';

-- OAuth clients (the feed's readers); secret_hash is the SHA-256 of the
-- client secret.
CREATE TABLE clients (
	id          TEXT    NOT NULL PRIMARY KEY,
	name        TEXT    NOT NULL UNIQUE,
	secret_hash BLOB    NOT NULL,
	scopes      TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
	created_at  INTEGER,
	updated_at  INTEGER
) STRICT;

CREATE INDEX clients_created_at ON clients (created_at, id);

-- One row: the highest revocations.seq ever pruned, so that a feed reader
-- whose cursor is below it knows it may have missed records. Pruning is
-- the only way a record leaves the table, and a seq is never reused
-- (AUTOINCREMENT), so for records pruned before this migration it is the
-- highest seq up to the newest one ever assigned that is missing now.
CREATE TABLE revocations_pruned (
	id  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL
) STRICT;

INSERT INTO revocations_pruned (id, seq) SELECT 1, coalesce(max(missing), 0) FROM (
	SELECT s.seq AS missing FROM sqlite_sequence AS s
		WHERE s.name = 'revocations' AND NOT EXISTS (SELECT 1 FROM revocations AS r WHERE r.seq = s.seq)
	UNION ALL
	SELECT r.seq - 1 FROM revocations AS r
		WHERE r.seq > 1 AND NOT EXISTS (SELECT 1 FROM revocations AS p WHERE p.seq = r.seq - 1)
);
