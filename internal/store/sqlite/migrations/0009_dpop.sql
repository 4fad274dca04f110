-- DPoP (RFC 9449): the thumbprint of the key a session's refresh tokens
-- are bound to (store.Session.DPoPJKT, '' for an unbound session), and
-- whether a client must use DPoP at the token endpoint
-- (store.Client.RequireDPoP).
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_dpop INTEGER NOT NULL DEFAULT 0;
