// Package verifier is what a resource service imports to accept latch
// access tokens: it verifies them locally against the issuer's published
// keys, with no network or database on the request path.
//
//	v, err := verifier.New(ctx, verifier.Config{
//		Issuers: []verifier.Issuer{{
//			Issuer:   "https://auth.example.com",
//			Audience: "orders",
//			JWKSURL:  "https://auth.example.com/.well-known/jwks.json",
//		}},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer v.Close()
//	mux.Handle("GET /orders/", v.Require(verifier.RequireScope("orders:read")(http.HandlerFunc(listOrders))))
//
// with a handler that finds the verified claims in its request:
//
//	func listOrders(w http.ResponseWriter, r *http.Request) {
//		claims, _ := verifier.FromContext(r.Context())
//		fmt.Fprintf(w, "orders of %s", claims.Subject)
//	}
//
// The package example runs this code against a JWKS that an httptest
// server publishes.
//
// Keys. The JWKS is fetched when the Verifier is created and cached as its
// Cache-Control max-age says (within MinCacheAge and MaxCacheAge), then
// refreshed in the background before it expires. A token signed by a key
// the cache does not know triggers one refetch, shared by all concurrent
// requests and at most once per MinRefreshInterval, so a flood of tokens
// with made-up key IDs cannot become a flood of fetches. When the issuer is
// unreachable the last good key set keeps serving (stale-if-error), with a
// warning logged. Static keys (Issuer.Keys) serve tests and air-gapped
// deployments.
//
// Speed. Tokens that verified, with or without a "kid", are kept in a
// bounded cache keyed by a seeded hash of the exact token; a hit compares
// the whole token in constant time and re-checks exp, nbf, issuer and
// audience, so it costs a fraction of a signature check and never accepts
// an expired or altered token. A hit counts only while the issuer's key
// set is the one the token verified against: tokens of a key that leaves
// the JWKS are dropped from the cache. A full cache takes a new token in
// only on its second miss, evicting in constant time a token with fewer
// recent hits, so a miss costs about what it costs with the cache off
// however many distinct tokens arrive, and tokens in use stay cached
// (BENCHMARKS.md).
//
// Revocation. Without more, a token stays valid until it expires, even
// after its user logged out. Give an issuer the service's client
// credentials (Issuer.ClientID and ClientSecret, from `latch client add
// --scope revocations:read`) and the Verifier follows the issuer's
// revocation feed (package revocation): logouts, ended sessions, refresh
// token reuse, password and role changes, disabled users, operator
// revocations and revoked signing keys reach it within milliseconds, and
// every Verify, cache hits included, refuses the tokens they cover with an
// error wrapping revocation.ErrRevoked (the middleware answers 401 "token
// revoked"). The check is a lock-free lookup of a few tens of
// nanoseconds. A feed that has not been current for RevocationStaleAfter
// fails closed (ErrRevocationsStale, 503 from the middleware) unless
// RevocationFailOpen is set; Stats reports its lag and staleness. For the
// few routes that can accept no delay at all, RequireFresh asks the issuer
// about every request (RFC 7662 introspection).
//
// Sender-constrained tokens (DPoP, RFC 9449). A token bound to a client's
// key ("cnf": {"jkt": ...}) is useless to whoever steals it: Require and
// Optional accept it only as `Authorization: DPoP <token>` with a `DPoP`
// proof header signed by that key, for this request's method and URL,
// fresh (Config.DPoP.Window), never seen before (a bounded replay cache
// per issuer) and carrying the token's hash; the same token sent as
// Bearer is refused. Bad proofs are answered 401 `DPoP
// error="invalid_dpop_proof"`. With Config.DPoP.Nonces (DPoPNonces) a
// proof must also carry a nonce the service handed out (RFC 9449 §9):
// every response of Require and Optional carries the current one as
// DPoP-Nonce, and a proof without it is answered 401 `DPoP
// error="use_dpop_nonce"`. DPoPChecker does the same checks for a
// service of its own, and NewDPoPProof makes proofs for a Go client.
//
// Encrypted tokens. An issuer can encrypt the access tokens meant for a
// service to a key of the service's (nested JWTs, RFC 7519 §5.2), so that
// the browser or app carrying them cannot read their claims. The service
// gives its private keys as Config.DecryptionKeys: tokens are then
// decrypted before they are verified, and tokens that are not encrypted
// are refused unless AllowUnencrypted says otherwise. The cache is keyed
// by the token as presented, so a hit skips the decryption as well as the
// signature check.
//
// The checks are jwt's: the algorithm is pinned to the key, issuer,
// audience and exp are mandatory, "typ" must be "at+jwt" unless configured
// otherwise (Config.Type, Config.AnyType), and errors match jwt's kinds
// with errors.Is.
package verifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/latch-auth/latch/internal/base64url"
	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// Defaults for Config's zero fields.
const (
	DefaultMinRefreshInterval = 30 * time.Second
	DefaultMinCacheAge        = time.Minute
	DefaultMaxCacheAge        = 24 * time.Hour
	DefaultFetchTimeout       = 5 * time.Second
	DefaultCacheSize          = 10_000
)

// ErrUnknownIssuer reports a token whose "iss" is none of the configured
// issuers. It also matches jwt.ErrIssuer.
var ErrUnknownIssuer = fmt.Errorf("%w: unknown issuer", jwt.ErrIssuer)

// Issuer is one token issuer a service accepts.
type Issuer struct {
	// Issuer is the exact "iss" value; required.
	Issuer string
	// Audience is the "aud" value this service must find in tokens from
	// this issuer; required.
	Audience string
	// JWKSURL is where the issuer publishes its keys. Exactly one of
	// JWKSURL and Keys must be set.
	JWKSURL string
	// Keys is a fixed set of verification keys instead of a JWKS URL.
	Keys *jose.KeySet

	// ClientID and ClientSecret are this service's credentials at the
	// issuer (`latch client add --scope revocations:read`). Setting them
	// makes the Verifier follow the issuer's revocation feed and refuse
	// revoked tokens within milliseconds of their revocation; see the
	// package documentation. RequireFresh uses them too.
	ClientID, ClientSecret string
	// RevocationsURL is the issuer's revocation feed. Default: Issuer +
	// "/v1/revocations".
	RevocationsURL string
	// IntrospectionURL is the issuer's RFC 7662 endpoint, for
	// RequireFresh. Default: Issuer + "/oauth2/introspect".
	IntrospectionURL string
}

// Config configures a Verifier. Issuers is required; every other zero
// field takes its default.
type Config struct {
	Issuers []Issuer

	// Type is the required header "typ". Default jwt.TypeAccessToken
	// ("at+jwt").
	Type string
	// AnyType accepts tokens whatever their header "typ", or without one;
	// Type is then ignored. Set it only for an issuer that does not type
	// its access tokens: the "typ" check is what keeps an ID token or
	// another JWT of the same issuer and keys from passing as an access
	// token (RFC 8725 §3.11). Type "-" means the same, as it did before
	// AnyType.
	AnyType bool
	// Leeway is the tolerated clock skew; see jwt.ValidatorOptions.
	Leeway time.Duration
	// MaxTokenSize is the largest token accepted; default
	// jose.DefaultMaxTokenSize.
	MaxTokenSize int

	// MinRefreshInterval spaces refetches caused by unknown key IDs and
	// retries after failed fetches. Default 30 s.
	MinRefreshInterval time.Duration
	// MinCacheAge and MaxCacheAge bound how long a fetched JWKS is used,
	// whatever its Cache-Control says. Defaults 1 min and 24 h.
	MinCacheAge, MaxCacheAge time.Duration
	// FetchTimeout bounds each JWKS fetch. Default 5 s.
	FetchTimeout time.Duration
	// HTTPClient fetches the JWKS; default a client with FetchTimeout.
	HTTPClient *http.Client

	// CacheSize is the number of verified tokens kept. Default 10,000;
	// negative disables the cache. When the cache is full, a token is
	// kept from its second miss on, in place of one used less recently.
	CacheSize int

	// RevocationStaleAfter is how long an issuer's revocation feed may go
	// without being known current (heartbeats arrive every 10 s) before
	// the staleness policy applies. Default 1 minute.
	RevocationStaleAfter time.Duration
	// RevocationFailOpen selects the policy for a feed that is not
	// current. By default (false) the Verifier fails closed: it refuses
	// the issuer's tokens with ErrRevocationsStale, because it can no
	// longer tell revoked tokens from valid ones, and a partition between
	// a service and its issuer must not reopen the window revocation
	// closes. Set it where availability matters more: tokens then keep
	// verifying without revocation checks, and the staleness is logged at
	// ERROR and reported by Stats. Either way a stale feed lasts at most
	// until the issuer answers again.
	RevocationFailOpen bool

	// StartOffline makes New return without waiting for the issuers: a
	// service may start before its issuer. JWKS fetches (and the
	// revocation feed) are retried in the background, and until they
	// succeed tokens are refused (jwt.ErrUnknownKey, or
	// ErrRevocationsStale). By default New fails fast instead, so that a
	// misconfigured service does not start only to refuse every request.
	StartOffline bool

	// DPoP configures the checking of DPoP proofs (RFC 9449) that come
	// with DPoP-bound tokens; see Require.
	DPoP DPoPConfig

	// DecryptionKeys are the private keys (or secrets) this service owns
	// for encrypted access tokens: nested JWTs, signed by the issuer and
	// then encrypted to the service (`latch client add --encryption-key`)
	// so that the client carrying them cannot read their claims. With
	// them, Verify decrypts a compact JWE (jwt.Decrypt; the key decides
	// the algorithms) and verifies the signed token inside as any other.
	// A service that says its tokens are encrypted then refuses a signed
	// token that was not (jwt.ErrNotEncrypted): its claims were readable
	// on the way, and anyone who ever saw one could replay it where
	// encryption is expected. AllowUnencrypted relaxes that. Without
	// DecryptionKeys (nil, the default) an encrypted token is refused
	// with jwt.ErrEncrypted. Every key must be able to decrypt.
	DecryptionKeys *jose.EncryptionKeySet
	// AllowUnencrypted, with DecryptionKeys, accepts plain signed tokens
	// too: for the time a service's issuer moves to encrypted tokens.
	AllowUnencrypted bool

	// Logger receives JWKS fetch and revocation feed problems; nil
	// discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (c *Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// Verifier verifies access tokens. It is safe for concurrent use; Close it
// to stop background refreshes.
type Verifier struct {
	cfg        Config
	userClient *http.Client // Config.HTTPClient as given, nil for the default
	issuers    map[string]*issuerState
	single     *issuerState // the only issuer, when there is one
	cache      *tokenCache
	dpop       *DPoPChecker
	stop       context.CancelFunc
}

type issuerState struct {
	cfg  Issuer
	src  *keySource
	feed *revocation.Follower // nil without client credentials
	opts jwt.ValidatorOptions
	val  atomic.Pointer[boundValidator]
}

// boundValidator is a jwt.Validator for one key set.
type boundValidator struct {
	keys *jose.KeySet
	v    *jwt.Validator
}

// validator returns a jwt.Validator over keys, reusing the last one built
// while the key set is unchanged.
func (st *issuerState) validator(keys *jose.KeySet) (*jwt.Validator, error) {
	if b := st.val.Load(); b != nil && b.keys == keys {
		return b.v, nil
	}
	v, err := jwt.NewValidator(keys, st.cfg.Issuer, st.cfg.Audience, st.opts)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer %s has no keys", jwt.ErrUnknownKey, st.cfg.Issuer)
	}
	st.val.Store(&boundValidator{keys: keys, v: v})
	return v, nil
}

// New returns a Verifier. It fetches every configured JWKS, and waits
// until every configured revocation feed has caught up, before returning,
// so that a service that starts without reaching its issuer fails fast
// instead of refusing every request; Config.StartOffline lets it start
// anyway.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("verifier: at least one issuer is required")
	}
	if cfg.Type == "" {
		cfg.Type = jwt.TypeAccessToken
	}
	if cfg.MinRefreshInterval <= 0 {
		cfg.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if cfg.MinCacheAge <= 0 {
		cfg.MinCacheAge = DefaultMinCacheAge
	}
	if cfg.MaxCacheAge <= 0 {
		cfg.MaxCacheAge = DefaultMaxCacheAge
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	userClient := cfg.HTTPClient
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.FetchTimeout}
	}
	if cfg.RevocationStaleAfter <= 0 {
		cfg.RevocationStaleAfter = DefaultRevocationStaleAfter
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DecryptionKeys != nil {
		if len(cfg.DecryptionKeys.Keys()) == 0 {
			return nil, errors.New("verifier: DecryptionKeys is empty")
		}
		for _, k := range cfg.DecryptionKeys.Keys() {
			if !k.CanDecrypt() {
				return nil, fmt.Errorf("verifier: decryption key %q is a public key: decryption needs the private key", k.KeyID())
			}
		}
	}
	v := &Verifier{cfg: cfg, userClient: userClient, issuers: make(map[string]*issuerState, len(cfg.Issuers))}
	dcfg := cfg.DPoP
	if dcfg.Now == nil {
		dcfg.Now = cfg.Now
	}
	v.dpop = NewDPoPChecker(dcfg)
	if cfg.CacheSize > 0 {
		v.cache = newTokenCache(cfg.CacheSize)
	}
	typ := cfg.Type
	if cfg.AnyType || typ == "-" {
		typ = ""
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	v.stop = stop
	for _, iss := range cfg.Issuers {
		switch {
		case iss.Issuer == "" || iss.Audience == "":
			stop()
			return nil, errors.New("verifier: every issuer needs Issuer and Audience")
		case (iss.JWKSURL == "") == (iss.Keys == nil):
			stop()
			return nil, fmt.Errorf("verifier: issuer %s needs exactly one of JWKSURL and Keys", iss.Issuer)
		case v.issuers[iss.Issuer] != nil:
			stop()
			return nil, fmt.Errorf("verifier: issuer %s configured twice", iss.Issuer)
		}
		st := &issuerState{cfg: iss, opts: jwt.ValidatorOptions{
			Leeway: cfg.Leeway, Type: typ, MaxTokenSize: cfg.MaxTokenSize, Now: cfg.Now,
		}}
		if iss.Keys != nil {
			st.src = staticSource(iss.Keys)
		} else {
			st.src = &keySource{url: iss.JWKSURL, client: cfg.HTTPClient, cfg: &v.cfg,
				log: cfg.Logger.With("issuer", iss.Issuer), life: bg}
			if v.cache != nil {
				st.src.onChange = func(old, _ *jose.KeySet) { v.cache.purge(old) }
			}
			if cfg.StartOffline {
				go st.src.runOffline(bg)
			} else {
				if err := st.src.refresh(ctx); err != nil {
					stop()
					return nil, fmt.Errorf("verifier: issuer %s: %w", iss.Issuer, err)
				}
				go st.src.run(bg)
			}
		}
		if err := v.follow(bg, st); err != nil {
			stop()
			return nil, err
		}
		v.issuers[iss.Issuer] = st
		go v.watchStaleness(bg, st)
	}
	if !cfg.StartOffline {
		for _, st := range v.issuers {
			if err := v.waitFeed(ctx, st); err != nil {
				stop()
				return nil, err
			}
		}
	}
	if len(v.issuers) == 1 {
		for _, st := range v.issuers {
			v.single = st
		}
	}
	return v, nil
}

// Close stops the background JWKS refreshes and revocation feeds, and
// cancels fetches in flight. Closing a zero Verifier, or one twice, does
// nothing.
func (v *Verifier) Close() {
	if v.stop != nil {
		v.stop()
	}
}

// Verify checks token and returns its claims. Errors match the jwt
// package's kinds (jwt.ErrExpired, jwt.ErrSignature, jwt.ErrAudience,
// ...), revocation.ErrRevoked for a token its issuer's feed revoked, and
// ErrRevocationsStale; for encrypted tokens (Config.DecryptionKeys),
// jwt.ErrDecryption (one error whatever failed inside), jwt.ErrEncrypted
// and jwt.ErrNotEncrypted. The returned claims share memory with the
// cache: do not modify their slices.
func (v *Verifier) Verify(ctx context.Context, token string) (jwt.Claims, error) {
	now := v.cfg.now()
	var h uint64 // the token's cache key
	var room bool
	if v.cache != nil {
		h = v.cache.hash(token)
		e, hit, r := v.cache.get(h, token, now)
		room = r
		if hit {
			// The hit's time claims were checked by get; the rest of the
			// validation holds as long as the issuer's key set is the one
			// the token verified against. Revocation may have come since.
			if st := v.issuers[e.claims.Issuer]; st != nil && st.src.current() == e.keys {
				if err := v.checkRevoked(st, e.kid, &e.claims, now); err != nil {
					return jwt.Claims{}, err
				}
				return e.claims, nil
			}
		}
	}
	// signed is the signed JWT: token itself, or what it encrypts.
	signed, err := v.signedToken(token)
	if err != nil {
		return jwt.Claims{}, err
	}
	st, err := v.issuerFor(signed)
	if err != nil {
		return jwt.Claims{}, err
	}
	keys := st.src.current()
	hdr, claims, err := st.parse(keys, signed)
	if errors.Is(err, jose.ErrUnknownKey) {
		// A token of another issuer is no reason to refetch (with several
		// issuers, issuerFor has already matched "iss").
		if v.single != nil {
			if iss, perr := peekIssuer(signed, v.cfg.MaxTokenSize); perr == nil && iss != st.cfg.Issuer {
				return jwt.Claims{}, ErrUnknownIssuer
			}
		}
		// The key may be new: refetch (rate limited), or use the set
		// another request's refetch brought meanwhile.
		st.src.refreshUnknown(ctx)
		if now := st.src.current(); now != keys {
			keys = now
			hdr, claims, err = st.parse(keys, signed)
		}
	}
	if err != nil {
		return jwt.Claims{}, err
	}
	if err := v.checkRevoked(st, hdr.KeyID, &claims, now); err != nil {
		return jwt.Claims{}, err
	}
	if v.cache != nil && v.cache.admit(h, room) {
		// A token without "kid" is cached too: its key was found by
		// algorithm in keys, and a hit is used only while keys is the
		// issuer's current set, exactly as for one with a kid.
		e := &cacheEntry{token: token, kid: hdr.KeyID, keys: keys, claims: claims, expires: claims.ExpiresAt}
		if !claims.NotBefore.IsZero() {
			e.notBefore = claims.NotBefore.Add(-v.leeway())
		}
		v.cache.put(h, e, now)
	}
	return claims, nil
}

// signedToken applies the encryption policy (Config.DecryptionKeys) to
// token and returns the signed JWT to verify: token itself, or the one a
// nested token encrypts.
func (v *Verifier) signedToken(token string) (string, error) {
	switch {
	case strings.Count(token, ".") == 4:
		if v.cfg.DecryptionKeys == nil {
			return "", fmt.Errorf("%w (a JWE): this service has no key to decrypt it", jwt.ErrEncrypted)
		}
		_, signed, err := jwt.Decrypt(token, v.cfg.DecryptionKeys, jose.DecryptOptions{MaxTokenSize: v.cfg.MaxTokenSize})
		return signed, err
	case v.cfg.DecryptionKeys != nil && !v.cfg.AllowUnencrypted:
		return "", fmt.Errorf("%w: this service accepts only encrypted (nested) tokens", jwt.ErrNotEncrypted)
	}
	return token, nil
}

func (st *issuerState) parse(keys *jose.KeySet, token string) (jose.Header, jwt.Claims, error) {
	val, err := st.validator(keys)
	if err != nil {
		return jose.Header{}, jwt.Claims{}, err
	}
	return val.ParseWithHeader(token)
}

// issuerFor picks the issuer whose keys should verify token. With several
// issuers it reads the (not yet verified) "iss" claim; the signature and
// the issuer are then checked against that issuer's keys and name.
func (v *Verifier) issuerFor(token string) (*issuerState, error) {
	if v.single != nil {
		return v.single, nil
	}
	iss, err := peekIssuer(token, v.cfg.MaxTokenSize)
	if err != nil {
		return nil, err
	}
	st := v.issuers[iss]
	if st == nil {
		return nil, ErrUnknownIssuer
	}
	return st, nil
}

// peekIssuer reads "iss" from an unverified token, strictly. It splits the
// token and decodes the payload as jose does (exactly three segments, the
// decoder jose uses), so that it refuses every token jose would refuse for
// its form: a line break in a segment, say.
func peekIssuer(token string, maxSize int) (string, error) {
	if maxSize <= 0 {
		maxSize = jose.DefaultMaxTokenSize
	}
	if len(token) > maxSize {
		return "", jwt.ErrTooLarge
	}
	_, rest, ok := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.IndexByte(sig, '.') >= 0 {
		return "", fmt.Errorf("%w: not a compact JWS", jwt.ErrMalformed)
	}
	raw, ok := base64url.AppendDecode(nil, payload)
	if !ok {
		return "", fmt.Errorf("%w: payload is not canonical base64url", jwt.ErrMalformed)
	}
	o := strictjson.NewObject(raw)
	for o.Next(raw) {
		if string(o.Name(raw)) == "iss" && o.Value().Kind == strictjson.String {
			return string(strictjson.Unquote(raw, o.Value(), nil)), nil
		}
	}
	if err := o.Err(); err != nil {
		return "", fmt.Errorf("%w: claims: %v", jwt.ErrMalformed, err)
	}
	return "", fmt.Errorf("%w: no iss claim", ErrUnknownIssuer)
}

// bytesOf views s as bytes without copying; callers only read it.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// leeway is the clock skew jwt applies, for the cache's nbf check.
func (v *Verifier) leeway() time.Duration {
	switch {
	case v.cfg.Leeway == 0:
		return jwt.DefaultLeeway
	case v.cfg.Leeway < 0:
		return 0
	}
	return v.cfg.Leeway
}
