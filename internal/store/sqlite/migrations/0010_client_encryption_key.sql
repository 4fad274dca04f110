-- JWE (RFC 7516): a client's public encryption key, a JWK with its "alg"
-- (store.Client.EncryptionKey, '' for none). Access tokens whose audience
-- names the client are encrypted to it (nested JWTs, RFC 7519 §5.2).
ALTER TABLE clients ADD COLUMN encryption_key TEXT NOT NULL DEFAULT '';
