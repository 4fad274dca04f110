package verifier

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// DPoPProofType is the "typ" header of a DPoP proof (RFC 9449 §4.2).
const DPoPProofType = "dpop+jwt"

// The errors of DPoP (RFC 9449). Each wraps more detail.
var (
	// ErrDPoPProof reports a missing, malformed or invalid DPoP proof:
	// wrong "typ", a symmetric or unknown "alg", a "jwk" that holds a
	// private key, a bad signature, "htm" or "htu" that do not match the
	// request, "iat" outside the window, a replayed "jti", or an "ath"
	// that is not the access token's hash. The wire error is
	// invalid_dpop_proof (RFC 9449 §7.1).
	ErrDPoPProof = errors.New("verifier: invalid DPoP proof")
	// ErrDPoPReplay reports a proof whose "jti" was seen before; it
	// matches ErrDPoPProof.
	ErrDPoPReplay = fmt.Errorf("%w: proof replayed", ErrDPoPProof)
	// ErrDPoPBinding reports an access token used against its binding: a
	// DPoP-bound token ("cnf.jkt") presented as a Bearer token or with a
	// proof of another key, or an unbound token presented with the DPoP
	// scheme (RFC 9449 §7.1, §7.2). The wire error is invalid_token.
	ErrDPoPBinding = errors.New("verifier: token used against its DPoP binding")
	// ErrDPoPNonce reports a proof without the nonce the server requires
	// (RFC 9449 §8); the wire error is use_dpop_nonce.
	ErrDPoPNonce = errors.New("verifier: DPoP nonce required")
)

// DefaultDPoPWindow is how long ago a proof's "iat" may be, by default.
const DefaultDPoPWindow = 60 * time.Second

// DefaultDPoPFutureSkew is how far ahead of now a proof's "iat" may be,
// for a client whose clock runs fast, by default.
const DefaultDPoPFutureSkew = 5 * time.Second

// DefaultDPoPReplayEntries is how many proofs the replay cache remembers
// per issuer by default (about 4 MiB).
const DefaultDPoPReplayEntries = 1 << 16

// maxDPoPProofSize bounds a proof, as jose bounds tokens.
const maxDPoPProofSize = 8 << 10

// DPoPConfig configures DPoP proof checking. The zero value applies the
// defaults.
type DPoPConfig struct {
	// Window is how long ago a proof's "iat" may be (RFC 9449 §11.1).
	// Default DefaultDPoPWindow.
	Window time.Duration
	// FutureSkew is how far ahead of now a proof's "iat" may be, for
	// clients whose clocks run fast; at most Window. Default
	// DefaultDPoPFutureSkew. It bounds how far ahead a flood of proofs
	// can date itself, and so what it takes to push honest proofs out of
	// a full replay cache (see ReplayEntries).
	FutureSkew time.Duration
	// ReplayEntries bounds the replay cache, per issuer: a proof's key
	// and "jti" are remembered (in 16 bytes) until its "iat" leaves
	// Window, when its replay would be refused as too old anyway; expired
	// entries are dropped first. When the cache is full of unexpired
	// entries, a proof newer than the oldest entry evicts it, and a proof
	// no newer than every entry is refused (fail closed): a forgotten
	// proof is never newer than a remembered one, so its replay is
	// refused too, until its "iat" refuses it. Honest clients, whose
	// proofs are new, are still served: filling the cache with proofs
	// newer than theirs takes ReplayEntries valid signatures within
	// FutureSkew. Default DefaultDPoPReplayEntries.
	ReplayEntries int
	// Nonces, when set, makes every proof carry a server-provided nonce
	// (RFC 9449 §8, §9) that Nonces accepts: one handed out in the
	// current period or the one before. A proof without one is refused
	// with a *DPoPNonceError carrying the nonce to retry with; send it as
	// the DPoP-Nonce header. Default none: proofs need no nonce.
	Nonces *DPoPNonces
	// RequestURL returns the URL a request was sent to, for "htu". The
	// default is http or https (as r.TLS says) + r.Host + r.URL.Path; set
	// it behind a proxy that changes the scheme or host.
	RequestURL func(r *http.Request) string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (c *DPoPConfig) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *DPoPConfig) window() time.Duration {
	if c.Window <= 0 {
		return DefaultDPoPWindow
	}
	return c.Window
}

func (c *DPoPConfig) futureSkew() time.Duration {
	f := c.FutureSkew
	if f <= 0 {
		f = DefaultDPoPFutureSkew
	}
	return min(f, c.window())
}

// requestURL is DPoPConfig.RequestURL or its default.
func (c *DPoPConfig) requestURL(r *http.Request) string {
	if c.RequestURL != nil {
		return c.RequestURL(r)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// DPoPProof is a verified DPoP proof.
type DPoPProof struct {
	// JKT is the base64url SHA-256 thumbprint (RFC 7638) of the proof's
	// key: what an access token bound to it carries as "cnf.jkt".
	JKT string
	// ID is the proof's "jti".
	ID string
	// IssuedAt is the proof's "iat".
	IssuedAt time.Time
	// Nonce is the proof's "nonce", if any.
	Nonce string
}

// DPoPChecker checks DPoP proofs (RFC 9449 §4.3) and remembers their
// "jti"s against replay. It is safe for concurrent use. Verifier.Require
// uses one; a server that issues DPoP-bound tokens uses one at its token
// endpoint.
type DPoPChecker struct {
	cfg DPoPConfig

	mu     sync.Mutex
	caches map[string]*replayCache // by issuer ("" for a token endpoint)
}

// NewDPoPChecker returns a DPoPChecker with cfg.
func NewDPoPChecker(cfg DPoPConfig) *DPoPChecker {
	return &DPoPChecker{cfg: cfg, caches: map[string]*replayCache{}}
}

// DPoPRequest is what a proof is checked against.
type DPoPRequest struct {
	Method string // the HTTP method, for "htm"
	URL    string // the request URL, for "htu"; query and fragment are ignored
	// AccessToken, when set, is the token the proof comes with: "ath"
	// must be its hash (RFC 9449 §4.3 step 11).
	AccessToken string
	// Issuer scopes the replay cache: the issuer of AccessToken, or empty
	// at a token endpoint.
	Issuer string
	// Nonce, when set, is the nonce the proof must carry (RFC 9449 §8),
	// in place of DPoPConfig.Nonces.
	Nonce string
}

// Check verifies proof against req, and records its "jti". Errors match
// ErrDPoPProof (ErrDPoPReplay for a replay) or ErrDPoPNonce (a
// *DPoPNonceError).
func (c *DPoPChecker) Check(proof string, req DPoPRequest) (DPoPProof, error) {
	now := c.cfg.now()
	p, err := c.parse(proof, req, now)
	if err != nil {
		return DPoPProof{}, err
	}
	if err := c.record(p, req.Issuer, now); err != nil {
		return DPoPProof{}, err
	}
	return p, nil
}

// record remembers p in the replay cache of issuer; it refuses a replay.
func (c *DPoPChecker) record(p DPoPProof, issuer string, now time.Time) error {
	c.mu.Lock()
	rc := c.caches[issuer]
	if rc == nil {
		n := c.cfg.ReplayEntries
		if n <= 0 {
			n = DefaultDPoPReplayEntries
		}
		rc = newReplayCache(n)
		c.caches[issuer] = rc
	}
	c.mu.Unlock()
	return rc.add(p.JKT, p.ID, p.IssuedAt, now, c.cfg.window())
}

// Nonce returns the nonce to hand out now as the DPoP-Nonce header, ""
// without DPoPConfig.Nonces.
func (c *DPoPChecker) Nonce() string {
	if c.cfg.Nonces == nil {
		return ""
	}
	return c.cfg.Nonces.Nonce()
}

// CheckRequest is Check for the proof in r's DPoP header, which must
// appear exactly once, against r's method and URL (DPoPConfig.RequestURL).
func (c *DPoPChecker) CheckRequest(r *http.Request, accessToken, issuer string) (DPoPProof, error) {
	proof, err := ProofFromRequest(r)
	if err != nil {
		return DPoPProof{}, err
	}
	return c.Check(proof, DPoPRequest{Method: r.Method, URL: c.cfg.requestURL(r), AccessToken: accessToken, Issuer: issuer})
}

// ProofFromRequest returns r's DPoP header, which must appear exactly once
// (RFC 9449 §4.3 step 1); a request without one is an error matching
// ErrDPoPProof.
func ProofFromRequest(r *http.Request) (string, error) {
	vs := r.Header.Values("DPoP")
	switch {
	case len(vs) == 0:
		return "", fmt.Errorf("%w: no DPoP header", ErrDPoPProof)
	case len(vs) > 1:
		return "", fmt.Errorf("%w: more than one DPoP header", ErrDPoPProof)
	}
	return vs[0], nil
}

// usesDPoPScheme reports whether r's Authorization header has the DPoP
// scheme.
func usesDPoPScheme(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "DPoP")
}

// HasProof reports whether r carries a DPoP header.
func HasProof(r *http.Request) bool { return len(r.Header.Values("DPoP")) > 0 }

// AccessTokenHash returns "ath" for token: base64url(SHA-256(token))
// (RFC 9449 §4.2).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Thumbprint returns the base64url RFC 7638 SHA-256 thumbprint of k, as
// "cnf.jkt" holds it.
func Thumbprint(k *jose.Key) string {
	return base64.RawURLEncoding.EncodeToString(k.Thumbprint())
}

func proofErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDPoPProof}, args...)...)
}

// parse checks everything but replay, at now.
func (c *DPoPChecker) parse(proof string, req DPoPRequest, now time.Time) (DPoPProof, error) {
	if proof == "" || len(proof) > maxDPoPProofSize {
		return DPoPProof{}, proofErr("empty or too large")
	}
	i := strings.IndexByte(proof, '.')
	if i < 0 {
		return DPoPProof{}, proofErr("not a compact JWS")
	}
	hdr, err := base64.RawURLEncoding.Strict().DecodeString(proof[:i])
	if err != nil {
		return DPoPProof{}, proofErr("header is not base64url")
	}
	var typ, alg string
	var jwk []byte
	o := strictjson.NewObject(hdr)
	for o.Next(hdr) {
		v := o.Value()
		switch string(o.Name(hdr)) {
		case "typ", "alg":
			if v.Kind != strictjson.String {
				return DPoPProof{}, proofErr("header %s is not a string", o.Name(hdr))
			}
			s := string(strictjson.Unquote(hdr, v, nil))
			if string(o.Name(hdr)) == "typ" {
				typ = s
			} else {
				alg = s
			}
		case "jwk":
			if v.Kind != strictjson.ObjectKind {
				return DPoPProof{}, proofErr("header jwk is not an object")
			}
			jwk = v.Raw(hdr)
		}
	}
	if err := o.Err(); err != nil {
		return DPoPProof{}, proofErr("header: %v", err)
	}
	// RFC 9449 §4.3 steps 4-7.
	if typ != DPoPProofType {
		return DPoPProof{}, proofErr("typ is not %s", DPoPProofType)
	}
	a, err := jose.ParseAlgorithm(alg)
	if err != nil || strings.HasPrefix(string(a), "HS") {
		return DPoPProof{}, proofErr("alg must be an asymmetric signature algorithm")
	}
	if jwk == nil {
		return DPoPProof{}, proofErr("header has no jwk")
	}
	key, err := jose.ParseJWK(jwk, a)
	if err != nil {
		return DPoPProof{}, proofErr("jwk: %v", err)
	}
	if key.IsPrivate() || key.IsSymmetric() {
		return DPoPProof{}, proofErr("jwk must be a public key")
	}
	keys, err := jose.NewKeySet(key)
	if err != nil {
		return DPoPProof{}, proofErr("jwk: %v", err)
	}
	_, payload, err := jose.Verify(proof, keys, jose.VerifyOptions{MaxTokenSize: maxDPoPProofSize})
	if err != nil {
		return DPoPProof{}, proofErr("%v", err)
	}
	if err := strictjson.Validate(payload); err != nil {
		return DPoPProof{}, proofErr("claims: %v", err)
	}
	var claims struct {
		JTI   *string      `json:"jti"`
		HTM   *string      `json:"htm"`
		HTU   *string      `json:"htu"`
		IAT   *json.Number `json:"iat"`
		ATH   *string      `json:"ath"`
		Nonce string       `json:"nonce"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return DPoPProof{}, proofErr("claims: %v", err)
	}
	if claims.JTI == nil || *claims.JTI == "" || len(*claims.JTI) > 256 || claims.HTM == nil || claims.HTU == nil || claims.IAT == nil {
		return DPoPProof{}, proofErr("jti, htm, htu and iat are required")
	}
	if *claims.HTM != req.Method {
		return DPoPProof{}, proofErr("htm does not match the request method")
	}
	if !SameHTU(*claims.HTU, req.URL) {
		return DPoPProof{}, proofErr("htu does not match the request URL")
	}
	iat, err := claims.IAT.Float64()
	if err != nil {
		return DPoPProof{}, proofErr("iat is not a number")
	}
	issued := time.Unix(int64(iat), 0)
	if issued.Before(now.Add(-c.cfg.window())) || issued.After(now.Add(c.cfg.futureSkew())) {
		return DPoPProof{}, proofErr("iat is outside the accepted window")
	}
	// RFC 9449 §4.3 step 10, §8, §9.
	switch n := c.cfg.Nonces; {
	case req.Nonce != "":
		if subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(req.Nonce)) != 1 {
			return DPoPProof{}, &DPoPNonceError{Nonce: req.Nonce}
		}
	case n != nil:
		if !n.Valid(claims.Nonce) {
			return DPoPProof{}, &DPoPNonceError{Nonce: n.Nonce()}
		}
	}
	if req.AccessToken != "" {
		want := AccessTokenHash(req.AccessToken)
		if claims.ATH == nil || subtle.ConstantTimeCompare([]byte(*claims.ATH), []byte(want)) != 1 {
			return DPoPProof{}, proofErr("ath is not the access token's hash")
		}
	}
	return DPoPProof{JKT: Thumbprint(key), ID: *claims.JTI, IssuedAt: issued, Nonce: claims.Nonce}, nil
}

// SameHTU reports whether a proof's "htu" names the request URL u: the
// same scheme, host and path after RFC 3986 §6.2.2 normalisation (case of
// scheme and host, default port, percent-encoding case, unreserved
// characters decoded, empty path as "/"), with query and fragment ignored
// (RFC 9449 §4.3 step 9).
func SameHTU(htu, u string) bool {
	a, ok1 := normalizeHTU(htu)
	b, ok2 := normalizeHTU(u)
	return ok1 && ok2 && a == b
}

func normalizeHTU(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	path := normalizePath(u.EscapedPath())
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// normalizePath upper-cases percent-encodings and decodes those of
// unreserved characters (RFC 3986 §6.2.2.1, §6.2.2.2).
func normalizePath(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			h := strings.ToUpper(p[i+1 : i+3])
			var c byte
			if _, err := fmt.Sscanf(h, "%02X", &c); err == nil && isUnreserved(c) {
				b.WriteByte(c)
			} else {
				b.WriteString("%" + h)
			}
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// CheckBinding checks token, verified with claims, against how r
// presented it (RFC 9449 §7.1): with `Authorization: DPoP`, the token must
// be bound ("cnf.jkt") and r must carry a valid proof (CheckRequest, with
// "ath") by the key the token is bound to; presented any other way, the
// token must not be bound. Errors match ErrDPoPBinding, ErrDPoPProof or
// ErrDPoPNonce.
func (c *DPoPChecker) CheckBinding(r *http.Request, token string, claims *jwt.Claims) error {
	jkt := claims.Confirmation.JKT
	if !usesDPoPScheme(r) {
		if jkt != "" {
			return fmt.Errorf("%w: DPoP-bound token presented without DPoP", ErrDPoPBinding)
		}
		return nil
	}
	if jkt == "" {
		return fmt.Errorf("%w: token is not DPoP-bound", ErrDPoPBinding)
	}
	proof, err := ProofFromRequest(r)
	if err != nil {
		return err
	}
	// The proof is recorded against replay only once it is known to be
	// by the token's key: proofs of other keys, which anyone can sign,
	// take no room in the replay cache here.
	now := c.cfg.now()
	p, err := c.parse(proof, DPoPRequest{Method: r.Method, URL: c.cfg.requestURL(r), AccessToken: token}, now)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(p.JKT), []byte(jkt)) != 1 {
		return fmt.Errorf("%w: proof key is not the token's key", ErrDPoPBinding)
	}
	return c.record(p, claims.Issuer, now)
}

// DPoPProofClaims are the claims of a new DPoP proof.
type DPoPProofClaims struct {
	Method      string    // "htm"
	URL         string    // "htu"; query and fragment are dropped
	AccessToken string    // when set, "ath" is its hash
	Nonce       string    // "nonce", when the server asked for one
	IssuedAt    time.Time // "iat"; zero means now
	ID          string    // "jti"; empty means 16 random bytes
}

// NewDPoPProof returns a DPoP proof (RFC 9449 §4.2) signed by key, a
// private asymmetric key, with its public JWK in the header: what a client
// sends in the DPoP header.
func NewDPoPProof(key *jose.Key, c DPoPProofClaims) (string, error) {
	if key == nil || !key.IsPrivate() || key.IsSymmetric() {
		return "", fmt.Errorf("%w: a DPoP proof needs a private asymmetric key", jose.ErrInvalidKey)
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.ID == "" {
		var b [16]byte
		rand.Read(b[:])
		c.ID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	htu := c.URL
	if i := strings.IndexAny(htu, "?#"); i >= 0 {
		htu = htu[:i]
	}
	body := struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		ATH   string `json:"ath,omitempty"`
		Nonce string `json:"nonce,omitempty"`
	}{c.ID, c.Method, htu, c.IssuedAt.Unix(), "", c.Nonce}
	if c.AccessToken != "" {
		body.ATH = AccessTokenHash(c.AccessToken)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	return jose.Sign(key, payload, jose.SignOptions{Type: DPoPProofType, EmbedJWK: true, OmitKeyID: true})
}
