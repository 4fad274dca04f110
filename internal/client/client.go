// Package client is latch's registry of OAuth 2.0 clients (RFC 6749 §2):
// the services that authenticate to the server, for now to read the
// revocation feed and to introspect tokens.
//
// New registers a client: it draws a random client ID and a 256-bit
// random secret, returns the secret once and keeps only its SHA-256 hash
// (a secret of that strength needs no password hashing). Authenticator
// checks the credentials of a request, sent with HTTP Basic as
// client_secret_basic (RFC 6749 §2.3.1).
//
// Security contract: a wrong secret, an unknown client ID and a malformed
// header all yield ErrInvalidClient, and an unknown ID costs the same hash
// and constant-time comparison as a known one, so neither the error nor
// the work done tells whether a client exists. Secrets never appear in
// errors.
package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latch-auth/latch/internal/store"
)

// The scopes a client may hold.
const (
	// ScopeRevocationsRead lets a client read the revocation feed.
	ScopeRevocationsRead = "revocations:read"
	// ScopeIntrospect lets a client introspect tokens (RFC 7662).
	ScopeIntrospect = "introspect"
)

// knownScopes are the scopes New and CheckScopes accept.
var knownScopes = []string{ScopeIntrospect, ScopeRevocationsRead}

// Limits on what a client is registered with and what a request may carry.
const (
	// MaxNameLength bounds a client's name in bytes.
	MaxNameLength = 64
	// MaxIDLength bounds a client ID in bytes; a longer one in a request
	// is ErrInvalidClient without a lookup.
	MaxIDLength = 128
	// MaxAuthorizationSize bounds the Authorization header Authenticate
	// reads; a larger one is ErrInvalidClient.
	MaxAuthorizationSize = 1024
	// SecretSize is the number of random bytes in a client secret.
	SecretSize = 32
)

// Errors. Test with errors.Is.
var (
	// ErrNoCredentials reports a request with no client credentials: no
	// Authorization header, or one with a scheme other than Basic.
	ErrNoCredentials = errors.New("client: no client credentials")
	// ErrInvalidClient reports client credentials that are malformed,
	// name an unknown client or carry a wrong secret, deliberately
	// without saying which.
	ErrInvalidClient = errors.New("client: invalid client credentials")
	// ErrInsufficientScope reports an authenticated client that lacks a
	// scope the request needs.
	ErrInsufficientScope = errors.New("client: insufficient scope")
	// ErrInvalidName reports a client name New refuses.
	ErrInvalidName = errors.New("client: invalid name")
	// ErrInvalidScope reports a scope New refuses: malformed or unknown.
	ErrInvalidScope = errors.New("client: invalid scope")
)

// New returns a new client named name with scopes, created at now, for
// the caller to store with store.Clients.CreateClient, and its secret,
// which is to be shown once and kept nowhere else. The scopes are checked as CheckScopes does and stored
// sorted, without duplicates.
func New(name string, scopes []string, now time.Time) (store.Client, string, error) {
	if err := CheckName(name); err != nil {
		return store.Client{}, "", err
	}
	scopes, err := CheckScopes(scopes)
	if err != nil {
		return store.Client{}, "", err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return store.Client{}, "", fmt.Errorf("client: generating id: %w", err)
	}
	secret, hash, err := NewSecret()
	if err != nil {
		return store.Client{}, "", err
	}
	c := store.Client{
		ID:         "c_" + hex.EncodeToString(id[:]),
		Name:       name,
		SecretHash: hash,
		Scopes:     scopes,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	return c, secret, nil
}

// NewSecret returns a new client secret, SecretSize random bytes in
// unpadded base64url, and the hash to store (store.Client.SecretHash),
// for New and for replacing a client's secret.
func NewSecret() (secret string, hash []byte, err error) {
	var b [SecretSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("client: generating secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, hashSecret(secret), nil
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// CheckName reports whether name is acceptable for a client: 1 to
// MaxNameLength bytes of printable UTF-8 (spaces allowed, but not at
// either end).
func CheckName(name string) error {
	switch {
	case name == "" || len(name) > MaxNameLength:
		return fmt.Errorf("%w: must be 1 to %d bytes", ErrInvalidName, MaxNameLength)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: leading or trailing space", ErrInvalidName)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: contains a control or non-printing character", ErrInvalidName)
		}
	}
	return nil
}

// CheckScopes checks scopes and returns them sorted without duplicates.
// Each must be a scope-token of RFC 6749 §3.3 (printable ASCII, no space,
// quote or backslash) and one latch knows (ScopeRevocationsRead,
// ScopeIntrospect). No scope at all is allowed.
func CheckScopes(scopes []string) ([]string, error) {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !isScopeToken(s) {
			return nil, fmt.Errorf("%w: %.64q is not a scope token", ErrInvalidScope, s)
		}
		if !slices.Contains(knownScopes, s) {
			return nil, fmt.Errorf("%w: unknown scope %q (known: %s)", ErrInvalidScope, s, strings.Join(knownScopes, ", "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// isScopeToken reports whether s is a scope-token: 1*NQCHAR, where NQCHAR
// is %x21 / %x23-5B / %x5D-7E (RFC 6749 §3.3).
func isScopeToken(s string) bool {
	if s == "" || len(s) > MaxNameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// HasScope reports whether c holds scope s.
func HasScope(c store.Client, s string) bool {
	return s != "" && slices.Contains(c.Scopes, s)
}

// Authenticator checks the client credentials of requests against the
// registered clients. It is safe for concurrent use.
type Authenticator struct {
	clients store.Clients
}

// NewAuthenticator returns an Authenticator over the stored clients.
func NewAuthenticator(clients store.Clients) *Authenticator {
	return &Authenticator{clients: clients}
}

// dummyHash is compared against when the client ID is unknown, so that
// an unknown client costs what a known one does.
var dummyHash = make([]byte, sha256.Size)

// Authenticate returns the client whose credentials r carries with
// client_secret_basic (RFC 6749 §2.3.1): an Authorization header
// "Basic base64(id:secret)", where id and secret are each encoded with
// application/x-www-form-urlencoded before base64.
//
// It returns ErrNoCredentials if r has no Authorization header or one
// with another scheme, ErrInvalidClient for malformed credentials, an
// unknown client or a wrong secret, and a store failure wrapped.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (store.Client, error) {
	id, secret, err := basicCredentials(r.Header)
	if err != nil {
		return store.Client{}, err
	}
	c, err := a.clients.ClientByID(ctx, id)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Client{}, fmt.Errorf("client: looking up client: %w", err)
	}
	want := dummyHash
	if known {
		want = c.SecretHash
	}
	// The same hash and comparison whether or not the client exists.
	match := subtle.ConstantTimeCompare(hashSecret(secret), want) == 1
	if !known || !match {
		return store.Client{}, ErrInvalidClient
	}
	return c, nil
}

// basicCredentials extracts the client ID and secret of an HTTP Basic
// Authorization header (RFC 7617), form-urlencoded per RFC 6749 §2.3.1.
func basicCredentials(h http.Header) (id, secret string, err error) {
	vs := h.Values("Authorization")
	if len(vs) == 0 {
		return "", "", ErrNoCredentials
	}
	v := vs[0]
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", ErrNoCredentials
	}
	if len(vs) > 1 || len(v) > MaxAuthorizationSize {
		return "", "", ErrInvalidClient
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimLeft(rest, " "))
	if err != nil {
		return "", "", ErrInvalidClient
	}
	encID, encSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", ErrInvalidClient
	}
	if id, err = url.QueryUnescape(encID); err != nil {
		return "", "", ErrInvalidClient
	}
	if secret, err = url.QueryUnescape(encSecret); err != nil {
		return "", "", ErrInvalidClient
	}
	if id == "" || secret == "" || len(id) > MaxIDLength {
		return "", "", ErrInvalidClient
	}
	return id, secret, nil
}
