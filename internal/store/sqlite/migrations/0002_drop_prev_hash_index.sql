-- Sessions are found by the ID their refresh token carries, never by the
-- hash of the previous token, so this index only cost a write on every
-- rotation.
DROP INDEX IF EXISTS sessions_prev_hash;
