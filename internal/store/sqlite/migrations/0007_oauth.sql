-- OAuth 2.0 and OpenID Connect: client registrations, browser (single
-- sign-on) sessions, authorization codes and consents. Times are INTEGER
-- unix milliseconds (UTC); NULL is the zero time.Time. Lists are JSON arrays
-- of strings.

-- The clients registered before this migration are what they were: feed
-- and introspection clients, confidential, authenticating with HTTP Basic
-- (client_secret_basic), with no grant type and no redirect URI.
ALTER TABLE clients ADD COLUMN type TEXT NOT NULL DEFAULT 'confidential';
ALTER TABLE clients ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0;

-- The browser session a client's session was started from ('' for none);
-- ending a browser session finds its children by it.
ALTER TABLE sessions ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';

CREATE INDEX sessions_parent_id ON sessions (parent_id);

-- Authorization codes, by the SHA-256 hash of the code. session_id is ''
-- until the session the redemption started is bound to the code.
CREATE TABLE auth_codes (
	hash               BLOB    NOT NULL PRIMARY KEY,
	client_id          TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	browser_session_id TEXT    NOT NULL,
	redirect_uri       TEXT    NOT NULL,
	scopes             TEXT    NOT NULL DEFAULT '[]',
	nonce              TEXT    NOT NULL,
	code_challenge     TEXT    NOT NULL,
	auth_time          INTEGER,
	created_at         INTEGER,
	expires_at         INTEGER,
	redeemed_at        INTEGER,
	session_id         TEXT    NOT NULL DEFAULT '',
	replayed_at        INTEGER
) STRICT;

CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);
CREATE INDEX auth_codes_client_id ON auth_codes (client_id);
CREATE INDEX auth_codes_user_id ON auth_codes (user_id);

-- A user's consent to a third-party client.
CREATE TABLE consents (
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	scopes     TEXT    NOT NULL DEFAULT '[]',
	granted_at INTEGER,
	PRIMARY KEY (user_id, client_id)
) STRICT;

CREATE INDEX consents_client_id ON consents (client_id);
