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
// Every use rotates: the successor's secret is an HMAC of the presented
// token, so it can be computed again from that token. That is what makes
// the concurrent-use grace window work without storing a token: every
// caller presenting the just-rotated token within the window receives the
// very same successor (several browser tabs refreshing at once stay logged
// in). Presenting any older generation, or the previous one after the
// window, is a reuse: the whole session is revoked, so a stolen refresh
// token stops working for the thief and the victim alike, and the
// revocation is recorded for the revocation feed.
package session

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// Errors returned by Rotate and End.
var (
	// ErrInvalidToken reports a refresh token that is malformed, forged,
	// unknown, expired or belongs to an ended session. Clients must log in
	// again.
	ErrInvalidToken = errors.New("session: invalid refresh token")
	// ErrReuse reports a rotated refresh token used again after the grace
	// window: the session has been revoked.
	ErrReuse = errors.New("session: refresh token reuse detected")
	// ErrEnded reports a session that is revoked, expired or unknown.
	ErrEnded = errors.New("session: ended")
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
	// Grace is how long after a rotation the previous token still yields
	// the same successor instead of counting as reuse.
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
}

// Start opens a session for userID and returns it with its first refresh
// token.
func (m *Manager) Start(ctx context.Context, userID string, c Client) (store.Session, string, error) {
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
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return store.Session{}, "", fmt.Errorf("session: start: %w", err)
	}
	return s, encode(tok), nil
}

// Rotate exchanges a refresh token for its successor and returns the
// updated session. ErrInvalidToken and ErrReuse mean the client must log in
// again; after ErrReuse the session is revoked.
func (m *Manager) Rotate(ctx context.Context, token string) (store.Session, string, error) {
	tok, err := m.open(token)
	if err != nil {
		return store.Session{}, "", err
	}
	h := hashToken(tok.raw)
	now := m.cfg.Now()
	var successor []byte
	var reuse bool
	s, err := m.store.UpdateSession(ctx, tok.sessionID(), func(s store.Session) (store.Session, error) {
		successor, reuse = nil, false
		switch {
		case !s.RevokedAt.IsZero():
			return s, fmt.Errorf("%w: session ended (%s)", ErrInvalidToken, s.RevokeReason)
		case !s.Active(now, m.cfg.IdleTimeout):
			return s, fmt.Errorf("%w: session expired", ErrInvalidToken)
		case tok.gen == s.Generation && hmac.Equal(h, s.TokenHash):
			next := m.successor(tok)
			s.PrevHash, s.TokenHash = h, hashToken(next)
			s.Generation++
			s.RotatedAt, s.LastUsedAt = now, now
			successor = next
			return s, nil
		case tok.gen+1 == s.Generation && hmac.Equal(h, s.PrevHash) && now.Sub(s.RotatedAt) <= m.cfg.Grace:
			// A concurrent use of the token just rotated: hand out the
			// same successor, which must be the current token.
			next := m.successor(tok)
			if !hmac.Equal(hashToken(next), s.TokenHash) {
				return s, fmt.Errorf("%w: successor mismatch", ErrInvalidToken)
			}
			successor = next
			return s, nil
		case tok.gen < s.Generation:
			// An authentic token of an earlier generation: it was
			// rotated away, so someone else holds (or held) it.
			s.RevokedAt, s.RevokeReason = now, store.ReasonReuse
			reuse = true
			return s, nil
		default:
			// Same or later generation with another secret: only
			// possible with a leaked refresh secret. Refuse, but do not
			// let a forger end the victim's session.
			return s, fmt.Errorf("%w: unknown generation", ErrInvalidToken)
		}
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Session{}, "", fmt.Errorf("%w: no such session", ErrInvalidToken)
	case err != nil:
		if errors.Is(err, ErrInvalidToken) {
			return store.Session{}, "", err
		}
		return store.Session{}, "", fmt.Errorf("session: rotate: %w", err)
	case reuse:
		return store.Session{}, "", fmt.Errorf("%w: session %s revoked", ErrReuse, s.ID)
	}
	return s, encode(successor), nil
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
// rotating it, for logout with a refresh token and introspection: the
// current token, or the one rotated away within the grace window.
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
	h := hashToken(tok.raw)
	now := m.cfg.Now()
	current := tok.gen == s.Generation && hmac.Equal(h, s.TokenHash)
	// The token just rotated away counts only within the grace window, as
	// in Rotate: afterwards presenting it is a reuse.
	justRotated := tok.gen+1 == s.Generation && hmac.Equal(h, s.PrevHash) && now.Sub(s.RotatedAt) <= m.cfg.Grace
	if !s.Active(now, m.cfg.IdleTimeout) || !(current || justRotated) {
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

// successor derives the token that follows t.
func (m *Manager) successor(t token) []byte {
	var secret [secretLen]byte
	copy(secret[:], m.mac("next", t.raw))
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return string(bytes.ToValidUTF8([]byte(s[:n]), nil))
}
