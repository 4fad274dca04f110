-- OAuth sessions (store.Session.ClientID, Scopes, AuthTime): the client a
-- session was issued to ('' for a session of latch's own login API), the
-- scopes granted to it, and when the user last entered their password for
-- it (NULL for sessions created before this migration).
ALTER TABLE sessions ADD COLUMN client_id text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN scopes text[] NOT NULL DEFAULT '{}';
ALTER TABLE sessions ADD COLUMN auth_time timestamptz;
