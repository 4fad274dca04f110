// Package issuer signs the tokens latch hands out: access tokens (RFC 9068
// profile) with the keyring's current access-token key, and OpenID Connect
// ID tokens (OIDC Core §2) with its ID-token key.
//
// Access tokens carry what a resource service needs to authorize without a
// database: iss, sub, aud, exp, nbf, iat, a 128-bit random jti, client_id,
// sid (so a session's revocation covers its tokens) and the user's roles,
// custom claims (see CheckClaims) and scope as they are at issue time.
// Tokens are short-lived (10 minutes by
// default) so that stale permissions and revocations converge quickly;
// refresh re-reads the user. Issue makes the tokens of latch's own login
// API; IssueAccess makes any access token, for a user of an OAuth client
// or for a client itself (client credentials).
//
// ID tokens tell an OAuth client who the user is and when and how they
// authenticated. Their header "typ" is "JWT" and their key is not among
// the keys the server verifies access tokens with, so an ID token is never
// taken for an access token.
package issuer

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"strings"
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
	// WarnTokenPercent is the share of Config.MaxTokenSize from which an
	// issued token is logged, with the claims that take the most room
	// (names and sizes only): tokens travel on every request, in headers
	// and cookies that proxies and browsers limit, and a user's tokens
	// grow with their roles and claims until issuing fails.
	WarnTokenPercent = 75
	// DefaultScope is the scope of a first-party password login.
	DefaultScope = "openid profile email"
	// ClientID is the client_id of tokens issued by latch's own login API.
	ClientID = "latch"
	// TypeIDToken is the header "typ" of ID tokens.
	TypeIDToken = "JWT"
)

// AuthMethodPassword is the "amr" value of a password login (RFC 8176
// §2), the way latch authenticates users.
const AuthMethodPassword = "pwd"

// Errors.
var (
	// ErrTokenTooLarge reports a token over Config.MaxTokenSize, usually
	// from a user with very many roles or large custom claims. Its text
	// names the largest claims (names and sizes, never values).
	ErrTokenTooLarge = errors.New("issuer: token too large")
	// ErrInvalidParams reports token parameters without a required value.
	ErrInvalidParams = errors.New("issuer: invalid token parameters")
)

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
	// MaxTokenSize refuses larger access and ID tokens. Default 8 KiB.
	MaxTokenSize int
	// Logger receives warnings about tokens near MaxTokenSize (see
	// WarnTokenPercent); nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Clients is the client registry. With it, an access token whose
	// audience names a client (by ID or by name) that registered an
	// encryption key (store.Client.EncryptionKey) is issued as a nested
	// JWT: signed, then encrypted to that key (RFC 7519 §5.2), so that
	// only that client can read its claims; MaxTokenSize applies to the
	// encrypted token. The registry is read at most once per RecipientTTL.
	// An audience naming two clients with keys makes IssueAccess fail
	// (ErrEncryption): a compact JWE has one recipient. Refresh and ID
	// tokens are never encrypted. Nil: access tokens are only signed.
	Clients store.Clients
}

// Issuer signs access and ID tokens. It is safe for concurrent use.
type Issuer struct {
	ring       *keyring.Ring
	cfg        Config
	recipients *recipients // nil without Config.Clients
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
	i := &Issuer{ring: ring, cfg: cfg}
	if cfg.Clients != nil {
		i.recipients = &recipients{clients: cfg.Clients, audience: cfg.Audience}
	}
	return i, nil
}

// AccessTTL returns the lifetime of issued access tokens.
func (i *Issuer) AccessTTL() time.Duration { return i.cfg.AccessTTL }

// Issue returns a signed access token of latch's own login API for user
// in session (client_id ClientID, scope Config.Scope), and its claims.
func (i *Issuer) Issue(user store.User, s store.Session) (string, jwt.Claims, error) {
	return i.IssueAccess(AccessParams{
		Subject:         user.ID,
		ClientID:        ClientID,
		SessionID:       s.ID,
		Scope:           i.cfg.Scope,
		Roles:           user.Roles,
		Claims:          user.Claims,
		TokensRevokedAt: user.TokensRevokedAt,
		DPoPJKT:         s.DPoPJKT,
	})
}

// AccessParams describe an access token. A user's token has the user as
// Subject, a SessionID and the user's Roles; a client's own token
// (client credentials grant, RFC 6749 §4.4) has the client ID as Subject
// and as ClientID, and no session or roles.
type AccessParams struct {
	// Subject is "sub": the user ID, or the client ID. Required.
	Subject string
	// ClientID is "client_id": the OAuth client the token was issued to
	// (RFC 9068 §2.2). Required.
	ClientID string
	// SessionID is "sid": the session the token belongs to, so that the
	// session's revocation covers it. Empty for a client's token.
	SessionID string
	// Scope is "scope": the granted scopes, space-separated. Empty means
	// no scope claim.
	Scope string
	// Roles is "roles", the user's roles at issue time; nil for none.
	Roles []string
	// Claims are the user's custom claims (store.User.Claims), written
	// as they are; nil for none (a client's token has none). They must
	// pass CheckClaims, or IssueAccess fails with its error.
	Claims map[string]json.RawMessage
	// TokensRevokedAt is the user's subject revocation time
	// (store.User.TokensRevokedAt); zero for none. A token's "iat" is
	// after it (see Issue).
	TokensRevokedAt time.Time
	// DPoPJKT is "cnf.jkt": the thumbprint of the DPoP key the token is
	// bound to (RFC 9449 §6.1); empty for a Bearer token.
	DPoPJKT string
}

// IssueAccess returns a signed access token (typ "at+jwt") with the
// configured issuer, audience and lifetime, and its claims. The token is
// encrypted to a client the audience names if it has an encryption key
// (see Config.Clients).
func (i *Issuer) IssueAccess(p AccessParams) (string, jwt.Claims, error) {
	if p.Subject == "" || p.ClientID == "" {
		return "", jwt.Claims{}, fmt.Errorf("%w: an access token needs a subject and a client ID", ErrInvalidParams)
	}
	if err := CheckClaims(p.Claims); err != nil {
		return "", jwt.Claims{}, err
	}
	key, err := i.ring.Signer()
	if err != nil {
		return "", jwt.Claims{}, fmt.Errorf("issuer: %w", err)
	}
	now := i.cfg.Now().Truncate(time.Second)
	var jti [16]byte
	rand.Read(jti[:])
	c := jwt.Claims{
		Issuer:    i.cfg.Issuer,
		Subject:   p.Subject,
		Audience:  i.cfg.Audience,
		ExpiresAt: now.Add(i.cfg.AccessTTL),
		NotBefore: now,
		IssuedAt:  issuedAt(now, p.TokensRevokedAt),
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		ClientID:  p.ClientID,
		SessionID: p.SessionID,
		Scope:     p.Scope,
		Roles:     p.Roles,

		Confirmation: jwt.Confirmation{JKT: p.DPoPJKT},
	}
	if len(p.Claims) > 0 {
		c.Extra = p.Claims
	}
	tok, err := jwt.Sign(key, &c, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		return "", jwt.Claims{}, fmt.Errorf("issuer: signing: %w", err)
	}
	signed := tok
	if tok, err = i.finish(tok); err != nil {
		return "", jwt.Claims{}, err
	}
	// A user's token is logged under "user", a client's under "client".
	who := "user"
	if p.SessionID == "" {
		who = "client"
	}
	if err := i.checkSize(KindAccess, tok, signed, who, p.Subject, len(p.Roles)); err != nil {
		return "", jwt.Claims{}, err
	}
	return tok, c, nil
}

// IDParams describe an OpenID Connect ID token (OIDC Core §2).
type IDParams struct {
	// Subject is "sub": the user ID. Required.
	Subject string
	// ClientID is the client the token is for: its "aud" and "azp".
	// Required.
	ClientID string
	// SessionID is "sid": the browser session the user authorized in
	// (OIDC Front-Channel and Back-Channel Logout); empty for none.
	SessionID string
	// AuthTime is "auth_time": when the user last authenticated with a
	// password. Required.
	AuthTime time.Time
	// Nonce is "nonce", the authorization request's; empty for none.
	Nonce string
	// AccessToken is the access token issued with the ID token, whose
	// hash the ID token carries as "at_hash" (OIDC Core §3.1.3.6); empty
	// for none.
	AccessToken string
	// Scope is the granted scopes, space-separated: with "email", the
	// token carries Email and EmailVerified (OIDC Core §5.4).
	Scope string
	// Email and EmailVerified are "email" and "email_verified".
	Email         string
	EmailVerified bool
	// Claims are the user's custom claims (store.User.Claims): with the
	// scope "profile" the token carries them, as UserInfo does (OIDC
	// Core §5.4: profile asks for the user's profile claims). They must
	// pass CheckClaims.
	Claims map[string]json.RawMessage
}

// IssueID returns a signed ID token (typ "JWT", by the keyring's ID-token
// key): the configured issuer, the client as audience and authorized
// party, the access-token lifetime, "amr" ["pwd"], and the values of p.
func (i *Issuer) IssueID(p IDParams) (string, error) {
	if p.Subject == "" || p.ClientID == "" || p.AuthTime.IsZero() {
		return "", fmt.Errorf("%w: an ID token needs a subject, a client ID and an authentication time", ErrInvalidParams)
	}
	key, err := i.ring.IDTokenSigner()
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	now := i.cfg.Now().Truncate(time.Second)
	c := jwt.Claims{
		Issuer:          i.cfg.Issuer,
		Subject:         p.Subject,
		Audience:        jwt.Audience{p.ClientID},
		ExpiresAt:       now.Add(i.cfg.AccessTTL),
		IssuedAt:        now,
		SessionID:       p.SessionID,
		Nonce:           p.Nonce,
		AuthTime:        p.AuthTime.Truncate(time.Second),
		AMR:             []string{AuthMethodPassword},
		AuthorizedParty: p.ClientID,
	}
	if p.AccessToken != "" {
		if c.AccessTokenHash, err = AccessTokenHash(key.Algorithm(), p.AccessToken); err != nil {
			return "", err
		}
	}
	scope := &jwt.Claims{Scope: p.Scope}
	if scope.HasScope("email") {
		c.Email, c.EmailVerified = p.Email, p.EmailVerified
	}
	if scope.HasScope(ProfileScope) && len(p.Claims) > 0 {
		if err := CheckClaims(p.Claims); err != nil {
			return "", err
		}
		c.Extra = p.Claims
	}
	tok, err := jwt.Sign(key, &c, jose.SignOptions{Type: TypeIDToken})
	if err != nil {
		return "", fmt.Errorf("issuer: signing: %w", err)
	}
	if err := i.checkSize(KindID, tok, tok, "user", p.Subject, 0); err != nil {
		return "", err
	}
	return tok, nil
}

// The kinds of token, as the size warning and the error name them.
const (
	KindAccess = "access"
	KindID     = "id"
)

// ProfileScope is the OpenID Connect scope (OIDC Core §5.4) with which ID
// tokens and UserInfo carry the user's custom claims.
const ProfileScope = "profile"

// checkSize refuses tok, a token of kind, over Config.MaxTokenSize and
// logs a warning from WarnTokenPercent of it, naming the claims that take
// the most room in signed, the signed JWT (tok itself, or what tok
// encrypts): never a value, which may be a secret or personal data, nor
// the token. who ("user" or "client") and sub name the subject.
func (i *Issuer) checkSize(kind, tok, signed, who, sub string, roles int) error {
	n, limit := len(tok), i.cfg.MaxTokenSize
	if n > limit {
		return fmt.Errorf("%w: %s token of %d bytes for %s %s, limit %d; largest claims (bytes of JSON): %s",
			ErrTokenTooLarge, kind, n, who, sub, limit, largestClaims(signed, 5))
	}
	if n*100 >= limit*WarnTokenPercent {
		i.cfg.Logger.Warn("token near the size limit", "kind", kind, "bytes", n, "limit", limit, who, sub,
			"roles", roles, "largest_claims", largestClaims(signed, 5))
	}
	return nil
}

// AccessTokenHash returns the "at_hash" of an access token for an ID
// token signed with alg (OIDC Core §3.1.3.6): the left half of the hash
// of its ASCII bytes, base64url-encoded, with the hash of alg's size
// (SHA-256 for RS256). EdDSA, with no hash in its name, is refused.
func AccessTokenHash(alg jose.Algorithm, accessToken string) (string, error) {
	var h hash.Hash
	switch {
	case strings.HasSuffix(string(alg), "256"):
		h = sha256.New()
	case strings.HasSuffix(string(alg), "384"):
		h = sha512.New384()
	case strings.HasSuffix(string(alg), "512"):
		h = sha512.New()
	default:
		return "", fmt.Errorf("%w: no at_hash for algorithm %s", ErrInvalidParams, alg)
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
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
