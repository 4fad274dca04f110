-- Custom claims of a user (store.User.Claims): one JSON object of the
-- operator's claims, copied into the user's tokens; '{}' for none. json,
-- not jsonb: the text is kept as written.
ALTER TABLE users ADD COLUMN claims json NOT NULL DEFAULT '{}';
