-- The schema of latch's PostgreSQL backend, as of the SQLite backend's
-- migration 0007 (its 0008 is 0002 here). Times are timestamptz (kept to
-- the microsecond); NULL is the zero time.Time. Lists are text arrays, never
-- NULL. Identifiers that order listings use the "C" collation, so that ties
-- break bytewise as they do in SQLite and in Go.

CREATE TABLE users (
	id                text COLLATE "C" NOT NULL PRIMARY KEY,
	email             text    NOT NULL UNIQUE,
	password_hash     text    NOT NULL,
	roles             text[]  NOT NULL DEFAULT '{}',
	disabled          boolean NOT NULL DEFAULT false,
	tokens_revoked_at timestamptz,
	created_at        timestamptz,
	updated_at        timestamptz
);

CREATE INDEX users_created_at ON users (created_at NULLS FIRST, id);

-- parent_id is the browser session a client's session was started from
-- ('' for none).
CREATE TABLE sessions (
	id            text COLLATE "C" NOT NULL PRIMARY KEY,
	user_id       text COLLATE "C" NOT NULL REFERENCES users (id),
	token_hash    bytea   NOT NULL UNIQUE,
	prev_hash     bytea,
	generation    bigint  NOT NULL,
	rotated_at    timestamptz,
	reissues      integer NOT NULL DEFAULT 0,
	created_at    timestamptz,
	last_used_at  timestamptz,
	expires_at    timestamptz,
	user_agent    text    NOT NULL,
	ip            text    NOT NULL,
	parent_id     text    NOT NULL DEFAULT '',
	revoked_at    timestamptz,
	revoke_reason text    NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_id ON sessions (user_id, created_at);

-- The revocation feed. A seq is taken from revocation_feed.head, whose row
-- lock every transaction recording a revocation holds until it commits:
-- seq order is commit order, and a seq is never reused.
CREATE TABLE revocations (
	seq     bigint NOT NULL PRIMARY KEY,
	kind    text   NOT NULL,
	subject text   NOT NULL,
	user_id text   NOT NULL,
	reason  text   NOT NULL,
	at      timestamptz,
	expires timestamptz
);

CREATE INDEX revocations_expires ON revocations (expires);

-- One row: the highest seq ever assigned and the highest ever pruned.
CREATE TABLE revocation_feed (
	id     integer NOT NULL PRIMARY KEY CHECK (id = 1),
	head   bigint  NOT NULL,
	pruned bigint  NOT NULL
);

INSERT INTO revocation_feed (id, head, pruned) VALUES (1, 0, 0);

CREATE TABLE signing_keys (
	id          text COLLATE "C" NOT NULL PRIMARY KEY,
	algorithm   text  NOT NULL,
	sealed      bytea NOT NULL,
	public      bytea NOT NULL,
	created_at  timestamptz,
	activate_at timestamptz,
	retire_at   timestamptz,
	remove_at   timestamptz,
	revoked_at  timestamptz
);

CREATE TABLE throttles (
	key          text    NOT NULL PRIMARY KEY,
	failures     integer NOT NULL,
	last_failure timestamptz,
	locked_until timestamptz
);

-- OAuth clients; secret_hash is the SHA-256 of the client secret (empty for
-- a public client).
CREATE TABLE clients (
	id                        text COLLATE "C" NOT NULL PRIMARY KEY,
	name                      text    NOT NULL UNIQUE,
	secret_hash               bytea   NOT NULL,
	type                      text    NOT NULL,
	auth_method               text    NOT NULL,
	redirect_uris             text[]  NOT NULL DEFAULT '{}',
	post_logout_redirect_uris text[]  NOT NULL DEFAULT '{}',
	grant_types               text[]  NOT NULL DEFAULT '{}',
	scopes                    text[]  NOT NULL DEFAULT '{}',
	first_party               boolean NOT NULL DEFAULT false,
	set_cursor                bigint  NOT NULL DEFAULT 0,
	created_at                timestamptz,
	updated_at                timestamptz
);

CREATE INDEX clients_created_at ON clients (created_at NULLS FIRST, id);

-- Authorization codes, by the SHA-256 hash of the code. session_id is ''
-- until the session the redemption started is bound to the code.
CREATE TABLE auth_codes (
	hash               bytea  NOT NULL PRIMARY KEY,
	client_id          text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	user_id            text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	browser_session_id text   NOT NULL,
	redirect_uri       text   NOT NULL,
	scopes             text[] NOT NULL DEFAULT '{}',
	nonce              text   NOT NULL,
	code_challenge     text   NOT NULL,
	auth_time          timestamptz,
	created_at         timestamptz,
	expires_at         timestamptz,
	redeemed_at        timestamptz,
	session_id         text   NOT NULL DEFAULT '',
	replayed_at        timestamptz
);

CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);
CREATE INDEX auth_codes_client_id ON auth_codes (client_id);
CREATE INDEX auth_codes_user_id ON auth_codes (user_id);

-- A user's consent to a third-party client; scopes sorted bytewise without
-- duplicates.
CREATE TABLE consents (
	user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id  text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	scopes     text[] NOT NULL DEFAULT '{}',
	granted_at timestamptz,
	PRIMARY KEY (user_id, client_id)
);

CREATE INDEX consents_client_id ON consents (client_id);

-- One row that Ping rewrites to check that the database still commits
-- writes; beats counts the checks of every node.
CREATE TABLE heartbeat (
	id    integer NOT NULL PRIMARY KEY CHECK (id = 1),
	beats bigint  NOT NULL,
	at    timestamptz
);

INSERT INTO heartbeat (id, beats, at) VALUES (1, 0, NULL);
