-- The Seq up to which an OAuth client has acknowledged every Security
-- Event Token of the revocation feed it polls for (RFC 8936): see
-- store.Client.SETCursor.
ALTER TABLE clients ADD COLUMN set_cursor INTEGER NOT NULL DEFAULT 0;
