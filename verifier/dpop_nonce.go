package verifier

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultDPoPNoncePeriod is DPoPNonceConfig.Period's default: a nonce is
// issued for a minute and accepted for up to two.
const DefaultDPoPNoncePeriod = time.Minute

// MinDPoPNonceKeySize is the least size of DPoPNonceConfig.Key, in bytes.
const MinDPoPNonceKeySize = 32

// DPoPNonceConfig configures DPoPNonces.
type DPoPNonceConfig struct {
	// Key keys the nonces: at least MinDPoPNonceKeySize secret bytes.
	// Every server node that must accept the others' nonces uses the
	// same key (derive it from a secret they share); nodes with
	// different keys refuse each other's nonces.
	Key []byte
	// Period is how long one nonce is handed out. A nonce is accepted
	// during its period and the next, so for between Period and twice
	// Period. Default DefaultDPoPNoncePeriod.
	Period time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// DPoPNonces issues and checks server-provided DPoP nonces (RFC 9449 §8
// for an authorization server, §9 for a resource server) without state
// shared between nodes: the nonce of a period is an HMAC-SHA-256 of the
// period's number under Key, so every node with the same key hands out,
// and accepts, the same nonce, and nobody without the key can compute
// one before the server hands it out. A proof signed before its nonce
// existed cannot be made in advance, which is what a nonce is for (RFC
// 9449 §11.2). A nonce is accepted in its own period and the next, so a
// client holding the nonce of the previous response is not refused at a
// period's turn. It is safe for concurrent use.
type DPoPNonces struct {
	key    []byte
	period time.Duration
	now    func() time.Time
	last   atomic.Pointer[nonceWindow] // the nonces of the last period asked for
}

// nonceWindow is a period's nonce and the one before it.
type nonceWindow struct {
	n           int64
	cur, prev   string
	curB, prevB []byte
}

// ErrDPoPNonceKey reports a DPoPNonceConfig.Key shorter than
// MinDPoPNonceKeySize.
var ErrDPoPNonceKey = errors.New("verifier: DPoP nonce key too short")

// NewDPoPNonces returns DPoPNonces for cfg. The error matches
// ErrDPoPNonceKey for a key that is too short.
func NewDPoPNonces(cfg DPoPNonceConfig) (*DPoPNonces, error) {
	if len(cfg.Key) < MinDPoPNonceKeySize {
		return nil, ErrDPoPNonceKey
	}
	if cfg.Period <= 0 {
		cfg.Period = DefaultDPoPNoncePeriod
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &DPoPNonces{key: append([]byte(nil), cfg.Key...), period: cfg.Period, now: cfg.Now}, nil
}

// window returns the nonces of the current period and the one before.
func (n *DPoPNonces) window() *nonceWindow {
	i := n.now().UnixNano() / int64(n.period)
	if w := n.last.Load(); w != nil && w.n == i {
		return w
	}
	w := &nonceWindow{n: i, cur: n.nonceOf(i), prev: n.nonceOf(i - 1)}
	w.curB, w.prevB = []byte(w.cur), []byte(w.prev)
	n.last.Store(w)
	return w
}

// nonceOf is the nonce of period i: 18 bytes of HMAC-SHA-256, base64url
// (24 characters, all of them allowed in a nonce by RFC 9449 §8.1).
func (n *DPoPNonces) nonceOf(i int64) string {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte("latch DPoP nonce v1\x00"))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Nonce returns the nonce to hand out now, as the DPoP-Nonce header.
func (n *DPoPNonces) Nonce() string { return n.window().cur }

// Valid reports whether nonce is the nonce of the current period or of
// the one before; it compares in constant time.
func (n *DPoPNonces) Valid(nonce string) bool {
	w := n.window()
	b := []byte(nonce)
	return subtle.ConstantTimeCompare(b, w.curB)|subtle.ConstantTimeCompare(b, w.prevB) == 1
}

// DPoPNonceError is the error of a proof that lacks the nonce the server
// requires (RFC 9449 §8, §9): none, a wrong one or a stale one. It
// matches ErrDPoPNonce; Nonce is the nonce the client is to retry with,
// which the server sends as the DPoP-Nonce header.
type DPoPNonceError struct {
	// Nonce is the nonce to use, "" when the checker does not know one.
	Nonce string
}

func (e *DPoPNonceError) Error() string {
	return ErrDPoPNonce.Error() + ": proof lacks a current nonce"
}

// Unwrap returns ErrDPoPNonce.
func (e *DPoPNonceError) Unwrap() error { return ErrDPoPNonce }

// setDPoPNonce sets the DPoP-Nonce header of a response of the
// middleware when the verifier requires nonces (RFC 9449 §9: a resource
// server may hand out the next nonce on any response).
func (v *Verifier) setDPoPNonce(w http.ResponseWriter) {
	if n := v.dpop.Nonce(); n != "" {
		w.Header().Set("DPoP-Nonce", n)
	}
}
