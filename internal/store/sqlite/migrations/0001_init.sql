-- The initial schema. Times are INTEGER unix milliseconds (UTC); NULL is the
-- zero time.Time. A session without a previous token hash has a NULL
-- prev_hash.

CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	roles         TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER,
	updated_at    INTEGER
) STRICT;

CREATE INDEX users_created_at ON users (created_at, id);

CREATE TABLE sessions (
	id            TEXT    NOT NULL PRIMARY KEY,
	user_id       TEXT    NOT NULL REFERENCES users (id),
	token_hash    BLOB    NOT NULL UNIQUE,
	prev_hash     BLOB,
	generation    INTEGER NOT NULL,
	rotated_at    INTEGER,
	created_at    INTEGER,
	last_used_at  INTEGER,
	expires_at    INTEGER,
	user_agent    TEXT    NOT NULL,
	ip            TEXT    NOT NULL,
	revoked_at    INTEGER,
	revoke_reason TEXT    NOT NULL
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
CREATE INDEX sessions_prev_hash ON sessions (prev_hash);

-- AUTOINCREMENT: a seq is never reused, even after the newest records are
-- pruned, so feed readers never see an old seq again.
CREATE TABLE revocations (
	seq     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	kind    TEXT    NOT NULL,
	subject TEXT    NOT NULL,
	user_id TEXT    NOT NULL,
	reason  TEXT    NOT NULL,
	at      INTEGER,
	expires INTEGER
) STRICT;

CREATE INDEX revocations_expires ON revocations (expires);

CREATE TABLE signing_keys (
	id          TEXT    NOT NULL PRIMARY KEY,
	algorithm   TEXT    NOT NULL,
	sealed      BLOB    NOT NULL,
	public      BLOB    NOT NULL,
	created_at  INTEGER,
	activate_at INTEGER,
	retire_at   INTEGER,
	remove_at   INTEGER
) STRICT;

CREATE TABLE throttles (
	key          TEXT    NOT NULL PRIMARY KEY,
	failures     INTEGER NOT NULL,
	last_failure INTEGER,
	locked_until INTEGER
) STRICT;
