-- Custom claims of a user (store.User.Claims): one JSON object of the
-- operator's claims, copied into the user's tokens; '{}' for none.
ALTER TABLE users ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
