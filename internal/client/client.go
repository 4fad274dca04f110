// Package client is latch's registry of OAuth 2.0 clients (RFC 6749 §2):
// the services that authenticate to the server to read the revocation
// feed and to introspect tokens, and the applications that sign users in
// with the authorization code flow or obtain tokens of their own with
// client credentials.
//
// New registers a service client; NewClient registers any client from a
// Registration, which it checks: client type and token endpoint
// authentication method (RFC 7591 §2), grant types, scopes (RFC 6749
// §3.3) and redirect URIs (CheckRedirectURI: exact, https or loopback
// http or a native app's private-use scheme, RFC 8252). A confidential
// client gets a random client ID and a 256-bit random secret, returned
// once; only its SHA-256 hash is kept (a secret of that strength needs no
// password hashing). A public client has no secret and must use PKCE.
//
// Authenticator checks the client credentials of requests: Authenticate
// those of the service endpoints, sent with HTTP Basic as
// client_secret_basic (RFC 6749 §2.3.1); AuthenticateRequest those of the
// token endpoint, sent with the method the client registered
// (client_secret_basic, client_secret_post, or none for a public client
// that only names itself).
//
// Security contract: a wrong secret, an unknown client ID, a method other
// than the registered one and malformed credentials all yield
// ErrInvalidClient, and an unknown ID costs the same hash and
// constant-time comparison as a known one, so neither the error nor the
// work done tells whether a client exists. Secrets never appear in
// errors. At the token endpoint (AuthenticateRequest) a change to a
// client, its removal included, takes effect within CacheTTL (1 s): what
// was read of a client, or that there is none, is kept that long, though
// the secret is checked against it on every request; the service
// endpoints (Authenticate) read the store every time.
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
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latch-auth/latch/internal/store"
)

// The scopes latch gives a meaning. A client may hold other scopes too
// (any RFC 6749 scope-token), for the resource servers it calls.
const (
	// ScopeRevocationsRead lets a client read the revocation feed.
	ScopeRevocationsRead = "revocations:read"
	// ScopeIntrospect lets a client introspect tokens (RFC 7662).
	ScopeIntrospect = "introspect"
	// ScopeOpenID asks for an ID token (OpenID Connect Core 1.0 §3.1.2.1).
	ScopeOpenID = "openid"
	// ScopeProfile asks for the user's default profile claims (OpenID
	// Connect Core 1.0 §5.4).
	ScopeProfile = "profile"
	// ScopeEmail asks for the email and email_verified claims (OpenID
	// Connect Core 1.0 §5.4).
	ScopeEmail = "email"
	// ScopeOfflineAccess asks for a refresh token (OpenID Connect Core 1.0
	// §11).
	ScopeOfflineAccess = "offline_access"
)

// serviceScopes are the only scopes of a client without grant types: a
// service that reads the revocation feed or introspects tokens.
var serviceScopes = []string{ScopeIntrospect, ScopeRevocationsRead}

// Token endpoint authentication methods (RFC 7591 §2,
// token_endpoint_auth_method): store.Client.AuthMethod.
const (
	// AuthClientSecretBasic is the client ID and secret in an HTTP Basic
	// Authorization header (RFC 6749 §2.3.1), the method of every client
	// registered before there was a choice.
	AuthClientSecretBasic = "client_secret_basic"
	// AuthClientSecretPost is the client ID and secret as the client_id
	// and client_secret parameters of the request body (RFC 6749 §2.3.1).
	AuthClientSecretPost = "client_secret_post"
	// AuthNone is no authentication: a public client names itself with
	// the client_id parameter.
	AuthNone = "none"
)

// Grant types a client may be registered for (store.Client.GrantTypes).
const (
	// GrantAuthorizationCode is the authorization code grant (RFC 6749
	// §4.1), always with PKCE (RFC 7636).
	GrantAuthorizationCode = "authorization_code"
	// GrantRefreshToken is the refresh token grant (RFC 6749 §6), for
	// sessions started with an authorization code.
	GrantRefreshToken = "refresh_token"
	// GrantClientCredentials is the client credentials grant (RFC 6749
	// §4.4), for a confidential client's tokens of its own.
	GrantClientCredentials = "client_credentials"
)

var grantTypes = []string{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken}

// Limits on what a client is registered with and what a request may carry.
const (
	// MaxNameLength bounds a client's name in bytes.
	MaxNameLength = 64
	// MaxIDLength bounds a client ID in bytes; a longer one in a request
	// is ErrInvalidClient without a lookup.
	MaxIDLength = 128
	// MaxAuthorizationSize bounds the Authorization header Authenticate
	// reads, and a client_secret parameter; a larger one is
	// ErrInvalidClient.
	MaxAuthorizationSize = 1024
	// SecretSize is the number of random bytes in a client secret.
	SecretSize = 32
	// MaxScopeLength bounds a scope in bytes.
	MaxScopeLength = 64
	// MaxScopes bounds the number of scopes CheckScopes accepts.
	MaxScopes = 32
	// MaxRedirectURILength bounds a redirect URI in bytes.
	MaxRedirectURILength = 512
	// MaxRedirectURIs bounds the redirect URIs of a client, and its
	// post-logout redirect URIs.
	MaxRedirectURIs = 16
)

// Errors. Test with errors.Is.
var (
	// ErrNoCredentials reports a request with no client credentials: no
	// Authorization header, or one with a scheme other than Basic, and
	// (for AuthenticateRequest) no client_id or client_secret parameter.
	ErrNoCredentials = errors.New("client: no client credentials")
	// ErrInvalidClient reports client credentials that are malformed,
	// name an unknown client, carry a wrong secret or use a method other
	// than the client's, deliberately without saying which.
	ErrInvalidClient = errors.New("client: invalid client credentials")
	// ErrInsufficientScope reports an authenticated client that lacks a
	// scope the request needs.
	ErrInsufficientScope = errors.New("client: insufficient scope")
	// ErrInvalidName reports a client name New refuses.
	ErrInvalidName = errors.New("client: invalid name")
	// ErrInvalidScope reports a scope New refuses: not a scope-token, or
	// not a service scope for a client without grant types.
	ErrInvalidScope = errors.New("client: invalid scope")
	// ErrInvalidRedirectURI reports a redirect URI (or post-logout
	// redirect URI) CheckRedirectURI refuses (RFC 7591 §3.2.2
	// invalid_redirect_uri).
	ErrInvalidRedirectURI = errors.New("client: invalid redirect URI")
	// ErrInvalidRegistration reports a registration whose type,
	// authentication method, grant types and redirect URIs do not fit
	// together (RFC 7591 §3.2.2 invalid_client_metadata).
	ErrInvalidRegistration = errors.New("client: invalid registration")
)

// Registration is what a client is registered with; NewClient and Update
// check it. The zero values of Type and AuthMethod are the defaults.
type Registration struct {
	// Name is the client's name: 1 to MaxNameLength bytes of printable
	// UTF-8, unique among clients.
	Name string
	// Type is store.ClientConfidential (the default when empty) or
	// store.ClientPublic.
	Type string
	// AuthMethod is the client's token endpoint authentication method:
	// AuthClientSecretBasic (the default for a confidential client) or
	// AuthClientSecretPost; AuthNone, the only one and the default, for a
	// public client.
	AuthMethod string
	// RedirectURIs are the client's redirection endpoints, each checked
	// with CheckRedirectURI; at least one with GrantAuthorizationCode,
	// none without.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where logout may send the browser back
	// to, checked as RedirectURIs; only with GrantAuthorizationCode.
	PostLogoutRedirectURIs []string
	// GrantTypes are the grants the client may use. GrantRefreshToken
	// needs GrantAuthorizationCode; a public client needs
	// GrantAuthorizationCode and cannot have GrantClientCredentials. None:
	// a service client, which may hold only ScopeRevocationsRead and
	// ScopeIntrospect.
	GrantTypes []string
	// Scopes the client may use or request, checked with CheckScopes.
	Scopes []string
	// FirstParty marks a client of the operator's own, whose users are
	// not asked for consent.
	FirstParty bool
}

// New returns a new service client named name with scopes, created at
// now, for the caller to store with store.Clients.CreateClient, and its
// secret, which is to be shown once and kept nowhere else: a confidential
// client authenticating with client_secret_basic and without grant types,
// as NewClient(Registration{Name: name, Scopes: scopes}, now) returns it.
// The scopes must be service scopes (ScopeRevocationsRead,
// ScopeIntrospect); they are stored sorted, without duplicates.
func New(name string, scopes []string, now time.Time) (store.Client, string, error) {
	return NewClient(Registration{Name: name, Scopes: scopes}, now)
}

// NewClient returns a new client registered as reg (checked as
// Registration documents), created at now, for the caller to store with
// store.Clients.CreateClient, and the secret of a confidential client,
// which is to be shown once and kept nowhere else; "" for a public
// client. Scopes and grant types are stored sorted without duplicates,
// redirect URIs in their order without duplicates.
func NewClient(reg Registration, now time.Time) (store.Client, string, error) {
	reg, err := reg.check()
	if err != nil {
		return store.Client{}, "", err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return store.Client{}, "", fmt.Errorf("client: generating id: %w", err)
	}
	c := store.Client{ID: "c_" + hex.EncodeToString(id[:]), CreatedAt: now}
	c = reg.apply(c, now)
	var secret string
	if c.Type == store.ClientConfidential {
		if secret, c.SecretHash, err = NewSecret(); err != nil {
			return store.Client{}, "", err
		}
	}
	return c, secret, nil
}

// Update returns c registered as reg instead (checked as Registration
// documents), updated at now, for the caller to store with
// store.Clients.UpdateClient. It keeps c's ID, secret hash, SETCursor and
// CreatedAt, except that a public client has no secret hash: a client
// that becomes confidential needs a new secret (NewSecret), which the
// caller sets.
func Update(c store.Client, reg Registration, now time.Time) (store.Client, error) {
	reg, err := reg.check()
	if err != nil {
		return store.Client{}, err
	}
	c = reg.apply(c, now)
	if c.Type == store.ClientPublic {
		c.SecretHash = nil
	}
	return c, nil
}

// RegistrationOf returns the registration of c, for changing some of it
// with Update.
func RegistrationOf(c store.Client) Registration {
	return Registration{
		Name:                   c.Name,
		Type:                   c.Type,
		AuthMethod:             c.AuthMethod,
		RedirectURIs:           slices.Clone(c.RedirectURIs),
		PostLogoutRedirectURIs: slices.Clone(c.PostLogoutRedirectURIs),
		GrantTypes:             slices.Clone(c.GrantTypes),
		Scopes:                 slices.Clone(c.Scopes),
		FirstParty:             c.FirstParty,
	}
}

// apply returns c with the checked registration reg, updated at now.
func (reg Registration) apply(c store.Client, now time.Time) store.Client {
	c.Name, c.Type, c.AuthMethod = reg.Name, reg.Type, reg.AuthMethod
	c.RedirectURIs, c.PostLogoutRedirectURIs = reg.RedirectURIs, reg.PostLogoutRedirectURIs
	c.GrantTypes, c.Scopes, c.FirstParty = reg.GrantTypes, reg.Scopes, reg.FirstParty
	c.UpdatedAt = now
	return c
}

// check returns reg checked, with its defaults filled in and its lists
// normalized.
func (reg Registration) check() (Registration, error) {
	if err := CheckName(reg.Name); err != nil {
		return Registration{}, err
	}
	switch reg.Type {
	case "":
		reg.Type = store.ClientConfidential
	case store.ClientConfidential, store.ClientPublic:
	default:
		return Registration{}, fmt.Errorf("%w: unknown client type %.64q (known: %s, %s)",
			ErrInvalidRegistration, reg.Type, store.ClientConfidential, store.ClientPublic)
	}
	public := reg.Type == store.ClientPublic
	switch {
	case reg.AuthMethod == "" && public:
		reg.AuthMethod = AuthNone
	case reg.AuthMethod == "":
		reg.AuthMethod = AuthClientSecretBasic
	case public && reg.AuthMethod != AuthNone:
		return Registration{}, fmt.Errorf("%w: a public client has no secret: its authentication method is %s",
			ErrInvalidRegistration, AuthNone)
	case !public && reg.AuthMethod != AuthClientSecretBasic && reg.AuthMethod != AuthClientSecretPost:
		return Registration{}, fmt.Errorf("%w: authentication method %.64q of a confidential client is not %s or %s",
			ErrInvalidRegistration, reg.AuthMethod, AuthClientSecretBasic, AuthClientSecretPost)
	}

	grants := slices.Clone(reg.GrantTypes)
	for _, g := range grants {
		if !slices.Contains(grantTypes, g) {
			return Registration{}, fmt.Errorf("%w: unknown grant type %.64q (known: %s)",
				ErrInvalidRegistration, g, strings.Join(grantTypes, ", "))
		}
	}
	slices.Sort(grants)
	reg.GrantTypes = slices.Compact(grants)
	code := slices.Contains(reg.GrantTypes, GrantAuthorizationCode)
	switch {
	case slices.Contains(reg.GrantTypes, GrantRefreshToken) && !code:
		return Registration{}, fmt.Errorf("%w: %s needs %s", ErrInvalidRegistration, GrantRefreshToken, GrantAuthorizationCode)
	case public && !code:
		return Registration{}, fmt.Errorf("%w: a public client needs the %s grant", ErrInvalidRegistration, GrantAuthorizationCode)
	case public && slices.Contains(reg.GrantTypes, GrantClientCredentials):
		return Registration{}, fmt.Errorf("%w: a public client cannot authenticate for %s", ErrInvalidRegistration, GrantClientCredentials)
	}

	var err error
	if reg.RedirectURIs, err = checkRedirectURIs("redirect URI", reg.RedirectURIs); err != nil {
		return Registration{}, err
	}
	if reg.PostLogoutRedirectURIs, err = checkRedirectURIs("post-logout redirect URI", reg.PostLogoutRedirectURIs); err != nil {
		return Registration{}, err
	}
	switch {
	case code && len(reg.RedirectURIs) == 0:
		return Registration{}, fmt.Errorf("%w: the %s grant needs at least one redirect URI", ErrInvalidRegistration, GrantAuthorizationCode)
	case !code && len(reg.RedirectURIs)+len(reg.PostLogoutRedirectURIs) > 0:
		return Registration{}, fmt.Errorf("%w: redirect URIs are only for the %s grant", ErrInvalidRegistration, GrantAuthorizationCode)
	}

	if reg.Scopes, err = CheckScopes(reg.Scopes); err != nil {
		return Registration{}, err
	}
	if len(reg.GrantTypes) == 0 {
		for _, s := range reg.Scopes {
			if !slices.Contains(serviceScopes, s) {
				return Registration{}, fmt.Errorf("%w: unknown scope %q for a client without grant types (known: %s)",
					ErrInvalidScope, s, strings.Join(serviceScopes, ", "))
			}
		}
	}
	return reg, nil
}

// checkRedirectURIs checks each of uris with CheckRedirectURI and returns
// them in order without duplicates.
func checkRedirectURIs(what string, uris []string) ([]string, error) {
	if len(uris) > MaxRedirectURIs {
		return nil, fmt.Errorf("%w: more than %d of them", ErrInvalidRedirectURI, MaxRedirectURIs)
	}
	var out []string
	for _, u := range uris {
		if err := CheckRedirectURI(u); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// CheckRedirectURI reports whether u is acceptable as a redirect URI or a
// post-logout redirect URI of a client. Authorization requests must name
// it exactly (RFC 9700 §2.1), so it must be exact too: an absolute URI of
// at most MaxRedirectURILength bytes of the characters RFC 3986 allows,
// without a fragment (RFC 6749 §3.1.2), user information or wildcard
// ('*'); and either https with a host, http with a loopback host
// (127.0.0.1, [::1] or localhost: a native app's local listener, RFC 8252
// §7.3), or a private-use scheme with a dot in it, a reverse domain name
// such as com.example.app:/callback (RFC 8252 §7.1). It returns an error
// wrapping ErrInvalidRedirectURI.
func CheckRedirectURI(u string) error {
	if u == "" || len(u) > MaxRedirectURILength {
		return fmt.Errorf("%w: must be 1 to %d bytes", ErrInvalidRedirectURI, MaxRedirectURILength)
	}
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case c == '#':
			return fmt.Errorf("%w: %.64q has a fragment", ErrInvalidRedirectURI, u)
		case c == '*':
			return fmt.Errorf("%w: %.64q has a wildcard", ErrInvalidRedirectURI, u)
		case !isURIChar(c):
			return fmt.Errorf("%w: %.64q has a character URIs do not allow", ErrInvalidRedirectURI, u)
		}
	}
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %.64q is not a URI", ErrInvalidRedirectURI, u)
	case p.Scheme == "":
		return fmt.Errorf("%w: %.64q is not absolute", ErrInvalidRedirectURI, u)
	case p.User != nil:
		return fmt.Errorf("%w: %.64q has user information", ErrInvalidRedirectURI, u)
	}
	switch p.Scheme {
	case "https":
		if p.Hostname() == "" {
			return fmt.Errorf("%w: %.64q has no host", ErrInvalidRedirectURI, u)
		}
	case "http":
		if h := p.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
			return fmt.Errorf("%w: %.64q: http is only for a loopback host (127.0.0.1, [::1], localhost)", ErrInvalidRedirectURI, u)
		}
	default:
		if !strings.Contains(p.Scheme, ".") {
			return fmt.Errorf("%w: %.64q: the scheme must be https, http for a loopback host, or a private-use scheme such as com.example.app", ErrInvalidRedirectURI, u)
		}
		if p.Opaque == "" && p.Host == "" && p.Path == "" {
			return fmt.Errorf("%w: %.64q has nothing after its scheme", ErrInvalidRedirectURI, u)
		}
	}
	return nil
}

// isURIChar reports whether c may appear in a URI (RFC 3986 §2): an
// unreserved or reserved character, or the '%' of a percent-encoding.
func isURIChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
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
// quote or backslash) of at most MaxScopeLength bytes; there may be at
// most MaxScopes of them. No scope at all is allowed.
func CheckScopes(scopes []string) ([]string, error) {
	if len(scopes) > MaxScopes {
		return nil, fmt.Errorf("%w: more than %d scopes", ErrInvalidScope, MaxScopes)
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !isScopeToken(s) {
			return nil, fmt.Errorf("%w: %.64q is not a scope token of at most %d bytes", ErrInvalidScope, s, MaxScopeLength)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// isScopeToken reports whether s is a scope-token: 1*NQCHAR, where NQCHAR
// is %x21 / %x23-5B / %x5D-7E (RFC 6749 §3.3).
func isScopeToken(s string) bool {
	if s == "" || len(s) > MaxScopeLength {
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

// HasGrantType reports whether c may use the grant type g.
func HasGrantType(c store.Client, g string) bool {
	return g != "" && slices.Contains(c.GrantTypes, g)
}

// CacheTTL is how long AuthenticateRequest goes on using a client as it
// read it from the store: a client removed, or given a new secret, scope,
// grant type or redirect URI, is refused or served as changed at the
// token endpoint within CacheTTL of the change, from whichever process
// made it. Authenticate (the service endpoints) always reads the store.
const CacheTTL = time.Second

// maxCached bounds the clients (and unknown client IDs) an Authenticator
// keeps: past it, one is dropped for each added.
const maxCached = 1024

// Authenticator checks the client credentials of requests against the
// registered clients. It is safe for concurrent use.
//
// AuthenticateRequest, the token endpoint's check, keeps what it reads of
// a client for CacheTTL (an unknown client ID too), so that a client
// asking for tokens in a loop costs the store one read a second instead
// of one a request. The secret is hashed and compared with the cached
// hash on every request, never remembered as checked; a store failure is
// not kept. Timing may show whether a client ID was asked about within
// the last CacheTTL, but not whether it exists: unknown IDs are kept
// alike (and a client ID is no secret, RFC 6749 §2.2).
type Authenticator struct {
	clients store.Clients
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]cachedClient
}

// cachedClient is a read of the client store: the client, or
// store.ErrNotFound, as it was at read (before the read began).
type cachedClient struct {
	c     store.Client
	found bool
	read  time.Time
}

// NewAuthenticator returns an Authenticator over the stored clients.
func NewAuthenticator(clients store.Clients) *Authenticator {
	return &Authenticator{clients: clients, now: time.Now, cache: make(map[string]cachedClient)}
}

// dummyHash is compared against when the client ID is unknown, so that
// an unknown client costs what a known one does.
var dummyHash = make([]byte, sha256.Size)

// Authenticate returns the client whose credentials r carries with
// client_secret_basic (RFC 6749 §2.3.1): an Authorization header
// "Basic base64(id:secret)", where id and secret are each encoded with
// application/x-www-form-urlencoded before base64. It is the method of
// the service endpoints (the revocation feed, introspection), whatever
// method a confidential client registered for the token endpoint; a
// public client has no secret and never authenticates here.
//
// It returns ErrNoCredentials if r has no Authorization header or one
// with another scheme, ErrInvalidClient for malformed credentials, an
// unknown client or a wrong secret, and a store failure wrapped.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (store.Client, error) {
	id, secret, err := basicCredentials(r.Header)
	if err != nil {
		return store.Client{}, err
	}
	return a.checkSecret(ctx, id, secret)
}

// AuthenticateRequest returns the client that a token endpoint request
// (RFC 6749 §2.3, §3.2.1) authenticates as, given r and its parsed form
// (the request body's parameters). The request must use the client's
// registered method and only that one:
//
//   - AuthClientSecretBasic: an Authorization header as Authenticate
//     reads it; a client_id parameter, if any, must name the same client,
//     and there must be no client_secret parameter;
//   - AuthClientSecretPost: client_id and client_secret parameters, and no
//     Basic Authorization header;
//   - AuthNone (a public client): a client_id parameter alone.
//
// It returns ErrNoCredentials if the request carries none of these,
// ErrInvalidClient if it uses more than one method, a method other than
// the client's, a parameter more than once, malformed credentials, an
// unknown client or a wrong secret, and a store failure wrapped.
func (a *Authenticator) AuthenticateRequest(ctx context.Context, r *http.Request, form url.Values) (store.Client, error) {
	basicID, basicSecret, err := basicCredentials(r.Header)
	hasBasic := !errors.Is(err, ErrNoCredentials)
	if hasBasic && err != nil {
		return store.Client{}, err
	}
	formID, hasFormID, err := formParam(form, "client_id")
	if err != nil {
		return store.Client{}, err
	}
	formSecret, hasFormSecret, err := formParam(form, "client_secret")
	if err != nil {
		return store.Client{}, err
	}
	var method, id, secret string
	switch {
	case hasBasic && hasFormSecret:
		return store.Client{}, ErrInvalidClient // two methods (RFC 6749 §2.3)
	case hasBasic && hasFormID && formID != basicID:
		return store.Client{}, ErrInvalidClient
	case hasBasic:
		method, id, secret = AuthClientSecretBasic, basicID, basicSecret
	case hasFormSecret:
		method, id, secret = AuthClientSecretPost, formID, formSecret
		if !hasFormID || id == "" || secret == "" || len(id) > MaxIDLength || len(secret) > MaxAuthorizationSize {
			return store.Client{}, ErrInvalidClient
		}
	case hasFormID:
		method, id = AuthNone, formID
		if id == "" || len(id) > MaxIDLength {
			return store.Client{}, ErrInvalidClient
		}
	default:
		return store.Client{}, ErrNoCredentials
	}

	c, err := a.cachedClientByID(ctx, id)
	if method == AuthNone {
		switch {
		case errors.Is(err, store.ErrNotFound):
			return store.Client{}, ErrInvalidClient
		case err != nil:
			return store.Client{}, err
		case c.Type != store.ClientPublic || c.AuthMethod != AuthNone:
			return store.Client{}, ErrInvalidClient
		}
		return c, nil
	}
	c, err = matchSecret(c, err, secret)
	if err != nil {
		return store.Client{}, err
	}
	if c.AuthMethod != method {
		return store.Client{}, ErrInvalidClient
	}
	return c, nil
}

// cachedClientByID returns the client with ID id as the store has it or
// had it at most CacheTTL ago, store.ErrNotFound if there was none, or a
// store failure wrapped. The client's lists are its own copies.
func (a *Authenticator) cachedClientByID(ctx context.Context, id string) (store.Client, error) {
	now := a.now()
	a.mu.Lock()
	e, ok := a.cache[id]
	a.mu.Unlock()
	// A read from the future (the clock stepped back) is not trusted.
	if !ok || now.Sub(e.read) >= CacheTTL || now.Before(e.read) {
		c, err := a.clients.ClientByID(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			e = cachedClient{read: now}
		case err != nil:
			return store.Client{}, fmt.Errorf("client: looking up client: %w", err)
		default:
			e = cachedClient{c: c, found: true, read: now}
		}
		a.mu.Lock()
		if _, ok := a.cache[id]; !ok && len(a.cache) >= maxCached {
			for k := range a.cache {
				delete(a.cache, k)
				break
			}
		}
		a.cache[id] = e
		a.mu.Unlock()
	}
	if !e.found {
		return store.Client{}, store.ErrNotFound
	}
	c := e.c
	c.SecretHash = slices.Clone(c.SecretHash)
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.Scopes = slices.Clone(c.Scopes)
	return c, nil
}

// checkSecret returns the confidential client with ID id if secret is
// its secret, and otherwise ErrInvalidClient, after the same hash and
// constant-time comparison whether or not the client exists.
func (a *Authenticator) checkSecret(ctx context.Context, id, secret string) (store.Client, error) {
	c, err := a.clients.ClientByID(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Client{}, fmt.Errorf("client: looking up client: %w", err)
	}
	return matchSecret(c, err, secret)
}

// matchSecret returns c, the result of looking a client up with error
// err (nil or store.ErrNotFound), if it is a confidential client and
// secret is its secret, and otherwise ErrInvalidClient, after the same
// hash and constant-time comparison whether or not the client exists.
// Any other err is returned as it is.
func matchSecret(c store.Client, err error, secret string) (store.Client, error) {
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Client{}, err
	}
	want := dummyHash
	if known && c.Type != store.ClientPublic && len(c.SecretHash) == sha256.Size {
		want = c.SecretHash
	} else {
		known = false
	}
	// The same hash and comparison whether or not the client exists.
	match := subtle.ConstantTimeCompare(hashSecret(secret), want) == 1
	if !known || !match {
		return store.Client{}, ErrInvalidClient
	}
	return c, nil
}

// formParam returns the value of the form parameter name and whether it
// is present; ErrInvalidClient if it is there more than once (RFC 6749
// §3.2).
func formParam(form url.Values, name string) (string, bool, error) {
	vs, ok := form[name]
	switch {
	case !ok:
		return "", false, nil
	case len(vs) != 1:
		return "", false, ErrInvalidClient
	}
	return vs[0], true, nil
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
