// Package session manages login sessions as families of rotating refresh
// tokens.
//
// A refresh token is opaque to clients but structured for the server:
//
//	version(1) || session ID(16) || generation(8) || secret(32) || tag(16)
//
// encoded as unpadded base64url. The tag is an HMAC under the server's
// refresh secret, so the server can tell its own tokens, of any generation,
// from forgeries without storing them; the store keeps only SHA-256 hashes
// of the current and the previous token.
//
// Every use rotates: presenting the current token (generation N) issues its
// successor (N+1), which becomes the current token, and N becomes its
// predecessor. The successor's secret is an HMAC of the presented token,
// so it can be computed again from that token without storing it.
//
// Rotation is loss-free: until the successor has been used, its
// predecessor stays redeemable, however late, so that a client whose
// answer was lost (the server committed the rotation, then crashed, or the
// network dropped the answer) and that presents its token again keeps its
// session, as in SuperTokens' design:
//
//   - Within the grace window (Config.Grace) after the successor was
//     issued, presenting the predecessor returns that very successor:
//     several browser tabs refreshing at once, or a quick retry, all end
//     up with the same current token.
//   - After the window, presenting the predecessor issues a new successor
//     (still generation N+1, with another secret) that replaces the
//     unused one. The server cannot tell a client that lost its answer
//     from a thief that copied the predecessor, so it gives both a
//     working token and lets the replaced one expose its holder.
//
// Presenting a token once its successor was used (any older generation),
// or a successor that a later one replaced, is a reuse: the whole session
// is revoked, so a stolen refresh token stops working for the thief and
// the victim alike, and the revocation is recorded for the revocation
// feed. Whoever holds a token of the session besides its client is thus
// found out as soon as both have presented their tokens: at once if the
// client had already used the successor, at the next refresh of the one
// whose token was replaced otherwise. That one refresh of delay is the
// price of loss-free rotation; an immediate verdict would have to treat
// every lost answer as a theft.
//
// Authenticate identifies a session by one of its tokens without rotating
// it, for a request the token authorizes by itself (a logout), and judges
// the token as Rotate does: a token Rotate would take for a reuse revokes
// the session there too.
package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/latch-auth/latch/internal/store"
)

// Errors returned by Rotate and End.
var (
	// ErrInvalidToken reports a refresh token that is malformed, forged,
	// unknown, expired or belongs to an ended session. Clients must log in
	// again.
	ErrInvalidToken = errors.New("session: invalid refresh token")
	// ErrReuse reports a refresh token presented after its successor was
	// used, or after a new successor replaced it: someone else holds the
	// session's tokens, and the session has been revoked.
	ErrReuse = errors.New("session: refresh token reuse detected")
	// ErrEnded reports a session that is revoked, expired or unknown.
	ErrEnded = errors.New("session: ended")
	// ErrDPoPProofRequired reports, from RotateBound, a redeemable refresh
	// token of a session bound to a DPoP key presented without a proof of
	// that key (RFC 9449 §5). The session is left as it was.
	ErrDPoPProofRequired = errors.New("session: refresh token is DPoP-bound: a proof of its key is required")
	// ErrDPoPKey reports, from RotateBound, a redeemable refresh token of a
	// session bound to a DPoP key presented with a proof of another key.
	// The session is left as it was.
	ErrDPoPKey = errors.New("session: refresh token is bound to another DPoP key")
	// ErrDisabled is joined to the ErrInvalidToken of a redeemable refresh
	// token whose user is disabled (store.User.Disabled): the rotation
	// ended the session instead (store.ReasonDisabled), in the same
	// transaction, and issued no successor.
	ErrDisabled = errors.New("session: account disabled")
)

// Defaults for Config's zero fields.
const (
	DefaultIdleTimeout = 7 * 24 * time.Hour
	DefaultLifetime    = 30 * 24 * time.Hour
	DefaultGrace       = 10 * time.Second
)

// Config tunes a Manager. Zero fields take the defaults above.
type Config struct {
	// IdleTimeout ends a session not refreshed for this long (sliding
	// expiry).
	IdleTimeout time.Duration
	// Lifetime ends a session this long after login, however active.
	Lifetime time.Duration
	// Grace is how long after a successor is issued its predecessor still
	// yields that same successor (concurrent refreshes). Afterwards, until
	// the successor is used, the predecessor yields a new successor that
	// replaces it; see the package documentation.
	Grace time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store is the storage a Manager uses: the sessions, and RevokeUser of
// store.Users, which ends them all together with the user's access tokens.
type Store interface {
	store.Sessions
	RevokeUser(ctx context.Context, id string, reason store.Reason, at time.Time, endSessions bool, fn func(store.User) (store.User, error)) (store.User, int, error)
}

// Manager starts, rotates and ends sessions. It is safe for concurrent use.
type Manager struct {
	store  Store
	secret []byte
	cfg    Config
}

// SecretSize is the length of the refresh secret New requires.
const SecretSize = 32

// New returns a Manager over st whose tokens are authenticated with secret
// (SecretSize bytes, kept by the keyring, never stored with the sessions).
func New(st Store, secret []byte, cfg Config) (*Manager, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("session: refresh secret must be %d bytes", SecretSize)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{store: st, secret: append([]byte(nil), secret...), cfg: cfg}, nil
}

// IdleTimeout returns the configured idle timeout.
func (m *Manager) IdleTimeout() time.Duration { return m.cfg.IdleTimeout }

// Client describes where a login comes from, for the session list.
type Client struct {
	UserAgent string
	IP        string
	// DPoPJKT is the thumbprint of the DPoP key (RFC 9449) the client
	// proved it holds when the session started; the session's refresh
	// tokens are bound to it (store.Session.DPoPJKT). Empty for none.
	DPoPJKT string
}

// Grant is what a session is for besides its user: the OAuth client it
// is issued to, the browser session it comes from, the scopes granted and
// when the user entered their password (see store.Session). The zero
// Grant is a session of latch's own login API, authenticated now.
type Grant struct {
	ClientID string
	ParentID string
	Scopes   []string
	// AuthTime is when the user last entered their password; zero means
	// now.
	AuthTime time.Time
}

// Start opens a session of latch's own login API for userID, who just
// entered their password, and returns it with its first refresh token.
func (m *Manager) Start(ctx context.Context, userID string, c Client) (store.Session, string, error) {
	return m.StartGrant(ctx, userID, c, Grant{})
}

// StartGrant opens a session for userID with g and returns it with its
// first refresh token.
func (m *Manager) StartGrant(ctx context.Context, userID string, c Client, g Grant) (store.Session, string, error) {
	var id [idLen]byte
	var secret [secretLen]byte
	rand.Read(id[:])
	rand.Read(secret[:])
	tok := m.seal(id, 0, secret)
	now := m.cfg.Now()
	s := store.Session{
		ID:         hex.EncodeToString(id[:]),
		UserID:     userID,
		TokenHash:  hashToken(tok),
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(m.cfg.Lifetime),
		UserAgent:  truncate(c.UserAgent, 256),
		IP:         truncate(c.IP, 64),
		ParentID:   g.ParentID,
		ClientID:   g.ClientID,
		Scopes:     g.Scopes,
		AuthTime:   g.AuthTime,
		DPoPJKT:    c.DPoPJKT,
	}
	if s.AuthTime.IsZero() {
		s.AuthTime = now
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return store.Session{}, "", fmt.Errorf("session: start: %w", err)
	}
	return s, encode(tok), nil
}

// Rotate exchanges a refresh token for its successor and returns the
// updated session: the current token, or its predecessor while the current
// one is unused (see the package documentation). ErrInvalidToken and
// ErrReuse mean the client must log in again; after ErrReuse the session
// is revoked, and so it is after ErrInvalidToken joined with ErrDisabled
// (the session's user is disabled). Other errors (store.ErrBusy, a
// context's) leave the session and the token as they were: the client
// may retry.
func (m *Manager) Rotate(ctx context.Context, token string) (store.Session, string, error) {
	s, _, next, err := m.rotate(ctx, token, nil, nil)
	return s, next, err
}

// RotateFor is Rotate for the sessions of one client (store.Session's
// ClientID; "" for latch's own login API): the token of another client's
// session is ErrInvalidToken, and its session is left as it was, neither
// rotated nor revoked.
func (m *Manager) RotateFor(ctx context.Context, token, clientID string) (store.Session, string, error) {
	s, _, next, err := m.rotate(ctx, token, &clientID, nil)
	return s, next, err
}

// RotateBound is RotateFor for a request that came with a DPoP proof of
// the key whose thumbprint is jkt ("" for none). The token Lookup would
// accept, of a session bound to a DPoP key (store.Session.DPoPJKT), needs
// a proof of that key: without one it is ErrDPoPProofRequired, with
// another key's ErrDPoPKey, and the session is left as it was. The
// binding is checked in the rotation's own transaction, on the session it
// reads anyway: reading the session before the rotation to check it was a
// sixth of a refresh's CPU.
//
// RotateBound also returns the session's user, read in the same
// transaction (store.Sessions.UpdateSessionUser), for the access token
// the refresh issues: a refresh needs the user's current roles, and
// reading them in a transaction of their own took a sixth of its CPU.
func (m *Manager) RotateBound(ctx context.Context, token, clientID, jkt string) (store.Session, store.User, string, error) {
	return m.rotate(ctx, token, &clientID, &jkt)
}

// rotate is Rotate, for the sessions of *clientID when it is not nil,
// and returns the session's user too. The DPoP binding is checked
// against *jkt when it is not nil.
func (m *Manager) rotate(ctx context.Context, token string, clientID, jkt *string) (store.Session, store.User, string, error) {
	tok, err := m.open(token)
	if err != nil {
		return store.Session{}, store.User{}, "", err
	}
	h := hashToken(tok.raw)
	now := m.cfg.Now()
	var successor []byte
	var reuse, disabled bool
	s, u, err := m.store.UpdateSessionUser(ctx, tok.sessionID(), func(s store.Session, u store.User) (store.Session, error) {
		successor, reuse, disabled = nil, false, false
		if jkt != nil && s.DPoPJKT != "" {
			if err := m.checkBinding(s, tok, h, now, *jkt); err != nil {
				return s, err
			}
		}
		v, err := m.judge(s, tok, h, now, clientID)
		if err != nil {
			return s, err
		}
		if u.Disabled && v != standingReuse {
			s.RevokedAt, s.RevokeReason = now, store.ReasonDisabled
			disabled = true
			return s, nil
		}
		switch v {
		case standingCurrent:
			// Its first use rotates it.
			next := m.successor(tok, 0)
			s.PrevHash, s.TokenHash = h, hashToken(next)
			s.Generation++
			s.Reissues = 0
			s.RotatedAt, s.LastUsedAt = now, now
			successor = next
		case standingGrace:
			// Hand out the same successor, which must be the current
			// token.
			next := m.successor(tok, s.Reissues)
			if !hmac.Equal(hashToken(next), s.TokenHash) {
				return s, fmt.Errorf("%w: successor mismatch", ErrInvalidToken)
			}
			successor = next
		case standingLate:
			// Issue a new successor in place of the unused one, whose
			// holder, if it is presented, is then a reuse.
			s.Reissues++
			next := m.successor(tok, s.Reissues)
			s.TokenHash = hashToken(next)
			s.RotatedAt, s.LastUsedAt = now, now
			successor = next
		case standingReuse:
			s.RevokedAt, s.RevokeReason = now, store.ReasonReuse
			reuse = true
		}
		return s, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Session{}, store.User{}, "", fmt.Errorf("%w: no such session", ErrInvalidToken)
	case err != nil:
		if errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrDPoPProofRequired) || errors.Is(err, ErrDPoPKey) {
			return store.Session{}, store.User{}, "", err
		}
		return store.Session{}, store.User{}, "", fmt.Errorf("session: rotate: %w", err)
	case reuse:
		return store.Session{}, store.User{}, "", fmt.Errorf("%w: session %s revoked", ErrReuse, s.ID)
	case disabled:
		return store.Session{}, store.User{}, "", fmt.Errorf("%w: %w: session %s ended", ErrInvalidToken, ErrDisabled, s.ID)
	}
	return s, u, encode(successor), nil
}

// standing is how an authentic refresh token stands in its session
// (judge).
type standing int

const (
	// standingCurrent is the session's current token.
	standingCurrent standing = iota + 1
	// standingGrace is the predecessor of the current token, which is
	// unused (using it would have rotated it), within the grace window:
	// Rotate hands out that same successor.
	standingGrace
	// standingLate is the predecessor of the unused current token after
	// the grace window: a client whose answer was lost, or a copy of its
	// token. Rotate issues a new successor in place of the unused one.
	standingLate
	// standingReuse is a token someone else holds or held: one of an
	// earlier generation that is not the redeemable predecessor (its
	// successor was used, or a reissue replaced it), or one of the
	// current generation that a reissue replaced. Its session must be
	// revoked.
	standingReuse
)

// checkBinding refuses, for RotateBound, the token Lookup accepts (of any
// client) of s, which is bound to a DPoP key, presented with a proof of
// the key whose thumbprint is jkt ("" for none) that is not s's.
func (m *Manager) checkBinding(s store.Session, tok token, h []byte, now time.Time, jkt string) error {
	if v, err := m.judge(s, tok, h, now, nil); err != nil || v == standingReuse {
		return nil // the rotation refuses it, or takes it for a reuse
	}
	switch {
	case jkt == "":
		return ErrDPoPProofRequired
	case subtle.ConstantTimeCompare([]byte(jkt), []byte(s.DPoPJKT)) != 1:
		return ErrDPoPKey
	}
	return nil
}

// judge tells how tok, whose hash is h, stands in s at now. A token of
// another client's session (when clientID is not nil), of an ended or
// expired session, or of the same or a later generation with another
// secret is ErrInvalidToken.
func (m *Manager) judge(s store.Session, tok token, h []byte, now time.Time, clientID *string) (standing, error) {
	switch {
	case clientID != nil && s.ClientID != *clientID:
		return 0, fmt.Errorf("%w: session of another client", ErrInvalidToken)
	case !s.RevokedAt.IsZero():
		return 0, fmt.Errorf("%w: session ended (%s)", ErrInvalidToken, s.RevokeReason)
	case !s.Active(now, m.cfg.IdleTimeout):
		return 0, fmt.Errorf("%w: session expired", ErrInvalidToken)
	case tok.gen == s.Generation && hmac.Equal(h, s.TokenHash):
		return standingCurrent, nil
	case tok.gen+1 == s.Generation && hmac.Equal(h, s.PrevHash) && now.Sub(s.RotatedAt) <= m.cfg.Grace:
		return standingGrace, nil
	case tok.gen+1 == s.Generation && hmac.Equal(h, s.PrevHash):
		return standingLate, nil
	case tok.gen == s.Generation && s.Reissues > 0:
		// An authentic token of the current generation that is not the
		// current token: a successor that a reissue replaced. Its
		// holder and whoever presented the predecessor since both hold
		// the session's tokens. (Without a reissue, such a token could
		// only be forged with the refresh secret: the default case.)
		return standingReuse, nil
	case tok.gen < s.Generation:
		return standingReuse, nil
	default:
		// Same or later generation with another secret: only possible
		// with a leaked refresh secret. Refuse, but do not let a forger
		// end the victim's session.
		return 0, fmt.Errorf("%w: unknown generation", ErrInvalidToken)
	}
}

// Authenticate returns the session of clientID ("" for latch's own login
// API; see RotateFor) that a refresh token belongs to, without rotating
// it, for a request the token authorizes by itself (logging out with
// it), and whether it is the session's current token: false for the
// predecessor of an unused current token, which Rotate still redeems.
//
// It judges the token as Rotate does. A token Rotate would take for a
// reuse is one here too: the session is revoked (store.ReasonReuse) and
// the error is ErrReuse. A malformed, forged, unknown or expired token,
// one of an ended session or of another client's session, is
// ErrInvalidToken and changes nothing. Other errors are the store's.
func (m *Manager) Authenticate(ctx context.Context, token, clientID string) (store.Session, bool, error) {
	tok, err := m.open(token)
	if err != nil {
		return store.Session{}, false, err
	}
	h := hashToken(tok.raw)
	now := m.cfg.Now()
	var v standing
	s, err := m.store.UpdateSession(ctx, tok.sessionID(), func(s store.Session) (store.Session, error) {
		var err error
		if v, err = m.judge(s, tok, h, now, &clientID); err != nil {
			return s, err
		}
		if v == standingReuse {
			s.RevokedAt, s.RevokeReason = now, store.ReasonReuse
		}
		return s, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Session{}, false, fmt.Errorf("%w: no such session", ErrInvalidToken)
	case errors.Is(err, ErrInvalidToken):
		return store.Session{}, false, err
	case err != nil:
		return store.Session{}, false, fmt.Errorf("session: authenticate: %w", err)
	case v == standingReuse:
		return store.Session{}, false, fmt.Errorf("%w: session %s revoked", ErrReuse, s.ID)
	}
	return s, v == standingCurrent, nil
}

// Active returns the session with ID id if it is active, or ErrEnded.
func (m *Manager) Active(ctx context.Context, id string) (store.Session, error) {
	s, err := m.store.SessionByID(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Session{}, ErrEnded
	case err != nil:
		return store.Session{}, fmt.Errorf("session: %w", err)
	case !s.Active(m.cfg.Now(), m.cfg.IdleTimeout):
		return store.Session{}, ErrEnded
	}
	return s, nil
}

// Lookup returns the active session a refresh token belongs to without
// rotating it, for introspection, revocation (RFC 7009) and the checks
// before a rotation: the current token, or its predecessor while the
// current one is unused, the tokens Rotate redeems. Any other token is
// ErrInvalidToken, and Lookup changes nothing: unlike Authenticate, it
// does not take an older token for a reuse.
func (m *Manager) Lookup(ctx context.Context, token string) (store.Session, error) {
	tok, err := m.open(token)
	if err != nil {
		return store.Session{}, err
	}
	s, err := m.store.SessionByID(ctx, tok.sessionID())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Session{}, fmt.Errorf("%w: no such session", ErrInvalidToken)
		}
		return store.Session{}, fmt.Errorf("session: lookup: %w", err)
	}
	if v, err := m.judge(s, tok, hashToken(tok.raw), m.cfg.Now(), nil); err != nil || v == standingReuse {
		return store.Session{}, fmt.Errorf("%w: not the session's token", ErrInvalidToken)
	}
	return s, nil
}

// End revokes one session for reason. Ending an ended session is not an
// error. userID, when not empty, must own the session (ErrInvalidToken
// otherwise), so a user can only end their own sessions.
func (m *Manager) End(ctx context.Context, sessionID, userID string, reason store.Reason) error {
	now := m.cfg.Now()
	_, err := m.store.UpdateSession(ctx, sessionID, func(s store.Session) (store.Session, error) {
		if userID != "" && s.UserID != userID {
			return s, fmt.Errorf("%w: session belongs to another user", store.ErrNotFound)
		}
		if s.RevokedAt.IsZero() {
			s.RevokedAt, s.RevokeReason = now, reason
		}
		return s, nil
	})
	if err != nil {
		return fmt.Errorf("session: end: %w", err)
	}
	return nil
}

// EndAll revokes every active session of the user, optionally keeping one
// (for "log out other devices"), and returns how many it ended. Without
// keep it also revokes every access token issued to the user until now (a
// subject revocation, in the same transaction), since an access token
// outlives the session it came from; ending the user's other sessions
// revokes only their own tokens. An unknown user is store.ErrNotFound.
func (m *Manager) EndAll(ctx context.Context, userID, keep string, reason store.Reason) (int, error) {
	if keep == "" {
		_, n, err := m.store.RevokeUser(ctx, userID, reason, m.cfg.Now(), true, nil)
		if err != nil {
			return 0, fmt.Errorf("session: end all: %w", err)
		}
		return n, nil
	}
	list, err := m.store.ListSessions(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("session: end others: %w", err)
	}
	n := 0
	for _, s := range list {
		if s.ID == keep {
			continue
		}
		if err := m.End(ctx, s.ID, userID, reason); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// List returns the user's active sessions, newest first.
func (m *Manager) List(ctx context.Context, userID string) ([]store.Session, error) {
	all, err := m.store.ListSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	now := m.cfg.Now()
	active := all[:0]
	for _, s := range all {
		if s.Active(now, m.cfg.IdleTimeout) {
			active = append(active, s)
		}
	}
	return active, nil
}

// Token layout.
const (
	version   = 1
	idLen     = 16
	genLen    = 8
	secretLen = 32
	tagLen    = 16
	tokenLen  = 1 + idLen + genLen + secretLen + tagLen
)

// EncodedLen is the length of a refresh token string.
var EncodedLen = base64.RawURLEncoding.EncodedLen(tokenLen)

// token is a decoded, authenticated refresh token.
type token struct {
	raw []byte
	id  [idLen]byte
	gen int64
}

func (t token) sessionID() string { return hex.EncodeToString(t.id[:]) }

// seal builds the raw token for the given parts, tag included.
func (m *Manager) seal(id [idLen]byte, gen int64, secret [secretLen]byte) []byte {
	raw := make([]byte, 0, tokenLen)
	raw = append(raw, version)
	raw = append(raw, id[:]...)
	raw = binary.BigEndian.AppendUint64(raw, uint64(gen))
	raw = append(raw, secret[:]...)
	return append(raw, m.mac("tag", raw)[:tagLen]...)
}

// open decodes and authenticates a token string.
func (m *Manager) open(s string) (token, error) {
	if len(s) != EncodedLen {
		return token{}, fmt.Errorf("%w: wrong length", ErrInvalidToken)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) != tokenLen || raw[0] != version {
		return token{}, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	body, tag := raw[:tokenLen-tagLen], raw[tokenLen-tagLen:]
	if !hmac.Equal(m.mac("tag", body)[:tagLen], tag) {
		return token{}, fmt.Errorf("%w: not issued by this server", ErrInvalidToken)
	}
	t := token{raw: raw}
	copy(t.id[:], raw[1:1+idLen])
	gen := binary.BigEndian.Uint64(raw[1+idLen:])
	if gen > 1<<62 {
		return token{}, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	t.gen = int64(gen)
	return t, nil
}

// successor derives the token that follows t, the reissue-th issued for
// it (0 for the first; see store.Session.Reissues).
func (m *Manager) successor(t token, reissue int) []byte {
	data := t.raw
	if reissue > 0 {
		// t.raw has a fixed length, so the count that follows it is
		// unambiguous; the first successor keeps the derivation it has
		// always had.
		data = binary.BigEndian.AppendUint64(append([]byte(nil), t.raw...), uint64(reissue))
	}
	var secret [secretLen]byte
	copy(secret[:], m.mac("next", data))
	return m.seal(t.id, t.gen+1, secret)
}

// mac is HMAC-SHA256 under the refresh secret with a purpose label.
func (m *Manager) mac(purpose string, data []byte) []byte {
	h := hmac.New(sha256.New, m.secret)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}

func hashToken(raw []byte) []byte {
	sum := sha256.Sum256(raw)
	return sum[:]
}

func encode(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// truncate returns s cut to at most n bytes, as valid UTF-8 without NUL
// or other control characters: what a client sends as its User-Agent is
// shown on the account page and stored as text, which PostgreSQL refuses
// with a NUL or invalid UTF-8 in it.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	s = strings.ToValidUTF8(s, "")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
