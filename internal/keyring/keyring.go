// Package keyring runs the lifecycle of the server's signing keys: it
// creates them, keeps their private halves encrypted at rest, rotates them
// on schedule, and says which key signs now and which keys are published.
//
// A key moves through four states, by its times in the store:
//
//	pending   CreatedAt <= now < ActivateAt: published in the JWKS, not signing
//	active    ActivateAt <= now < RetireAt:  signing (the newest active key of its lifecycle signs)
//	retired   RetireAt <= now < RemoveAt:    published so its tokens still verify
//	removed   RemoveAt <= now:               deleted by Maintain
//
// A rotated-in key is published for PublishAhead (at least the JWKS
// max-age) before it signs anything, so every verifier that honours the
// JWKS Cache-Control already has it; a retired key stays published until
// every token it signed has expired (RetireAt + TokenTTL + a clock-skew
// margin). No token fails to verify during a rotation.
//
// The ring runs two such lifecycles side by side in the same store,
// distinguished by each key's algorithm: access-token keys of
// Config.Algorithm, and ID-token keys of IDTokenAlgorithm (RS256, which
// every OpenID Connect relying party supports). When Config.Algorithm is
// RS256 the two are one: the RS256 keys sign both kinds of token. Rotate,
// Retire, Revoke and Maintain apply the rules above to each lifecycle;
// the JWKS publishes the public keys of both, while the server verifies
// access tokens with the access-token keys only (VerificationKeys), so an
// ID token is never taken for an access token by a key of its own.
//
// Several server nodes may share one store, each with a Ring. Every
// change of the keys is decided under the store's lock on the key set
// (store.Keys.UpdateKeys) from the keys as they are then, so the automatic
// changes are made once however many nodes make them at the same moment:
// Ensure creates a first key only where there is still none, Maintain
// rotates only a lifecycle still due, and Revoke replaces a key only if it
// is not revoked yet and nothing else would sign. Rotate, an operator's
// explicit request, always rotates. New key material is generated outside
// the lock, and dropped when another node was first. A node sees the other
// nodes' changes when it next runs Maintain or Reload; since a new key is
// published PublishAhead (at least JWKSMaxAge plus a minute) before it
// signs, nodes that run Maintain every minute publish it before any of
// them signs with it, whichever node's JWKS a verifier cached.
//
// Private keys are stored as private JWKs sealed with AES-256-GCM under a
// subkey of the master key (HKDF-SHA256), with the key ID as additional
// data, so a sealed key cannot be swapped onto another ID.
package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
)

// Defaults for Config's zero fields.
const (
	DefaultAlgorithm      = jose.ES256
	DefaultRotationPeriod = 30 * 24 * time.Hour
	DefaultJWKSMaxAge     = 15 * time.Minute
	DefaultTokenTTL       = 10 * time.Minute
	// skewMargin is added wherever a key's removal depends on token expiry,
	// for clocks that disagree and verifiers' leeway.
	skewMargin = 5 * time.Minute
)

// IDTokenAlgorithm is the algorithm of the keys that sign OpenID Connect
// ID tokens: RS256, the one every relying party must support (OIDC Core
// §15.1).
const IDTokenAlgorithm = jose.RS256

// Key uses, as Info.Uses and Ring.Uses name them.
const (
	// UseAccess marks a key of the access-token lifecycle.
	UseAccess = "access"
	// UseIDToken marks a key of the ID-token lifecycle.
	UseIDToken = "id_token"
)

// Errors.
var (
	// ErrNoSigningKey reports that no key is active.
	ErrNoSigningKey = errors.New("keyring: no active signing key")
	// ErrUnknownKey reports a key ID the ring does not hold.
	ErrUnknownKey = errors.New("keyring: unknown key")
	// ErrLastKey reports a retirement that would leave nothing to sign with.
	ErrLastKey = errors.New("keyring: refusing to retire the only active key; rotate first")
	// ErrSealed reports a stored key that does not decrypt under the master
	// key (wrong master key, or tampering).
	ErrSealed = errors.New("keyring: cannot decrypt signing key (wrong master key?)")
)

// Config tunes a Ring. Zero fields take the defaults.
type Config struct {
	// Algorithm is used for new access-token keys. Default ES256. Changing
	// it between an HMAC algorithm and a public-key one takes effect with
	// the next rotation; from the moment the new key signs, the server
	// refuses access tokens signed by the old kind of key (see
	// VerificationKeys). ID-token keys are always IDTokenAlgorithm, so
	// which keys sign access tokens depends on it: changing it from RS256
	// to another algorithm makes the RS256 keys ID-token keys at once (the
	// server stops accepting the access tokens they signed, and Ensure
	// creates an access-token key that signs at once), and changing it to
	// RS256 makes them sign access tokens too.
	Algorithm jose.Algorithm
	// RotationPeriod is how long a key signs before Maintain rotates it.
	// Default 30 days; negative disables automatic rotation.
	RotationPeriod time.Duration
	// JWKSMaxAge is the Cache-Control max-age of the JWKS. Default 15 min.
	JWKSMaxAge time.Duration
	// PublishAhead is how long a new key is published before it signs. It
	// is at least JWKSMaxAge plus a minute; that is also the default.
	PublishAhead time.Duration
	// TokenTTL is the longest lifetime of a token the keys sign; retired
	// keys stay published that long (plus a margin). Default 10 min.
	TokenTTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// GenerateKey returns a new private key for an algorithm; nil means
	// jose.GenerateKey. Every key it returns must have a key ID of its
	// own. Tests set it to reuse RSA keys, which are slow to generate.
	GenerateKey func(jose.Algorithm) (*jose.Key, error)
}

func (c *Config) fill() error {
	if c.Algorithm == "" {
		c.Algorithm = DefaultAlgorithm
	}
	if _, err := jose.ParseAlgorithm(string(c.Algorithm)); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if c.RotationPeriod == 0 {
		c.RotationPeriod = DefaultRotationPeriod
	}
	if c.JWKSMaxAge <= 0 {
		c.JWKSMaxAge = DefaultJWKSMaxAge
	}
	if min := c.JWKSMaxAge + time.Minute; c.PublishAhead < min {
		c.PublishAhead = min
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Ring holds the signing keys. It is safe for concurrent use; the hot
// paths (Signer, JWKS, VerificationKeys) read an immutable snapshot.
type Ring struct {
	st   store.Keys
	aead cipher.AEAD
	cfg  Config

	mu      sync.Mutex           // serializes Reload and writes
	decoded map[string]*jose.Key // kid -> decrypted key
	keys    []store.SigningKey   // as last loaded
	snap    atomic.Pointer[snapshot]
}

// snapshot is what the ring looks like from its time until validUntil,
// the next scheduled state change.
type snapshot struct {
	signer     *jose.Key // access tokens
	idSigner   *jose.Key // ID tokens
	verify     *jose.KeySet
	jwks       []byte
	validUntil time.Time
}

// New returns a Ring over st whose private keys are sealed under master.
// It loads the stored keys; call Ensure to create the first one.
func New(ctx context.Context, st store.Keys, master []byte, cfg Config) (*Ring, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	sub, err := derive(master, "signing keys v1")
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	r := &Ring{st: st, aead: aead, cfg: cfg, decoded: map[string]*jose.Key{}}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Config returns the ring's configuration with defaults filled in.
func (r *Ring) Config() Config { return r.cfg }

// Ensure creates, for each lifecycle with no active key (access tokens,
// then ID tokens), a key that signs immediately, and reports whether it
// created any. With no verifier caching a JWKS yet (first start), there is
// nothing to publish ahead for. Of several nodes starting together on an
// empty store, one creates the keys and Ensure reports false on the
// others; only a node whose clock is behind the key's creation time, for
// which that key does not sign yet, creates one of its own, so that it
// can sign at once too.
func (r *Ring) Ensure(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(ctx); err != nil {
		return false, err
	}
	now := r.cfg.Now()
	created, err := r.change(ctx, func(keys []store.SigningKey, f *fresh) (create, update []store.SigningKey, err error) {
		for _, lc := range r.lifecycles() {
			signing := func(k store.SigningKey) bool { return lc.member(k) && activeAt(k, now) }
			if slices.ContainsFunc(keys, signing) || slices.ContainsFunc(create, signing) {
				continue
			}
			create = append(create, f.take(lc.alg, now, now))
		}
		return create, nil, nil
	})
	if err != nil {
		return false, err
	}
	if len(created) == 0 {
		return false, nil
	}
	if err := r.reloadLocked(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// Signer returns the key that signs access tokens now.
func (r *Ring) Signer() (*jose.Key, error) {
	s, err := r.current()
	if err != nil {
		return nil, err
	}
	if s.signer == nil {
		return nil, ErrNoSigningKey
	}
	return s.signer, nil
}

// IDTokenSigner returns the key that signs OpenID Connect ID tokens now,
// an IDTokenAlgorithm key: the newest active one, which is the access
// token signer too when Config.Algorithm is IDTokenAlgorithm.
func (r *Ring) IDTokenSigner() (*jose.Key, error) {
	s, err := r.current()
	if s == nil {
		return nil, err
	}
	if s.idSigner == nil {
		return nil, fmt.Errorf("%w for ID tokens", ErrNoSigningKey)
	}
	return s.idSigner, nil
}

// lifecycle is one sequence of keys that take over from each other.
type lifecycle struct {
	use    string
	alg    jose.Algorithm              // of its new keys
	member func(store.SigningKey) bool // whether a key belongs to it
}

// lifecycles returns the access-token lifecycle and the ID-token one.
// When Config.Algorithm is IDTokenAlgorithm, the second is part of the
// first: a key created for one belongs to the other too.
func (r *Ring) lifecycles() [2]lifecycle {
	return [2]lifecycle{
		{UseAccess, r.cfg.Algorithm, r.isAccess},
		{UseIDToken, IDTokenAlgorithm, isIDToken},
	}
}

// isAccess reports whether k belongs to the access-token lifecycle: every
// key but the ID-token keys, unless those sign access tokens too.
func (r *Ring) isAccess(k store.SigningKey) bool {
	return r.cfg.Algorithm == IDTokenAlgorithm || !isIDToken(k)
}

// isIDToken reports whether k belongs to the ID-token lifecycle.
func isIDToken(k store.SigningKey) bool { return k.Algorithm == string(IDTokenAlgorithm) }

// Uses returns what k signs under the ring's configuration: UseAccess,
// UseIDToken, or both.
func (r *Ring) Uses(k store.SigningKey) []string {
	var uses []string
	for _, lc := range r.lifecycles() {
		if lc.member(k) {
			uses = append(uses, lc.use)
		}
	}
	return uses
}

// activeAt reports whether k can sign at now: created, activated, not
// retired and not revoked.
func activeAt(k store.SigningKey, now time.Time) bool {
	return !now.Before(k.CreatedAt) && !now.Before(k.ActivateAt) && (k.RetireAt.IsZero() || now.Before(k.RetireAt)) &&
		(k.RemoveAt.IsZero() || now.Before(k.RemoveAt)) && k.RevokedAt.IsZero()
}

// VerificationKeys returns the published access-token keys (for HMAC
// keys, the secret) of the signing key's kind, for the server's own
// verification of access tokens it issued. ID-token keys are not in it
// unless they sign access tokens too (Config.Algorithm RS256), when only
// the header "typ" tells an ID token from an access token. A key set
// holds HMAC secrets or public keys, never both (jose.NewKeySet), so
// after Config.Algorithm changes between the two kinds, tokens signed by
// keys of the old kind stop verifying here once a key of the new kind
// signs; clients refresh them. The JWKS still publishes the old public
// keys until they are removed.
func (r *Ring) VerificationKeys() (*jose.KeySet, error) {
	s, err := r.current()
	if err != nil {
		return nil, err
	}
	return s.verify, nil
}

// JWKS returns the published JWK Set, the public keys of both lifecycles,
// and how long clients may cache it. HMAC keys are never published.
func (r *Ring) JWKS() ([]byte, time.Duration, error) {
	s, err := r.current()
	if err != nil {
		return nil, 0, err
	}
	return s.jwks, r.cfg.JWKSMaxAge, nil
}

// current returns the snapshot for now, rebuilding it from the loaded keys
// when a scheduled change has come.
func (r *Ring) current() (*snapshot, error) {
	if s := r.snap.Load(); s != nil && r.cfg.Now().Before(s.validUntil) {
		return s, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.currentLocked()
	if s != nil {
		return s, nil // without a signer: Signer reports it, JWKS need not
	}
	return nil, err
}

func (r *Ring) currentLocked() (*snapshot, error) {
	now := r.cfg.Now()
	if s := r.snap.Load(); s != nil && now.Before(s.validUntil) {
		if s.signer == nil {
			return s, ErrNoSigningKey
		}
		return s, nil
	}
	s, err := r.build(now)
	if err != nil {
		return nil, err
	}
	r.snap.Store(s)
	if s.signer == nil {
		return s, ErrNoSigningKey
	}
	return s, nil
}

// build computes the snapshot at now from r.keys.
func (r *Ring) build(now time.Time) (*snapshot, error) {
	s := &snapshot{validUntil: now.Add(time.Hour)}
	var published []*jose.Key // access-token keys
	var public []*jose.Key
	var signerAt, idSignerAt time.Time
	for _, k := range r.keys {
		for _, t := range []time.Time{k.CreatedAt, k.ActivateAt, k.RetireAt, k.RemoveAt} {
			if t.After(now) && t.Before(s.validUntil) {
				s.validUntil = t
			}
		}
		if now.Before(k.CreatedAt) || (!k.RemoveAt.IsZero() && !now.Before(k.RemoveAt)) || !k.RevokedAt.IsZero() {
			continue
		}
		key := r.decoded[k.ID]
		if key == nil {
			continue
		}
		if r.isAccess(k) {
			published = append(published, key)
		}
		if !key.IsSymmetric() {
			pub, err := key.Public()
			if err != nil {
				return nil, fmt.Errorf("keyring: %w", err)
			}
			public = append(public, pub)
		}
		if !now.Before(k.ActivateAt) && (k.RetireAt.IsZero() || now.Before(k.RetireAt)) {
			if r.isAccess(k) && (s.signer == nil || k.ActivateAt.After(signerAt)) {
				s.signer, signerAt = key, k.ActivateAt
			}
			if isIDToken(k) && (s.idSigner == nil || k.ActivateAt.After(idSignerAt)) {
				s.idSigner, idSignerAt = key, k.ActivateAt
			}
		}
	}
	// A verification set holds HMAC secrets or public keys, never both
	// (jose.NewKeySet): keep the kind new tokens are signed with. Only
	// after Algorithm changes kind does the ring hold access-token keys
	// of both kinds.
	symmetric := isHMAC(r.cfg.Algorithm)
	if s.signer != nil {
		symmetric = s.signer.IsSymmetric()
	}
	published = slices.DeleteFunc(published, func(k *jose.Key) bool { return k.IsSymmetric() != symmetric })
	var err error
	if s.verify, err = jose.NewKeySet(published...); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	pubSet, err := jose.NewKeySet(public...)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if s.jwks, err = pubSet.PublicJWKS(); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return s, nil
}

// isHMAC reports whether alg is one of the HMAC algorithms.
func isHMAC(alg jose.Algorithm) bool {
	return alg == jose.HS256 || alg == jose.HS384 || alg == jose.HS512
}

// Reload reads the keys from the store, for changes made by another node
// or by the CLI.
func (r *Ring) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked(ctx)
}

func (r *Ring) reloadLocked(ctx context.Context) error {
	keys, err := r.st.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("keyring: loading keys: %w", err)
	}
	decoded := make(map[string]*jose.Key, len(keys))
	for _, k := range keys {
		if key := r.decoded[k.ID]; key != nil {
			decoded[k.ID] = key
			continue
		}
		key, err := r.unseal(k)
		if err != nil {
			return err
		}
		decoded[k.ID] = key
	}
	r.keys, r.decoded = keys, decoded
	s, err := r.build(r.cfg.Now())
	if err != nil {
		return err
	}
	r.snap.Store(s)
	return nil
}

// Rotate creates a new access-token key and a new ID-token key (one key
// when Config.Algorithm is IDTokenAlgorithm), and returns the access-token
// key; RotateKeys returns both. Normally a new key is published now and
// starts signing PublishAhead later, when the current key of its
// lifecycle retires. With immediate (for a compromised key) the new keys
// sign at once and the current ones retire now; verifiers that have not
// refetched the JWKS will fetch it on the unknown kid.
//
// Rotate is an operator's explicit request: it rotates even if another
// node rotated a moment ago, and the key that node created then signs
// only until this one activates (never, with immediate). Only the
// automatic changes (Ensure, Maintain, Revoke's replacement) are made once
// across nodes.
func (r *Ring) Rotate(ctx context.Context, immediate bool) (store.SigningKey, error) {
	ks, err := r.RotateKeys(ctx, immediate)
	if err != nil {
		return store.SigningKey{}, err
	}
	return ks[0], nil
}

// RotateKeys is Rotate, returning every key it created: the access-token
// key first, then the ID-token key if it is another key.
func (r *Ring) RotateKeys(ctx context.Context, immediate bool) ([]store.SigningKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(ctx); err != nil {
		return nil, err
	}
	now := r.cfg.Now()
	activate := now.Add(r.cfg.PublishAhead)
	if immediate {
		activate = now
	}
	lcs := r.lifecycles()
	created, err := r.change(ctx, func(keys []store.SigningKey, f *fresh) (create, update []store.SigningKey, err error) {
		create, update = r.rotation(keys, f, lcs[:], now, activate)
		return create, update, nil
	})
	if err != nil {
		return nil, err
	}
	if err := r.reloadLocked(ctx); err != nil {
		return nil, err
	}
	return created, nil
}

// rotation returns the keys that rotate the lifecycles lcs of keys at now:
// for each, a new key signing from activate (none for a lifecycle that a
// key created for an earlier one belongs to), and the keys of the
// lifecycle that would still be signing then, retiring then.
func (r *Ring) rotation(keys []store.SigningKey, f *fresh, lcs []lifecycle, now, activate time.Time) (create, update []store.SigningKey) {
	for _, lc := range lcs {
		if slices.ContainsFunc(create, lc.member) {
			continue
		}
		create = append(create, f.take(lc.alg, now, activate))
		for _, old := range keys {
			if !lc.member(old) || (!old.RetireAt.IsZero() && !old.RetireAt.After(activate)) {
				continue
			}
			update = append(update, r.retired(old, activate))
		}
	}
	return create, update
}

// Retire stops key id from signing now. Its tokens keep verifying until
// they expire, then Maintain removes it. Retiring the only active key of
// a lifecycle, or a pending key that the active one is scheduled to hand
// over to, is refused (ErrLastKey): from now on some key must always sign
// access tokens, and some key ID tokens.
func (r *Ring) Retire(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(ctx); err != nil {
		return err
	}
	now := r.cfg.Now()
	_, err := r.change(ctx, func(keys []store.SigningKey, _ *fresh) (create, update []store.SigningKey, err error) {
		i := slices.IndexFunc(keys, func(k store.SigningKey) bool { return k.ID == id })
		if i < 0 {
			return nil, nil, fmt.Errorf("%w: %q", ErrUnknownKey, id)
		}
		for _, lc := range r.lifecycles() {
			if lc.member(keys[i]) && !signsWithout(members(keys, lc), id, now) {
				return nil, nil, ErrLastKey
			}
		}
		return nil, []store.SigningKey{r.retired(keys[i], now)}, nil
	})
	if err != nil {
		return err
	}
	return r.reloadLocked(ctx)
}

// Revoke revokes key id at once, for a key that is compromised: it leaves
// the JWKS now instead of after its tokens expire, and the store records a
// key revocation in the same transaction, which the revocation feed
// carries to every verifier so that the tokens it signed are refused
// everywhere, not only once verifiers refetch the JWKS. If no other key
// of its lifecycle would be signing from now on, a new key of that
// lifecycle is created with the revocation and signs immediately (as
// Rotate with immediate does), so the server never stops issuing access
// tokens or ID tokens. It returns the replacement key, or the zero
// SigningKey when none was needed. Revoking a revoked key is not an
// error: of several nodes revoking a key at once, one revokes it and
// creates its replacement.
func (r *Ring) Revoke(ctx context.Context, id string) (store.SigningKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(ctx); err != nil {
		return store.SigningKey{}, err
	}
	now := r.cfg.Now()
	created, err := r.change(ctx, func(keys []store.SigningKey, f *fresh) (create, update []store.SigningKey, err error) {
		i := slices.IndexFunc(keys, func(k store.SigningKey) bool { return k.ID == id })
		if i < 0 {
			return nil, nil, fmt.Errorf("%w: %q", ErrUnknownKey, id)
		}
		revoked := keys[i]
		if !revoked.RevokedAt.IsZero() {
			return nil, nil, nil
		}
		// A replacement for one lifecycle may cover the other (when it
		// is part of the first), so each is checked with the keys
		// created so far: at most one is.
		for _, lc := range r.lifecycles() {
			if !lc.member(revoked) || signsWithout(members(slices.Concat(keys, create), lc), id, now) {
				continue
			}
			k := f.take(lc.alg, now, now)
			// A key already scheduled to sign later takes over from
			// the replacement then, as it would have from the revoked
			// key.
			var next time.Time
			for _, p := range keys {
				if lc.member(p) && p.ID != id && p.RevokedAt.IsZero() && p.ActivateAt.After(now) && (next.IsZero() || p.ActivateAt.Before(next)) {
					next = p.ActivateAt
				}
			}
			if !next.IsZero() {
				k = r.retired(k, next)
			}
			create = append(create, k)
		}
		revoked.RevokedAt = now
		revoked.RetireAt, revoked.RemoveAt = now, now
		return create, []store.SigningKey{revoked}, nil
	})
	if err != nil {
		return store.SigningKey{}, err
	}
	if err := r.reloadLocked(ctx); err != nil {
		return store.SigningKey{}, err
	}
	if len(created) == 0 {
		return store.SigningKey{}, nil
	}
	return created[len(created)-1], nil
}

// members returns the keys of lifecycle lc.
func members(keys []store.SigningKey, lc lifecycle) []store.SigningKey {
	var out []store.SigningKey
	for _, k := range keys {
		if lc.member(k) {
			out = append(out, k)
		}
	}
	return out
}

// signsWithout reports whether keys other than id leave no moment from now
// on without an active key: a key scheduled to retire when id activates
// does not count as a replacement for id.
func signsWithout(keys []store.SigningKey, id string, now time.Time) bool {
	for t := now; ; {
		next := t
		for _, k := range keys {
			if k.ID == id || t.Before(k.ActivateAt) || (!k.RetireAt.IsZero() && !t.Before(k.RetireAt)) {
				continue
			}
			if k.RetireAt.IsZero() {
				return true
			}
			if k.RetireAt.After(next) {
				next = k.RetireAt
			}
		}
		if !next.After(t) {
			return false
		}
		t = next
	}
}

// Maintain rotates each lifecycle whose newest key has signed for
// RotationPeriod and deletes keys past their removal time. The server
// calls it periodically; it also picks up changes made by other nodes. Of
// several nodes due to rotate a lifecycle at the same moment, one does:
// the others find the new key scheduled and leave it be.
func (r *Ring) Maintain(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(ctx); err != nil {
		return err
	}
	now := r.cfg.Now()
	deleted := false
	for _, k := range r.keys {
		if !k.RemoveAt.IsZero() && !now.Before(k.RemoveAt) {
			if err := r.st.DeleteKey(ctx, k.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("keyring: removing key: %w", err)
			}
			deleted = true
		}
	}
	if deleted {
		if err := r.reloadLocked(ctx); err != nil {
			return err
		}
	}
	_, err := r.change(ctx, func(keys []store.SigningKey, f *fresh) (create, update []store.SigningKey, err error) {
		var due []lifecycle
		for _, lc := range r.lifecycles() {
			var newest store.SigningKey
			for _, k := range members(keys, lc) {
				if k.ActivateAt.After(newest.ActivateAt) {
					newest = k
				}
			}
			if r.cfg.RotationPeriod > 0 && newest.ID != "" && !now.Before(newest.ActivateAt.Add(r.cfg.RotationPeriod)) {
				due = append(due, lc)
			}
		}
		create, update = r.rotation(keys, f, due, now, now.Add(r.cfg.PublishAhead))
		return create, update, nil
	})
	if err != nil {
		return err
	}
	return r.reloadLocked(ctx)
}

// Info describes a stored key for listings.
type Info struct {
	store.SigningKey
	State string   // pending, active, signing, retired, expired or revoked
	Uses  []string // UseAccess, UseIDToken or both (Ring.Uses)
}

// List returns every stored key with its state at now.
func (r *Ring) List(ctx context.Context) ([]Info, error) {
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	snap := r.snap.Load()
	out := make([]Info, 0, len(r.keys))
	for _, k := range r.keys {
		state := "active"
		switch {
		case !k.RevokedAt.IsZero():
			state = "revoked"
		case !k.RemoveAt.IsZero() && !now.Before(k.RemoveAt):
			state = "expired"
		case !k.RetireAt.IsZero() && !now.Before(k.RetireAt):
			state = "retired"
		case now.Before(k.ActivateAt):
			state = "pending"
		case snap != nil && (signs(snap.signer, k.ID) || signs(snap.idSigner, k.ID)):
			state = "signing"
		}
		k.Sealed = nil
		out = append(out, Info{SigningKey: k, State: state, Uses: r.Uses(k)})
	}
	return out, nil
}

// signs reports whether signer is the key id.
func signs(signer *jose.Key, id string) bool { return signer != nil && signer.KeyID() == id }

// changeAttempts is how many times change decides under the store's lock
// before it gives up on keys that keep changing.
const changeAttempts = 3

// errShort aborts a change whose decision needs more new keys than were
// generated for it.
var errShort = errors.New("keyring: more new keys needed")

// change makes a change of the stored keys that decide works out from
// them: decide returns the keys to create, taken from f, and the stored
// keys to update. It runs under the store's lock on the key set
// (store.Keys.UpdateKeys), so that what it decides holds against every
// other node's changes, and change returns the keys it created. New keys
// are generated before the lock is taken: decide runs first on r.keys, as
// last loaded, to learn which it takes, and if that decides nothing,
// change is done without taking the lock. If the keys have changed so
// that, under the lock, decide takes keys that were not generated, change
// generates them and decides again. Errors of decide are returned as is.
// The caller holds r.mu.
func (r *Ring) change(ctx context.Context, decide func(keys []store.SigningKey, f *fresh) (create, update []store.SigningKey, err error)) ([]store.SigningKey, error) {
	f := &fresh{}
	keys := r.keys
	for range changeAttempts {
		f.taken = nil
		create, update, err := decide(keys, f)
		if err != nil {
			return nil, err
		}
		if len(create) == 0 && len(update) == 0 {
			return nil, nil
		}
		if err := r.generate(f); err != nil {
			return nil, err
		}
		var created []store.SigningKey
		var decideErr error
		err = r.st.UpdateKeys(ctx, func(current []store.SigningKey) (create, update []store.SigningKey, err error) {
			f.taken = nil
			create, update, decideErr = decide(current, f)
			if decideErr == nil && f.short() {
				keys, decideErr = current, errShort
			}
			if decideErr != nil {
				return nil, nil, decideErr
			}
			created = create
			return create, update, nil
		})
		switch {
		case errors.Is(err, errShort):
			continue
		case decideErr != nil:
			return nil, decideErr
		case err != nil:
			return nil, fmt.Errorf("keyring: storing keys: %w", err)
		}
		for _, k := range created {
			r.decoded[k.ID] = f.decoded[k.ID]
		}
		return created, nil
	}
	return nil, fmt.Errorf("keyring: the stored keys kept changing: %w", store.ErrBusy)
}

// fresh holds the new keys of a change, generated outside the store's
// lock, for its decide function to take.
type fresh struct {
	keys    map[jose.Algorithm][]store.SigningKey // sealed, by algorithm
	decoded map[string]*jose.Key                  // their private keys, by ID
	taken   map[jose.Algorithm]int                // by the current decision
}

// take returns a new key of alg created at now and signing from activate.
// When every key of alg generated so far is taken, it returns one without
// an ID, which the change does not store: it generates one and decides
// again.
func (f *fresh) take(alg jose.Algorithm, now, activate time.Time) store.SigningKey {
	if f.taken == nil {
		f.taken = make(map[jose.Algorithm]int)
	}
	var k store.SigningKey
	if i := f.taken[alg]; i < len(f.keys[alg]) {
		k = f.keys[alg][i]
	}
	f.taken[alg]++
	k.Algorithm, k.CreatedAt, k.ActivateAt = string(alg), now, activate
	return k
}

// short reports whether the current decision took more keys than there
// are.
func (f *fresh) short() bool {
	for alg, n := range f.taken {
		if n > len(f.keys[alg]) {
			return true
		}
	}
	return false
}

// generate generates and seals the keys that f's current decision took
// beyond those it holds.
func (r *Ring) generate(f *fresh) error {
	gen := r.cfg.GenerateKey
	if gen == nil {
		gen = jose.GenerateKey
	}
	for alg, n := range f.taken {
		for len(f.keys[alg]) < n {
			key, err := gen(alg)
			if err != nil {
				return fmt.Errorf("keyring: %w", err)
			}
			if key == nil || key.Algorithm() != alg || !key.IsPrivate() {
				return fmt.Errorf("keyring: generated key is not a private %s key", alg)
			}
			sealed, public, err := r.seal(key)
			if err != nil {
				return err
			}
			if f.keys == nil {
				f.keys, f.decoded = make(map[jose.Algorithm][]store.SigningKey), make(map[string]*jose.Key)
			}
			f.keys[alg] = append(f.keys[alg], store.SigningKey{ID: key.KeyID(), Algorithm: string(alg), Sealed: sealed, Public: public})
			f.decoded[key.KeyID()] = key
		}
	}
	return nil
}

// retired returns k retiring at at (never later than already scheduled)
// and removed once every token it can have signed has expired.
func (r *Ring) retired(k store.SigningKey, at time.Time) store.SigningKey {
	if k.RetireAt.IsZero() || at.Before(k.RetireAt) {
		k.RetireAt = at
	}
	k.RemoveAt = k.RetireAt.Add(r.cfg.TokenTTL + skewMargin)
	return k
}

// seal encrypts key's private JWK and returns it with the public JWK
// (empty for HMAC keys, which are never published).
func (r *Ring) seal(key *jose.Key) (sealed, public []byte, err error) {
	priv, err := key.PrivateJWK()
	if err != nil {
		return nil, nil, fmt.Errorf("keyring: %w", err)
	}
	nonce := make([]byte, r.aead.NonceSize(), r.aead.NonceSize()+len(priv)+r.aead.Overhead())
	rand.Read(nonce)
	sealed = r.aead.Seal(nonce, nonce, priv, []byte(key.KeyID()))
	clear(priv)
	if !key.IsSymmetric() {
		if public, err = key.PublicJWK(); err != nil {
			return nil, nil, fmt.Errorf("keyring: %w", err)
		}
	}
	return sealed, public, nil
}

// unseal decrypts a stored key and checks it is what the record says.
func (r *Ring) unseal(k store.SigningKey) (*jose.Key, error) {
	n := r.aead.NonceSize()
	if len(k.Sealed) < n+r.aead.Overhead() {
		return nil, fmt.Errorf("%w: key %s", ErrSealed, k.ID)
	}
	priv, err := r.aead.Open(nil, k.Sealed[:n], k.Sealed[n:], []byte(k.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: key %s", ErrSealed, k.ID)
	}
	defer clear(priv)
	key, err := jose.ParseJWK(priv, jose.Algorithm(k.Algorithm))
	if err != nil {
		return nil, fmt.Errorf("keyring: stored key %s: %w", k.ID, err)
	}
	if key.KeyID() != k.ID || string(key.Algorithm()) != k.Algorithm {
		return nil, fmt.Errorf("keyring: stored key %s does not match its record", k.ID)
	}
	return key, nil
}
