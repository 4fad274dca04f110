-- OAuth sessions: the client a session was issued to ('' for a session of
-- latch's own login API), the scopes granted to it (a JSON array of
-- strings) and when the user last entered their password for it (unix
-- milliseconds; NULL for sessions created before this migration).
ALTER TABLE sessions ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sessions ADD COLUMN auth_time INTEGER;
