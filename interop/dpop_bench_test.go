package interop

// Benchmarks of nested JWTs and DPoP proofs, against go-jose v4 and jwx v3 in the
// same run (see BENCHMARKS.md §7, "Confidential and sender-constrained
// tokens"):
//
//	go test -run '^$' -bench '^Benchmark(Nested|DPoPProof|TokenOptions)$' -benchmem -count 5 | go run ./cmd/benchtable
//
// BenchmarkNested/<variant>/<lib> verifies a nested JWT, the benchmark
// access token (bench_test.go) signed with ES256 and then encrypted, as
// a resource server that owns the decryption key does per request:
// decrypt, verify the signature, check the claims (iss, aud, exp with
// leeway) and read scope and roles.
//   - latch: one jwt.Validator with ValidatorOptions.Decryption, Parse.
//   - go-jose: ParseEncryptedCompact with the one expected key and
//     content algorithm, a "cty" JWT check, Decrypt, then jwt.ParseSigned
//     (ES256 only), Claims, ValidateWithLeeway. go-jose's own nested API,
//     jwt.ParseSignedAndEncrypted, refuses every asymmetric key
//     management algorithm ("asymmetric encryption algorithms not
//     supported for JWT"), ECDH-ES+A256KW included, so its JWE and JWT
//     layers are used one after the other, for both variants alike.
//   - jwx: jwe.Decrypt with the key, then jwt.Parse of the inner JWS with
//     the options of BenchmarkVerify's jwx line.
//
// Variants: ECDH-ES+A256KW-A256GCM (P-256; an ephemeral-static ECDH, a
// key unwrap and AES-GCM per token) and dir-A256GCM (a shared CEK: AES-GCM
// alone).
//
// BenchmarkDPoPProof/ES256/<lib> checks one DPoP proof (RFC 9449 §4.3) of
// a resource request, as a resource server does per request besides the
// token: parse the proof, take the public key from its "jwk" header,
// verify the signature with it, check typ, htm, htu, iat and ath, and
// compute the key's RFC 7638 thumbprint to compare with cnf.jkt.
//   - latch: verifier.DPoPChecker.Check, which also records the proof in
//     its replay cache (the peers have none: the line is the price of
//     replay protection too). The proofs come from a pool of 4096
//     distinct ones, the checker renewed each time the pool wraps.
//   - go-jose: ParseSignedCompact (ES256 only), the embedded JSONWebKey, Verify,
//     encoding/json into a struct, the checks by hand, Thumbprint.
//   - jwx: jws.Parse for the header's JWK, jws.Verify with it,
//     encoding/json, the checks by hand, Thumbprint.
//
// BenchmarkTokenOptions/<option>/latch is the time latch takes to accept
// one request's credentials for each option, with the bytes a client
// sends for them as the custom metric wire-B (the token, plus the proof
// for DPoP): plain-ES256 (Validator.Parse), ES256+DPoP (Parse, then
// DPoPChecker.Check with ath and the jkt comparison), and the nested
// variants above.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	josev4 "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// nestedVariant is one way of encrypting the benchmark token.
type nestedVariant struct {
	name   string
	latch  *jose.EncryptionKey // decryption key
	to     *jose.EncryptionKey // what the issuer encrypts to
	peer   any                 // the peers' decryption key
	alg    josev4.KeyAlgorithm
	jwxAlg jwa.KeyEncryptionAlgorithm
}

func nestedVariants(b *testing.B) []nestedVariant {
	b.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	ep, err := ec.ECDH()
	if err != nil {
		b.Fatal(err)
	}
	ecdhKey, err := jose.NewECDHPrivateKey(jose.ECDHESA256KW, ep)
	if err != nil {
		b.Fatal(err)
	}
	ecdhPub, err := ecdhKey.Public()
	if err != nil {
		b.Fatal(err)
	}
	cek := make([]byte, 32)
	rand.Read(cek)
	dir, err := jose.NewDirectKey(jose.A256GCM, cek)
	if err != nil {
		b.Fatal(err)
	}
	return []nestedVariant{
		{"ECDH-ES+A256KW-A256GCM", ecdhKey, ecdhPub, ec, josev4.ECDH_ES_A256KW, jwa.ECDH_ES_A256KW()},
		{"dir-A256GCM", dir, dir, cek, josev4.DIRECT, jwa.DIRECT()},
	}
}

// nestedToken encrypts the ES256 benchmark token to v (jose.Encrypt
// around jwt.Sign, "cty" JWT).
func nestedToken(b *testing.B, signed string, v nestedVariant) string {
	b.Helper()
	tok, err := jose.Encrypt([]byte(signed), v.to, jose.EncryptOptions{Encryption: jose.A256GCM, ContentType: jwt.ContentTypeJWT})
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// nestedValidator is latch's validator of nested tokens for v.
func nestedValidator(b *testing.B, f *fixture, v nestedVariant) *jwt.Validator {
	b.Helper()
	keys, err := jose.NewEncryptionKeySet(v.latch)
	if err != nil {
		b.Fatal(err)
	}
	val, err := jwt.NewValidator(f.trusted, issuer, audience, jwt.ValidatorOptions{Type: jwt.TypeAccessToken, Leeway: leeway, Decryption: keys})
	if err != nil {
		b.Fatal(err)
	}
	return val
}

// nestedLibs returns, for the nested token of nv, each library's
// per-request verification, by name (latch first).
func nestedLibs(b *testing.B, f *fixture, want accessClaims, token string, nv nestedVariant) ([]string, []func()) {
	check := func(scope string, roles []string) {
		if scope != want.Scope || len(roles) != 2 || roles[1] != "support" {
			b.Fatalf("decoded scope %q roles %q, want %q %q", scope, roles, want.Scope, want.Roles)
		}
	}
	v := nestedValidator(b, f, nv)
	latch := func() {
		c, err := v.Parse(token)
		if err != nil {
			b.Fatal(err)
		}
		check(c.Scope, c.Roles)
	}
	keyAlgs := []josev4.KeyAlgorithm{nv.alg}
	encs := []josev4.ContentEncryption{josev4.A256GCM}
	sigs := []josev4.SignatureAlgorithm{josev4.ES256}
	expected := josejwt.Expected{Issuer: issuer, AnyAudience: josejwt.Audience{audience}}
	goJose := func() {
		obj, err := josev4.ParseEncryptedCompact(token, keyAlgs, encs)
		if err != nil {
			b.Fatal(err)
		}
		if obj.Header.ExtraHeaders[josev4.HeaderContentType] != jwt.ContentTypeJWT {
			b.Fatal("not a nested JWT")
		}
		inner, err := obj.Decrypt(nv.peer)
		if err != nil {
			b.Fatal(err)
		}
		tok, err := josejwt.ParseSigned(string(inner), sigs)
		if err != nil {
			b.Fatal(err)
		}
		var c goJoseClaims
		if err := tok.Claims(f.pub, &c); err != nil {
			b.Fatal(err)
		}
		if err := c.ValidateWithLeeway(expected, leeway); err != nil {
			b.Fatal(err)
		}
		if c.Expiry == nil {
			b.Fatal(errNoExpiry)
		}
		check(c.Scope, c.Roles)
	}
	raw := []byte(token)
	decOpts := []jwe.DecryptOption{jwe.WithKey(nv.jwxAlg, nv.peer)}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKey(jwa.ES256(), f.pub),
		jwxjwt.WithIssuer(issuer),
		jwxjwt.WithAudience(audience),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
		jwxjwt.WithAcceptableSkew(leeway),
	}
	jwx := func() {
		inner, err := jwe.Decrypt(raw, decOpts...)
		if err != nil {
			b.Fatal(err)
		}
		tok, err := jwxjwt.Parse(inner, opts...)
		if err != nil {
			b.Fatal(err)
		}
		var scope string
		if err := tok.Get("scope", &scope); err != nil {
			b.Fatal(err)
		}
		var rs []any
		if err := tok.Get("roles", &rs); err != nil {
			b.Fatal(err)
		}
		roles := make([]string, len(rs))
		for i, r := range rs {
			roles[i], _ = r.(string)
		}
		check(scope, roles)
	}
	return []string{"latch", "go-jose", "jwx"}, []func(){latch, goJose, jwx}
}

func BenchmarkNested(b *testing.B) {
	f, want, signed := benchToken(b, jose.ES256)
	for _, nv := range nestedVariants(b) {
		token := nestedToken(b, signed, nv)
		names, fns := nestedLibs(b, f, want, token, nv)
		for i, name := range names {
			b.Run(nv.name+"/"+name, func(b *testing.B) {
				for b.Loop() {
					fns[i]()
				}
			})
		}
	}
}

// BenchmarkNestedPaired is BenchmarkNested with the three libraries in
// one loop (see pairedLoop), for ratios that the machine's drift does not
// skew.
func BenchmarkNestedPaired(b *testing.B) {
	f, want, signed := benchToken(b, jose.ES256)
	for _, nv := range nestedVariants(b) {
		token := nestedToken(b, signed, nv)
		b.Run(nv.name, func(b *testing.B) {
			names, fns := nestedLibs(b, f, want, token, nv)
			pairedLoop(b, names, fns)
		})
	}
}

// pairedLoop runs fns (named names) in one b.Loop: each iteration runs a
// block of each, in an order that rotates from one iteration to the
// next, and times the blocks apart, so that drift in the machine's speed
// falls on every side alike (see BenchmarkVerifyPaired). On a loaded
// machine a block now and then loses the CPU for a whole time slice; the
// median block, unlike the mean, is not moved by those. It reports each
// side's median time per operation as <name>-ns/op and its ratio to the
// first side's as <name>/<first>.
func pairedLoop(b *testing.B, names []string, fns []func()) {
	const block = 4
	times := make([][]time.Duration, len(fns))
	for i := 0; b.Loop(); i++ {
		for j := range fns {
			k := (i + j) % len(fns)
			start := time.Now()
			for range block {
				fns[k]()
			}
			times[k] = append(times[k], time.Since(start))
		}
	}
	if len(times[0]) == 0 {
		return
	}
	med := make([]float64, len(fns))
	for k := range times {
		slices.Sort(times[k])
		med[k] = float64(times[k][len(times[k])/2]) / block
	}
	b.ReportMetric(0, "ns/op")
	for k, name := range names {
		b.ReportMetric(med[k], name+"-ns/op")
		if k > 0 {
			b.ReportMetric(med[k]/med[0], name+"/"+names[0])
		}
	}
}

// dpopBench is a DPoP-bound access token and a pool of distinct proofs
// for one resource request.
type dpopBench struct {
	f      *fixture
	token  string
	jkt    string
	proofs []string
	req    verifier.DPoPRequest
}

const (
	dpopBenchURL  = "https://api.example.com/orders"
	dpopBenchPool = 4096
)

func newDPoPBench(b *testing.B) *dpopBench {
	b.Helper()
	f, want, _ := benchToken(b, jose.ES256)
	client, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		b.Fatal(err)
	}
	c := latchBenchClaims(want)
	c.Confirmation.JKT = verifier.Thumbprint(client)
	token, err := jwt.Sign(f.signer, &c, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		b.Fatal(err)
	}
	d := &dpopBench{f: f, token: token, jkt: c.Confirmation.JKT,
		req: verifier.DPoPRequest{Method: "GET", URL: dpopBenchURL, AccessToken: token, Issuer: issuer}}
	for range dpopBenchPool {
		p, err := verifier.NewDPoPProof(client, verifier.DPoPProofClaims{Method: "GET", URL: dpopBenchURL, AccessToken: token})
		if err != nil {
			b.Fatal(err)
		}
		d.proofs = append(d.proofs, p)
	}
	return d
}

// latchCheck returns latch's per-request proof check over the pool: a
// new checker (an empty replay cache) each time the pool wraps.
func (d *dpopBench) latchCheck(b *testing.B) func() {
	var c *verifier.DPoPChecker
	i := 0
	return func() {
		if i%len(d.proofs) == 0 {
			c = verifier.NewDPoPChecker(verifier.DPoPConfig{})
		}
		p, err := c.Check(d.proofs[i%len(d.proofs)], d.req)
		if err != nil {
			b.Fatal(err)
		}
		if p.JKT != d.jkt {
			b.Fatal("proof key is not the token's")
		}
		i++
	}
}

// proofClaims are a proof's claims, for the peers.
type proofClaims struct {
	JTI string `json:"jti"`
	HTM string `json:"htm"`
	HTU string `json:"htu"`
	IAT int64  `json:"iat"`
	ATH string `json:"ath"`
}

var errProof = errors.New("proof refused")

func (c *proofClaims) check(now time.Time, ath string) error {
	if c.JTI == "" || c.HTM != "GET" || c.HTU != dpopBenchURL || c.ATH != ath ||
		c.IAT < now.Add(-verifier.DefaultDPoPWindow).Unix() || c.IAT > now.Add(verifier.DefaultDPoPFutureSkew).Unix() {
		return errProof
	}
	return nil
}

// dpopLibs returns each library's per-request proof check, by name
// (latch first).
func dpopLibs(b *testing.B, d *dpopBench) ([]string, []func()) {
	ath := verifier.AccessTokenHash(d.token)
	algs := []josev4.SignatureAlgorithm{josev4.ES256}
	i := 0
	goJose := func() {
		obj, err := josev4.ParseSignedCompact(d.proofs[i%len(d.proofs)], algs)
		i++
		if err != nil || len(obj.Signatures) != 1 {
			b.Fatal(err)
		}
		h := obj.Signatures[0].Protected
		if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || h.ExtraHeaders[josev4.HeaderType] != verifier.DPoPProofType {
			b.Fatal(errProof)
		}
		payload, err := obj.Verify(h.JSONWebKey)
		if err != nil {
			b.Fatal(err)
		}
		var c proofClaims
		if err := json.Unmarshal(payload, &c); err != nil {
			b.Fatal(err)
		}
		if err := c.check(time.Now(), ath); err != nil {
			b.Fatal(err)
		}
		tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
		if err != nil || base64.RawURLEncoding.EncodeToString(tp) != d.jkt {
			b.Fatal("thumbprint", err)
		}
	}
	j := 0
	jwx := func() {
		raw := []byte(d.proofs[j%len(d.proofs)])
		j++
		msg, err := jws.Parse(raw)
		if err != nil || len(msg.Signatures()) != 1 {
			b.Fatal(err)
		}
		h := msg.Signatures()[0].ProtectedHeaders()
		key, ok := h.JWK()
		typ, _ := h.Type()
		if !ok || typ != verifier.DPoPProofType {
			b.Fatal(errProof)
		}
		if _, private := key.(interface{ D() ([]byte, bool) }); private {
			b.Fatal(errProof)
		}
		payload, err := jws.Verify(raw, jws.WithKey(jwa.ES256(), key))
		if err != nil {
			b.Fatal(err)
		}
		var c proofClaims
		if err := json.Unmarshal(payload, &c); err != nil {
			b.Fatal(err)
		}
		if err := c.check(time.Now(), ath); err != nil {
			b.Fatal(err)
		}
		tp, err := key.Thumbprint(crypto.SHA256)
		if err != nil || base64.RawURLEncoding.EncodeToString(tp) != d.jkt {
			b.Fatal("thumbprint", err)
		}
	}
	return []string{"latch", "go-jose", "jwx"}, []func(){d.latchCheck(b), goJose, jwx}
}

func BenchmarkDPoPProof(b *testing.B) {
	d := newDPoPBench(b)
	for k, name := range []string{"latch", "go-jose", "jwx"} {
		b.Run("ES256/"+name, func(b *testing.B) {
			_, fns := dpopLibs(b, d)
			for b.Loop() {
				fns[k]()
			}
		})
	}
}

// BenchmarkDPoPProofPaired is BenchmarkDPoPProof in one loop (pairedLoop).
func BenchmarkDPoPProofPaired(b *testing.B) {
	d := newDPoPBench(b)
	b.Run("ES256", func(b *testing.B) {
		names, fns := dpopLibs(b, d)
		pairedLoop(b, names, fns)
	})
}

// tokenOptions returns latch's per-request acceptance of each token
// option, by name (plain ES256 first), and the bytes a client sends for
// each.
func tokenOptions(b *testing.B) ([]string, []func(), []int) {
	f, want, signed := benchToken(b, jose.ES256)
	v := f.validator(b)
	names := []string{"plain-ES256"}
	fns := []func(){func() {
		if c, err := v.Parse(signed); err != nil || c.Scope != want.Scope {
			b.Fatal(err)
		}
	}}
	sizes := []int{len(signed)}
	d := newDPoPBench(b)
	dv := d.f.validator(b)
	check := d.latchCheck(b)
	names = append(names, "ES256+DPoP")
	fns = append(fns, func() {
		c, err := dv.Parse(d.token)
		if err != nil || c.Confirmation.JKT != d.jkt {
			b.Fatal(err)
		}
		check()
	})
	sizes = append(sizes, len(d.token)+len(d.proofs[0]))
	for _, nv := range nestedVariants(b) {
		token := nestedToken(b, signed, nv)
		nvv := nestedValidator(b, f, nv)
		names = append(names, "nested-"+nv.name)
		fns = append(fns, func() {
			if c, err := nvv.Parse(token); err != nil || c.Scope != want.Scope {
				b.Fatal(err)
			}
		})
		sizes = append(sizes, len(token))
	}
	return names, fns, sizes
}

func BenchmarkTokenOptions(b *testing.B) {
	names, fns, sizes := tokenOptions(b)
	for k, name := range names {
		b.Run(name+"/latch", func(b *testing.B) {
			for b.Loop() {
				fns[k]()
			}
			b.ReportMetric(float64(sizes[k]), "wire-B")
		})
	}
}

// BenchmarkTokenOptionsPaired is BenchmarkTokenOptions in one loop
// (pairedLoop): each option's time over plain ES256's.
func BenchmarkTokenOptionsPaired(b *testing.B) {
	b.Run("latch", func(b *testing.B) {
		names, fns, _ := tokenOptions(b)
		pairedLoop(b, names, fns)
	})
}

// TestTokenOptionSizes logs the sizes BenchmarkTokenOptions reports, and
// checks the obvious: encryption and a proof cost bytes, nested tokens
// stay within the verifier's default limit.
func TestTokenOptionSizes(t *testing.T) {
	f := newFixture(t, jose.ES256)
	lc := latchBenchClaims(benchClaims(t))
	signed, err := jwt.Sign(f.signer, &lc, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ep, _ := ec.ECDH()
	k, err := jose.NewECDHPrivateKey(jose.ECDHESA256KW, ep)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := k.Public()
	nested, err := jose.Encrypt([]byte(signed), pub, jose.EncryptOptions{Encryption: jose.A256GCM, ContentType: jwt.ContentTypeJWT})
	if err != nil {
		t.Fatal(err)
	}
	if len(nested) <= len(signed) || len(nested) > jose.DefaultMaxTokenSize {
		t.Errorf("nested token is %d bytes, signed %d: want larger, within %d", len(nested), len(signed), jose.DefaultMaxTokenSize)
	}
	t.Logf("plain ES256 %d B, nested ECDH-ES+A256KW/A256GCM %d B (+%s%%)", len(signed), len(nested),
		strconv.FormatFloat(100*float64(len(nested)-len(signed))/float64(len(signed)), 'f', 0, 64))
}
