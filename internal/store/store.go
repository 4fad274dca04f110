// Package store is the storage contract of the latch server: the records it
// keeps and the small role interfaces each component asks for.
//
// Every backend implements all roles and passes the conformance suite in
// internal/store/storetest, including its concurrency tests: SQLite
// (internal/store/sqlite), embedded, latch serve's default, and
// PostgreSQL (internal/store/postgres), for several server nodes sharing
// one database (latch serve --database postgres://...).
//
// Read-modify-write is never done by callers: each Update method runs the
// caller's function on the current record inside the backend's transaction
// and writes what it returns, so two concurrent updates of one record are
// serialized. Refresh-token rotation relies on this to be race-free. The
// function must be quick, must not call the store (it may hold the write
// lock) and must have no effect other than its result, since a backend may
// call it more than once. A missing record is ErrNotFound without calling
// it; an error from it aborts the update, leaving the record unchanged, and
// is returned as is.
//
// Revocations are written by the backend in the same transaction as the
// change that causes them (a session revoked, a user's tokens revoked, a
// signing key revoked), so a revocation is durable exactly when its cause
// is. Such a record stays in the feed for Options.RevocationTTL, and
// Options.Notify learns of it as soon as it commits.
//
// Times are kept to the millisecond or finer and may come back in another
// location (compare them with time.Time.Equal). The zero time stays zero
// and, in the cutoff comparisons below, is before every other time, as in
// Go.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Options are the settings every backend is opened with.
type Options struct {
	// RevocationTTL is how long a revocation the backend records itself
	// (UpdateSession, RevokeUser, UpdateKey) stays in the feed: its Expires
	// is its At plus RevocationTTL. The store cannot know the access-token
	// lifetime, so this must be at least that lifetime plus the clock skew
	// verifiers allow; a shorter one lets a revoked access token become
	// valid again once its record is pruned. Zero means
	// DefaultRevocationTTL; negative is an error.
	RevocationTTL time.Duration

	// Notify, when not nil, is called after every transaction of this
	// process that recorded a revocation has committed, so that the
	// revocation feed can push it at once instead of at its next poll.
	// It must not block nor call the store.
	Notify func()
}

// DefaultRevocationTTL is the RevocationTTL of the zero Options: longer
// than any reasonable access-token lifetime.
const DefaultRevocationTTL = 24 * time.Hour

// Errors every backend returns, wrapped with context; test with errors.Is.
var (
	// ErrNotFound reports a record that does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports a create or update that collides with an
	// existing record (same ID, same e-mail address for users, same token
	// hash for sessions).
	ErrConflict = errors.New("store: conflict")
	// ErrCodeReplayed reports an authorization code presented again after
	// it was redeemed (RFC 6749 §4.1.2, §10.5): AuthCodes.RedeemAuthCode
	// and AuthCodes.BindAuthCode return it, with the code, so that the
	// caller revokes the session its first redemption started.
	ErrCodeReplayed = errors.New("store: authorization code already redeemed")
	// ErrBusy reports a database that is temporarily unable to serve the
	// call: another client held a lock on it for longer than the backend
	// waits (SQLite's busy timeout, a PostgreSQL lock or statement
	// timeout), or no connection to it came free in time. Nothing was
	// written; the same call may succeed when retried later.
	ErrBusy = errors.New("store: database busy")
)

// User is an account that can log in.
type User struct {
	ID           string
	Email        string   // normalized (lower case); unique
	PasswordHash string   // argon2id PHC string
	Roles        []string // copied into access tokens at issue and refresh; empty may come back nil
	// Claims are the operator's custom claims of the user, by name, each
	// value one JSON value (internal/issuer checks them: no reserved
	// name, size limits). They are copied into access tokens at issue and
	// refresh, like Roles. The store keeps them as given, as one JSON
	// object; empty may come back nil.
	Claims   map[string]json.RawMessage
	Disabled bool
	// TokensRevokedAt revokes every access token of the user issued at or
	// before it, to the second (a subject revocation: verifiers refuse
	// "iat" <= it); RevokeUser sets it, always forward, and records the
	// revocation. An issuer gives a token issued in that same second an
	// "iat" one second later, so that it is not covered. Zero: none.
	TokensRevokedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Users stores accounts.
type Users interface {
	// CreateUser inserts u; ErrConflict if its ID or e-mail exists.
	CreateUser(ctx context.Context, u User) error
	// UserByID returns the user with ID id, or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// UserByEmail returns the user with the normalized e-mail address, or
	// ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// ListUsers returns all users ordered by creation time.
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser applies fn to the user with ID id atomically and stores
	// its result; an error from fn aborts the update and is returned as is.
	// The ID, e-mail, CreatedAt and TokensRevokedAt cannot change: the
	// stored ones are kept whatever fn returns (RevokeUser moves
	// TokensRevokedAt).
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) (User, error)
	// RevokeUser revokes the user's access tokens issued at or before at,
	// in one transaction with its cause. The revocation's time T is at,
	// or one second after the stored TokensRevokedAt truncated to the
	// second if that is later: issuers date a token issued in the same
	// second as a revocation one second later (see TokensRevokedAt), and
	// T must cover it. RevokeUser applies fn (when not nil) to the user as
	// UpdateUser does, sets TokensRevokedAt to T, records one subject
	// Revocation (Subject and UserID the user's ID, Reason reason, At T,
	// Expires T plus Options.RevocationTTL) and, when endSessions is set,
	// revokes every session of the user that is not revoked and has
	// ExpiresAt after T (RevokedAt T, RevokeReason reason). It returns the user as stored
	// and the number of sessions revoked; ErrNotFound if there is no such
	// user, and an error from fn as is (nothing is then written).
	RevokeUser(ctx context.Context, id string, reason Reason, at time.Time, endSessions bool, fn func(User) (User, error)) (User, int, error)
}

// Session is one login: a family of refresh tokens of which exactly one is
// current. Tokens are never stored, only their SHA-256 hashes.
type Session struct {
	ID     string
	UserID string

	// TokenHash is the hash of the current refresh token.
	TokenHash []byte
	// Generation counts rotations; the first token is generation 0.
	Generation int64
	// PrevHash is the hash of the token rotated away last, the current
	// token's predecessor, and RotatedAt when the current token was
	// issued for it. Until the current token is used, presenting the
	// predecessor again yields a current token instead of counting as a
	// reuse (see internal/session).
	PrevHash  []byte
	RotatedAt time.Time
	// Reissues counts the current tokens issued for the predecessor
	// after the first one, each replacing the one before: a client whose
	// answer was lost presented the predecessor again. A rotation sets it
	// back to zero.
	Reissues int

	CreatedAt  time.Time
	LastUsedAt time.Time // sliding expiry is LastUsedAt plus the idle timeout
	ExpiresAt  time.Time // absolute lifetime

	UserAgent string
	IP        string

	// ParentID is the ID of the browser (single sign-on) session this
	// session of an OAuth client was started from, by redeeming an
	// authorization code; empty for a session without one. Ending the
	// browser session ends the sessions whose ParentID it is.
	ParentID string

	// ClientID is the OAuth client the session was issued to, by
	// redeeming an authorization code; empty for a session of latch's own
	// login API (/v1). A refresh token is redeemed only by the client its
	// session belongs to. A browser session has a reserved value of its
	// own (see internal/oauth).
	ClientID string
	// Scopes are the scopes granted to the session, copied into each
	// access token issued for it. Empty may come back nil.
	Scopes []string
	// AuthTime is when the user last entered their password for this
	// session: for a login or a browser session its CreatedAt, for a
	// session started from a browser session the browser session's
	// AuthTime. Zero for sessions created before it was recorded.
	AuthTime time.Time
	// DPoPJKT is the RFC 7638 thumbprint (base64url SHA-256) of the DPoP
	// key the session's refresh tokens are bound to (RFC 9449 §5): a
	// refresh needs a DPoP proof by that key. Empty for an unbound
	// session. It never changes.
	DPoPJKT string

	// RevokedAt is set once the session ends; a revoked session never
	// comes back. RevokeReason says why (see the Reason constants).
	RevokedAt    time.Time
	RevokeReason Reason
}

// Active reports whether s is neither revoked nor expired at now, given the
// idle timeout.
func (s Session) Active(now time.Time, idle time.Duration) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt) && (idle <= 0 || now.Before(s.LastUsedAt.Add(idle)))
}

// Sessions stores login sessions.
type Sessions interface {
	// CreateSession inserts s; ErrConflict if its ID or token hash exists,
	// ErrNotFound if its user does not.
	CreateSession(ctx context.Context, s Session) error
	// SessionByID returns the session with ID id, or ErrNotFound.
	SessionByID(ctx context.Context, id string) (Session, error)
	// ListSessions returns the user's sessions that are not revoked, newest
	// first.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// UpdateSession applies fn to the session atomically and stores its
	// result. If the result is newly revoked (RevokedAt set where it was
	// zero), a session Revocation is recorded in the same transaction:
	// Subject the session ID, UserID, Reason RevokeReason, At RevokedAt,
	// Expires At plus Options.RevocationTTL. The ID, UserID, ParentID,
	// ClientID, Scopes, AuthTime, DPoPJKT and CreatedAt cannot change, nor
	// RevokedAt and RevokeReason once set: the stored ones are kept
	// whatever fn returns (KeepFixed). A TokenHash that another session
	// has is ErrConflict.
	UpdateSession(ctx context.Context, id string, fn func(Session) (Session, error)) (Session, error)
	// UpdateSessionUser is UpdateSession with the session's user, read
	// in the same transaction: fn gets it with the session, and it is
	// returned with the session as stored. A refresh that issues an
	// access token with the user's current roles needs both, and reads
	// them once.
	UpdateSessionUser(ctx context.Context, id string, fn func(Session, User) (Session, error)) (Session, User, error)
	// PruneSessions removes sessions that ended (revoked or past
	// ExpiresAt) before cutoff, and returns how many it removed.
	PruneSessions(ctx context.Context, cutoff time.Time) (int, error)
}

// Qualified returns the comma-separated column names of columns, each
// prefixed with table and a dot, for a statement whose tables have
// columns of the same name: Qualified("s", "id, user_id") is
// "s.id, s.user_id". Store implementations derive their joins' column
// lists from their tables' with it.
func Qualified(table, columns string) string {
	names := strings.Split(columns, ",")
	for i, n := range names {
		names[i] = table + "." + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}

// KeepFixed returns next, what an UpdateSession function made of the
// stored session old, with the fields that cannot change taken from old:
// ID, UserID, ParentID, ClientID, Scopes, AuthTime, DPoPJKT and
// CreatedAt, and RevokedAt and RevokeReason once set. Store
// implementations apply it before they store next.
func KeepFixed(old, next Session) Session {
	next.ID, next.UserID, next.ParentID, next.CreatedAt = old.ID, old.UserID, old.ParentID, old.CreatedAt
	next.ClientID, next.Scopes, next.AuthTime, next.DPoPJKT = old.ClientID, old.Scopes, old.AuthTime, old.DPoPJKT
	if !old.RevokedAt.IsZero() {
		next.RevokedAt, next.RevokeReason = old.RevokedAt, old.RevokeReason
	}
	return next
}

// Reason says why something was revoked.
type Reason string

// The revocation reasons latch records.
const (
	ReasonLogout         Reason = "logout"          // the user ended the session
	ReasonReuse          Reason = "reuse"           // a rotated refresh token was used again
	ReasonPasswordChange Reason = "password_change" // the user's password changed
	ReasonDisabled       Reason = "disabled"        // the account was disabled
	ReasonAdmin          Reason = "admin"           // an operator revoked it
	ReasonRoleChange     Reason = "role_change"     // the user's roles changed: tokens carry stale roles
	ReasonClaimsChange   Reason = "claims_change"   // the user's custom claims changed: tokens carry stale ones
	ReasonUndeliverable  Reason = "undeliverable"   // its tokens could not be issued or sent (too large): the client never got them
	ReasonKeyRevoked     Reason = "key_revoked"     // the signing key was revoked (compromise)
)

// Kind is what a Revocation covers.
type Kind string

// The kinds of revocation.
const (
	// KindSession revokes every token of one session (Subject: session ID,
	// the tokens' "sid").
	KindSession Kind = "session"
	// KindSubject revokes every token of one user issued at or before At
	// (Subject: user ID, the tokens' "sub").
	KindSubject Kind = "subject"
	// KindToken revokes one access token (Subject: its "jti").
	KindToken Kind = "token"
	// KindKey revokes every token signed by one key (Subject: its "kid").
	KindKey Kind = "key"
)

// Revocation is one durable entry of the revocation feed.
type Revocation struct {
	// Seq orders the feed. It is assigned by the store, strictly
	// increasing, and a reader that has seen Seq n never later sees a
	// record with a smaller Seq (backends must make sequence assignment
	// and commit order agree).
	Seq  int64
	Kind Kind
	// Subject is what is revoked: a session ID, user ID, jti or key ID
	// as Kind says.
	Subject string
	// UserID is the user concerned, when there is one.
	UserID string
	Reason Reason
	// At is the moment of revocation: tokens covered that were issued at
	// or before At are no longer valid.
	At time.Time
	// Expires is when the record stops mattering: every access token it
	// can cover has expired by then, so it may be pruned.
	Expires time.Time
}

// Revocations stores the revocation feed.
type Revocations interface {
	// AddRevocation appends r (its Seq is ignored) and returns its Seq.
	AddRevocation(ctx context.Context, r Revocation) (int64, error)
	// RevocationsSince returns up to limit records with Seq > after, in
	// Seq order.
	RevocationsSince(ctx context.Context, after int64, limit int) ([]Revocation, error)
	// PruneRevocations deletes records whose Expires is before cutoff and
	// returns how many it deleted.
	PruneRevocations(ctx context.Context, cutoff time.Time) (int, error)
	// RevocationBounds returns the highest Seq ever pruned (0 if none) and
	// the highest Seq ever assigned (0 if none). A reader whose cursor is
	// below pruned may have missed records and must read the feed again
	// from 0: what is retained is every revocation still in force.
	RevocationBounds(ctx context.Context) (pruned, head int64, err error)
}

// SigningKey is a JWS signing key in its lifecycle: published from
// PublishAt, signing from ActivateAt until RetireAt, and published until
// RemoveAt, after which every token it signed has expired.
type SigningKey struct {
	ID        string // the JWS "kid"
	Algorithm string
	// Sealed is the private JWK encrypted at rest (AES-256-GCM under the
	// master key, see internal/keyring); the store never sees it in clear.
	Sealed []byte
	// Public is the public JWK, published in the JWKS.
	Public     []byte
	CreatedAt  time.Time
	ActivateAt time.Time
	RetireAt   time.Time // zero: not scheduled
	RemoveAt   time.Time // zero: not scheduled
	// RevokedAt is set when the key is revoked (compromised): it leaves
	// the JWKS and every token it signed is refused. Zero: not revoked.
	RevokedAt time.Time
}

// Keys stores signing keys.
//
// The writes to the keys are serialized across every client of the
// database (every server node): each one runs under one lock on the whole
// key set, which UpdateKeys holds while its function decides. That is how
// several nodes that run the same key maintenance agree on a single
// rotation.
type Keys interface {
	// CreateKey inserts k; ErrConflict if its ID exists.
	CreateKey(ctx context.Context, k SigningKey) error
	// ListKeys returns all keys ordered by ActivateAt.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateKey applies fn to the key atomically and stores its result.
	// The ID and CreatedAt cannot change, nor RevokedAt once set: the
	// stored ones are kept. If the result is newly revoked (RevokedAt set
	// where it was zero), a key Revocation is recorded in the same
	// transaction: Subject the key ID, Reason ReasonKeyRevoked, At
	// RevokedAt, Expires At plus Options.RevocationTTL.
	UpdateKey(ctx context.Context, id string, fn func(SigningKey) (SigningKey, error)) (SigningKey, error)
	// UpdateKeys changes the key set atomically. It takes the key set's
	// lock, calls fn with every stored key (ordered as by ListKeys), and
	// stores what fn returns in the same transaction: create is inserted
	// as by CreateKey (ErrConflict if an ID exists), and each key of
	// update replaces the stored key of its ID as by UpdateKey, with its
	// rules: the ID, CreatedAt and a set RevokedAt are kept, and a key
	// newly revoked records its key Revocation in the transaction. An
	// update of an ID that fn was not given is ErrNotFound; a later
	// update of the same ID applies to the earlier one's result. No other
	// write changes the keys between fn's reading and the commit, so fn
	// can check that a change is still due (no other node made it
	// meanwhile) and return nothing if it is not. fn holds the lock while
	// it runs: generate key material before the call, not in fn. If fn
	// returns an error, nothing is stored and UpdateKeys returns it as
	// is. fn may be called more than once, if the backend runs the
	// transaction again.
	UpdateKeys(ctx context.Context, fn func(keys []SigningKey) (create, update []SigningKey, err error)) error
	// DeleteKey removes the key, or returns ErrNotFound.
	DeleteKey(ctx context.Context, id string) error
}

// Throttle counts failed logins for one key (an account or a client
// address) for brute-force protection.
type Throttle struct {
	Key         string
	Failures    int
	LastFailure time.Time
	LockedUntil time.Time
}

// Throttles stores login throttles.
type Throttles interface {
	// UpdateThrottle applies fn to the throttle for key (the zero Throttle
	// with Key set if there is none) atomically and stores its result; a
	// result with zero Failures deletes it. The Key cannot change.
	UpdateThrottle(ctx context.Context, key string, fn func(Throttle) (Throttle, error)) (Throttle, error)
	// PruneThrottles deletes throttles whose last failure is before cutoff
	// and that are not locked past it.
	PruneThrottles(ctx context.Context, cutoff time.Time) (int, error)
}

// The types of client (RFC 6749 §2.1).
const (
	// ClientConfidential is a client that can keep a secret: a server-side
	// application or a service. Clients registered before client types
	// existed are confidential.
	ClientConfidential = "confidential"
	// ClientPublic is a client that cannot keep a secret (a native or
	// browser application): it has no secret and uses PKCE.
	ClientPublic = "public"
)

// Client is a registered OAuth 2.0 client (RFC 6749 §2): a service that
// authenticates to the server to read the revocation feed or introspect
// tokens, or an application that signs users in with the authorization
// code flow. Secrets are 256-bit random values shown once; only their
// SHA-256 hash is kept, which is enough for secrets of that strength (no
// password hashing needed) and is compared in constant time.
//
// The store keeps the registration as given; internal/client checks it.
type Client struct {
	ID   string // the client_id; unique
	Name string // unique, chosen by the operator
	// SecretHash is the SHA-256 of the client secret; empty (and may come
	// back nil) for a public client.
	SecretHash []byte
	// Type is ClientConfidential or ClientPublic.
	Type string
	// AuthMethod is how the client authenticates at the token endpoint
	// (RFC 7591 token_endpoint_auth_method): "client_secret_basic" (the
	// method of clients registered before there was a choice),
	// "client_secret_post", or "none" for a public client.
	AuthMethod string
	// RedirectURIs are the redirection endpoints (RFC 6749 §3.1.2) an
	// authorization request may name, compared exactly. Empty may come
	// back nil.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser back to (OpenID Connect RP-Initiated Logout 1.0), compared
	// exactly. Empty may come back nil.
	PostLogoutRedirectURIs []string
	// GrantTypes are the grants the client may use: "authorization_code",
	// "refresh_token", "client_credentials". Empty (may come back nil):
	// none, a service that only reads the revocation feed or introspects
	// tokens.
	GrantTypes []string
	// Scopes the client may use or request, e.g. "revocations:read",
	// "openid". Empty may come back nil.
	Scopes []string
	// FirstParty marks a client of the operator's own: its users are not
	// asked for consent.
	FirstParty bool
	// RequireDPoP makes the token endpoint refuse the client's token
	// requests without a DPoP proof (RFC 9449 §5), so that every token it
	// gets is bound to a key it holds.
	RequireDPoP bool
	// EncryptionKey is the client's public encryption key, a JWK (RFC
	// 7517) with its "alg" (jose.ParseEncryptionJWK reads it), or empty
	// for none. Access tokens whose audience names the client (by ID or
	// by name) are issued as nested JWTs encrypted to it, so that the
	// browser or app carrying them cannot read their claims.
	EncryptionKey string
	// SETCursor is the Seq up to which the client has acknowledged every
	// Security Event Token of the revocation feed it polls for (RFC 8936):
	// the SETs of revocations with a Seq at or below it are not delivered
	// to it again. Zero: none acknowledged. The feed moves it; it is
	// delivery state, not configuration, so moving it leaves UpdatedAt.
	SETCursor int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clients stores OAuth clients.
type Clients interface {
	// CreateClient inserts c; ErrConflict if its ID or Name exists.
	CreateClient(ctx context.Context, c Client) error
	// ClientByID returns the client with ID id, or ErrNotFound.
	ClientByID(ctx context.Context, id string) (Client, error)
	// ListClients returns every client ordered by creation time.
	ListClients(ctx context.Context) ([]Client, error)
	// UpdateClient applies fn to the client atomically and stores its
	// result. The ID and CreatedAt cannot change; a Name another client
	// has is ErrConflict.
	UpdateClient(ctx context.Context, id string, fn func(Client) (Client, error)) (Client, error)
	// DeleteClient removes the client, with its authorization codes and
	// the consents given to it, or returns ErrNotFound.
	DeleteClient(ctx context.Context, id string) error
}

// AuthCode is an authorization code (RFC 6749 §4.1), stored by its hash
// only: the code itself is a bearer credential.
type AuthCode struct {
	// Hash is the SHA-256 of the code; unique.
	Hash     []byte
	ClientID string
	UserID   string
	// BrowserSessionID is the single sign-on session the user authorized
	// the client in: the "sid" of the ID token.
	BrowserSessionID string
	// RedirectURI is the redirect_uri of the authorization request,
	// exactly as sent; the token request must repeat it (RFC 6749
	// §4.1.3).
	RedirectURI string
	// Scopes are the granted scopes. Empty may come back nil.
	Scopes []string
	// Nonce is the OpenID Connect nonce of the request, empty if none.
	Nonce string
	// CodeChallenge is the PKCE S256 code challenge (RFC 7636 §4.2).
	CodeChallenge string
	// AuthTime is when the user last authenticated with a password.
	AuthTime  time.Time
	CreatedAt time.Time
	// ExpiresAt is when the code stops being valid. The store does not
	// check it: the caller compares it with the time of redemption.
	ExpiresAt time.Time
	// RedeemedAt is when the code was redeemed; zero until then.
	RedeemedAt time.Time
	// SessionID is the session its redemption started (BindAuthCode);
	// empty until then.
	SessionID string
	// ReplayedAt is when the code was first presented again after its
	// redemption; zero if it never was.
	ReplayedAt time.Time
}

// AuthCodes stores authorization codes. A code is redeemed at most once,
// even by concurrent requests (RFC 6749 §4.1.2).
type AuthCodes interface {
	// CreateAuthCode inserts c; ErrConflict if its hash exists,
	// ErrNotFound if its client or user does not.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// RedeemAuthCode marks the code with the hash redeemed at now (which
	// must not be zero) and returns it, RedeemedAt set. It returns
	// ErrNotFound if there is no such code. If the code was redeemed
	// before, it sets ReplayedAt to now, if it is zero, and returns the
	// code as stored, with ErrCodeReplayed, so that the caller revokes
	// its SessionID (which BindAuthCode may not have set yet). Of
	// concurrent calls for one code exactly one redeems it. Expiry is the
	// caller's check: the code is returned with its ExpiresAt.
	RedeemAuthCode(ctx context.Context, hash []byte, now time.Time) (AuthCode, error)
	// BindAuthCode records sessionID (not empty) as the session the
	// redemption of the code started. It returns ErrNotFound if there is
	// no such code, and ErrConflict if the code is not redeemed or is
	// bound to another session already. If the code was replayed
	// meanwhile it still records the session, and returns
	// ErrCodeReplayed so that the caller revokes it.
	BindAuthCode(ctx context.Context, hash []byte, sessionID string) error
	// PruneAuthCodes removes the codes whose ExpiresAt is before cutoff
	// and returns how many it removed.
	PruneAuthCodes(ctx context.Context, cutoff time.Time) (int, error)
}

// Consent is a user's grant of scopes to a third-party client, so that
// later authorization requests for those scopes do not ask again.
type Consent struct {
	UserID   string
	ClientID string
	// Scopes granted, sorted without duplicates. Empty may come back nil.
	Scopes    []string
	GrantedAt time.Time
}

// Consents stores users' consents.
type Consents interface {
	// GrantConsent stores the union of the consent's stored scopes, if
	// any, and c.Scopes, sorted without duplicates, with GrantedAt
	// c.GrantedAt. It returns ErrNotFound if the user or the client does
	// not exist.
	GrantConsent(ctx context.Context, c Consent) error
	// ConsentFor returns the user's consent to the client, or
	// ErrNotFound.
	ConsentFor(ctx context.Context, userID, clientID string) (Consent, error)
	// ListConsents returns the user's consents, most recently granted
	// first.
	ListConsents(ctx context.Context, userID string) ([]Consent, error)
	// RevokeConsent removes the user's consent to the client, or returns
	// ErrNotFound.
	RevokeConsent(ctx context.Context, userID, clientID string) error
}

// Store is every role together, as a backend provides it. Components ask
// for the roles they use; only cmd/latch handles a whole Store.
type Store interface {
	Users
	Sessions
	Revocations
	Keys
	Throttles
	Clients
	AuthCodes
	Consents
	// Ping checks that the database can serve reads and commit writes,
	// for readiness probes: it commits a small write of its own (a
	// heartbeat), so it fails while writes fail, whether the disk is
	// full, the file read-only or the database locked (ErrBusy). A
	// backend may answer from a check it made up to a second before, so
	// that frequent probes cost at most one write a second.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
