package issuer

// Encrypted access tokens: a client of the registry that registered an
// encryption key gets the access tokens meant for it (those whose audience
// names it) as nested JWTs (RFC 7519 §5.2), so that the browser or app
// carrying them cannot read their claims.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// ErrEncryption reports an access token that could not be encrypted to
// the client its audience names: the registry could not be read, the
// client's key is unusable, or the audience names two clients with keys
// (a compact JWE has one recipient). Nothing is issued then: a token meant
// to be confidential is never handed out readable.
var ErrEncryption = errors.New("issuer: cannot encrypt access token")

// RecipientTTL is how long the issuer uses what it read from the client
// registry: a client's new, changed or removed encryption key applies to
// the tokens issued from at most this long after the change.
const RecipientTTL = time.Second

// recipientTimeout bounds one read of the client registry.
const recipientTimeout = 5 * time.Second

// recipients finds, and keeps for RecipientTTL, the encryption key of the
// client the access tokens' audience names.
type recipients struct {
	clients  store.Clients
	audience []string

	mu  sync.Mutex
	at  time.Time // of the last lookup; zero before the first
	key *jose.EncryptionKey
	err error
}

// lookup returns the key access tokens are encrypted to, nil for none.
func (r *recipients) lookup(now time.Time) (*jose.EncryptionKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at.IsZero() || now.Sub(r.at) >= RecipientTTL || now.Before(r.at) {
		ctx, cancel := context.WithTimeout(context.Background(), recipientTimeout)
		r.key, r.err = recipientOf(ctx, r.clients, r.audience)
		cancel()
		r.at = now
	}
	return r.key, r.err
}

// recipientOf returns the encryption key of the one client with a key
// whose ID or name is among audience; nil when there is none.
func recipientOf(ctx context.Context, clients store.Clients, audience []string) (*jose.EncryptionKey, error) {
	list, err := clients.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the client registry: %w", ErrEncryption, err)
	}
	var found []store.Client
	for _, c := range list {
		if c.EncryptionKey != "" && (slices.Contains(audience, c.ID) || slices.Contains(audience, c.Name)) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
	default:
		names := make([]string, len(found))
		for i, c := range found {
			names[i] = fmt.Sprintf("%s (%s)", c.ID, c.Name)
		}
		return nil, fmt.Errorf("%w: the access-token audience names %d clients with encryption keys, %s, and a compact JWE has one recipient: remove all keys but one (latch client update --id ID --encryption-key '') or the other clients from --audience",
			ErrEncryption, len(found), strings.Join(names, ", "))
	}
	key, err := ParseClientKey(found[0].EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("%w: client %s: %w", ErrEncryption, found[0].ID, err)
	}
	return key, nil
}

// ParseClientKey parses a client's registered encryption key
// (store.Client.EncryptionKey): a public JWK with its "alg", for RSA-OAEP-256
// or ECDH-ES(+A128KW/+A256KW). A private key (the server must not hold
// it) and a shared secret ("dir", AES key wrap: the issuer would hold the
// client's decryption key) are refused.
func ParseClientKey(jwk string) (*jose.EncryptionKey, error) {
	key, err := jose.ParseEncryptionJWK([]byte(jwk), "", "")
	if err != nil {
		return nil, err
	}
	switch {
	case key.IsSymmetric():
		return nil, fmt.Errorf("%w: a client's encryption key must be a public key, not a shared secret (%s)", jose.ErrInvalidKey, key.Algorithm())
	case key.CanDecrypt():
		return nil, fmt.Errorf("%w: a client registers the public half of its encryption key, never the private key", jose.ErrInvalidKey)
	}
	return key, nil
}

// finish returns the access token to hand out: signed, and encrypted to
// the client the audience names if it has an encryption key.
func (i *Issuer) finish(signed string) (string, error) {
	if i.recipients == nil {
		return signed, nil
	}
	to, err := i.recipients.lookup(i.cfg.Now())
	switch {
	case err != nil:
		return "", err
	case to == nil:
		return signed, nil
	}
	tok, err := jose.Encrypt([]byte(signed), to, jose.EncryptOptions{ContentType: jwt.ContentTypeJWT})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrEncryption, err)
	}
	return tok, nil
}
