// Package issuer turns an authenticated user and their session into an
// access token (RFC 9068 profile) signed with the keyring's current key.
//
// Access tokens carry what a resource service needs to authorize without a
// database: iss, sub, aud, exp, nbf, iat, a 128-bit random jti, client_id,
// sid (so a session's revocation covers its tokens) and the user's roles
// and scope as they are at issue time. Tokens are short-lived (10 minutes by
// default) so that stale permissions and revocations converge quickly;
// refresh re-reads the user.
package issuer

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// Defaults for Config's zero fields.
const (
	DefaultAccessTTL    = 10 * time.Minute
	DefaultMaxTokenSize = 8 << 10
	// WarnTokenSize is the size above which an issued token is logged:
	// tokens travel on every request, in headers that proxies limit.
	WarnTokenSize = 1 << 10
	// DefaultScope is the scope of a first-party password login.
	DefaultScope = "openid profile email"
	// ClientID is the client_id of tokens issued by latch's own login API.
	ClientID = "latch"
)

// ErrTokenTooLarge reports a token over Config.MaxTokenSize, usually from
// a user with very many roles.
var ErrTokenTooLarge = errors.New("issuer: access token too large")

// Config tunes an Issuer.
type Config struct {
	// Issuer is the "iss" of every token; required.
	Issuer string
	// Audience is the "aud" of every token; required.
	Audience []string
	// AccessTTL is the lifetime of access tokens. Default 10 minutes; at
	// most the keyring's TokenTTL.
	AccessTTL time.Duration
	// Scope is the "scope" of tokens from a password login. Default
	// DefaultScope.
	Scope string
	// MaxTokenSize refuses larger tokens. Default 8 KiB.
	MaxTokenSize int
	// Logger receives warnings about large tokens; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Issuer signs access tokens. It is safe for concurrent use.
type Issuer struct {
	ring *keyring.Ring
	cfg  Config
}

// New returns an Issuer signing with ring's current key. It refuses a
// missing issuer or audience and an AccessTTL over the ring's TokenTTL.
func New(ring *keyring.Ring, cfg Config) (*Issuer, error) {
	if cfg.Issuer == "" || len(cfg.Audience) == 0 || slices.Contains(cfg.Audience, "") {
		return nil, errors.New("issuer: issuer and audience are required")
	}
	if ring == nil {
		return nil, errors.New("issuer: keyring is required")
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	// The ring keeps a retired key published for its TokenTTL: a token
	// living longer would fail to verify once its key is removed.
	if limit := ring.Config().TokenTTL; cfg.AccessTTL > limit {
		return nil, fmt.Errorf("issuer: access token lifetime %v exceeds the keyring's token TTL %v", cfg.AccessTTL, limit)
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if cfg.MaxTokenSize <= 0 {
		cfg.MaxTokenSize = DefaultMaxTokenSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Issuer{ring: ring, cfg: cfg}, nil
}

// AccessTTL returns the lifetime of issued access tokens.
func (i *Issuer) AccessTTL() time.Duration { return i.cfg.AccessTTL }

// Issue returns a signed access token for user in session, and its claims.
func (i *Issuer) Issue(user store.User, s store.Session) (string, jwt.Claims, error) {
	key, err := i.ring.Signer()
	if err != nil {
		return "", jwt.Claims{}, fmt.Errorf("issuer: %w", err)
	}
	now := i.cfg.Now().Truncate(time.Second)
	var jti [16]byte
	rand.Read(jti[:])
	c := jwt.Claims{
		Issuer:    i.cfg.Issuer,
		Subject:   user.ID,
		Audience:  i.cfg.Audience,
		ExpiresAt: now.Add(i.cfg.AccessTTL),
		NotBefore: now,
		IssuedAt:  issuedAt(now, user.TokensRevokedAt),
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		ClientID:  ClientID,
		SessionID: s.ID,
		Scope:     i.cfg.Scope,
		Roles:     user.Roles,
	}
	tok, err := jwt.Sign(key, &c, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		return "", jwt.Claims{}, fmt.Errorf("issuer: signing: %w", err)
	}
	if len(tok) > i.cfg.MaxTokenSize {
		return "", jwt.Claims{}, fmt.Errorf("%w: %d bytes for user %s, limit %d", ErrTokenTooLarge, len(tok), user.ID, i.cfg.MaxTokenSize)
	}
	if len(tok) > WarnTokenSize {
		i.cfg.Logger.Warn("large access token", "bytes", len(tok), "user", user.ID, "roles", len(user.Roles))
	}
	return tok, c, nil
}

// issuedAt is the "iat" of a token issued at now (whole seconds) to a user
// whose tokens issued at or before revoked are revoked (a subject
// revocation; zero: none).
//
// Verifiers compare "iat", a NumericDate of whole seconds, with the
// revocation time truncated to the second, and refuse a token whose iat is
// not after it. A token issued in the same second as the revocation (a
// login right after a password change, or a refresh right after a role
// change) would then be refused although it was issued after the
// revocation. Its iat is therefore the first second after the revocation:
// at most a second ahead of now, well within the clock skew verifiers
// allow, while nbf stays now and exp now plus the lifetime. A revocation
// time ahead of this server's clock (recorded by a node whose clock runs
// ahead) gives an iat further ahead, which verifiers refuse until their
// clock, plus their leeway, reaches it.
func issuedAt(now, revoked time.Time) time.Time {
	if revoked.IsZero() {
		return now
	}
	if floor := revoked.Truncate(time.Second); !now.After(floor) {
		return floor.Add(time.Second)
	}
	return now
}
