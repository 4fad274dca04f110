-- store.Session.Reissues: how many current tokens were issued for the
-- predecessor of a session's refresh token after the first one, when a
-- client presented it again after the grace window, its successor still
-- unused (internal/session's loss-free rotation). A rotation resets it.
ALTER TABLE sessions ADD COLUMN reissues INTEGER NOT NULL DEFAULT 0;
