package verifier_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/verifier"
)

// dpopFixture is a middleware-protected server, a client DPoP key and a
// token bound to it.
type dpopFixture struct {
	srv       *httptest.Server
	client    *jose.Key // the client's DPoP key
	clientEC  *ecdsa.PrivateKey
	bound     string // an access token bound to client
	unbound   string
	issuerKey *jose.Key
}

func newDPoPFixture(t *testing.T) dpopFixture {
	t.Helper()
	key := newKey(t, jose.ES256, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
	})
	client, clientEC := ecKey(t)
	c := claimsAt(time.Now())
	c.Confirmation.JKT = verifier.Thumbprint(client)
	srv := httptest.NewServer(v.Require(whoami))
	t.Cleanup(srv.Close)
	return dpopFixture{srv: srv, client: client, clientEC: clientEC, bound: mint(t, key, c), unbound: mint(t, key, claimsAt(time.Now())), issuerKey: key}
}

func proof(t *testing.T, key *jose.Key, c verifier.DPoPProofClaims) string {
	t.Helper()
	p, err := verifier.NewDPoPProof(key, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signRawProof signs a proof with an arbitrary header and claims, for
// attacks NewDPoPProof would not produce.
func signRawProof(t *testing.T, header, claims map[string]any, sign func(input string) []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	b64 := base64.RawURLEncoding
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	return input + "." + b64.EncodeToString(sign(input))
}

func (f dpopFixture) do(t *testing.T, method, path, auth string, proofs ...string) (int, errorBody, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body errorBody
	if resp.StatusCode != http.StatusOK {
		json.NewDecoder(resp.Body).Decode(&body)
	}
	return resp.StatusCode, body, resp.Header.Get("WWW-Authenticate")
}

func TestDPoPMiddleware(t *testing.T) {
	f := newDPoPFixture(t)
	url := f.srv.URL + "/orders"
	other, otherEC := ecKey(t)
	ok := func() string {
		return proof(t, f.client, verifier.DPoPProofClaims{Method: "GET", URL: url, AccessToken: f.bound})
	}
	replayed := ok()
	if code, body, _ := f.do(t, "GET", "/orders", "DPoP "+f.bound, replayed); code != http.StatusOK {
		t.Fatalf("first use of a proof: %d %v, want 200", code, body)
	}
	pubJWK, _ := f.client.PublicJWK()
	privJWK, _ := f.client.PrivateJWK()
	var pub, priv map[string]any
	json.Unmarshal(pubJWK, &pub)
	json.Unmarshal(privJWK, &priv)
	baseClaims := func() map[string]any {
		return map[string]any{"jti": "x" + time.Now().Format(time.RFC3339Nano), "htm": "GET", "htu": url, "iat": time.Now().Unix(), "ath": verifier.AccessTokenHash(f.bound)}
	}
	esSign := func(key *ecdsa.PrivateKey) func(string) []byte {
		return func(input string) []byte {
			h := sha256.Sum256([]byte(input))
			r, sg, err := ecdsa.Sign(rand.Reader, key, h[:])
			if err != nil {
				t.Fatal(err)
			}
			return append(r.FillBytes(make([]byte, 32)), sg.FillBytes(make([]byte, 32))...)
		}
	}
	hmacSign := func(input string) []byte {
		m := hmac.New(sha256.New, []byte("0123456789abcdef0123456789abcdef"))
		m.Write([]byte(input))
		return m.Sum(nil)
	}
	tests := []struct {
		name     string
		method   string
		auth     string
		proofs   []string
		wantCode int
		wantErr  string
	}{
		{"valid", "GET", "DPoP " + f.bound, []string{ok()}, 200, ""},
		{"query and fragment ignored, host case", "GET", "DPoP " + f.bound, []string{proof(t, f.client, verifier.DPoPProofClaims{Method: "GET", URL: strings.Replace(url, "http://", "HTTP://", 1) + "?a=1", AccessToken: f.bound})}, 200, ""},
		{"replayed proof", "GET", "DPoP " + f.bound, []string{replayed}, 401, "invalid_dpop_proof"},
		{"proof for another URL", "GET", "DPoP " + f.bound, []string{proof(t, f.client, verifier.DPoPProofClaims{Method: "GET", URL: f.srv.URL + "/admin", AccessToken: f.bound})}, 401, "invalid_dpop_proof"},
		{"proof for another method", "GET", "DPoP " + f.bound, []string{proof(t, f.client, verifier.DPoPProofClaims{Method: "POST", URL: url, AccessToken: f.bound})}, 401, "invalid_dpop_proof"},
		{"stale iat", "GET", "DPoP " + f.bound, []string{proof(t, f.client, verifier.DPoPProofClaims{Method: "GET", URL: url, AccessToken: f.bound, IssuedAt: time.Now().Add(-5 * time.Minute)})}, 401, "invalid_dpop_proof"},
		{"future iat", "GET", "DPoP " + f.bound, []string{proof(t, f.client, verifier.DPoPProofClaims{Method: "GET", URL: url, AccessToken: f.bound, IssuedAt: time.Now().Add(5 * time.Minute)})}, 401, "invalid_dpop_proof"},
		{"ath of another token", "GET", "DPoP " + f.bound, []string{proof(t, f.client, verifier.DPoPProofClaims{Method: "GET", URL: url, AccessToken: f.unbound})}, 401, "invalid_dpop_proof"},
		{"no ath", "GET", "DPoP " + f.bound, []string{proof(t, f.client, verifier.DPoPProofClaims{Method: "GET", URL: url})}, 401, "invalid_dpop_proof"},
		{"no proof", "GET", "DPoP " + f.bound, nil, 401, "invalid_dpop_proof"},
		{"two proofs", "GET", "DPoP " + f.bound, []string{ok(), ok()}, 401, "invalid_dpop_proof"},
		{"token moved to another key", "GET", "DPoP " + f.bound, []string{proof(t, other, verifier.DPoPProofClaims{Method: "GET", URL: url, AccessToken: f.bound})}, 401, "invalid_token"},
		{"bound token as Bearer", "GET", "Bearer " + f.bound, nil, 401, "invalid_token"},
		{"bound token as Bearer with proof", "GET", "Bearer " + f.bound, []string{ok()}, 401, "invalid_token"},
		{"unbound token as DPoP", "GET", "DPoP " + f.unbound, []string{proof(t, f.client, verifier.DPoPProofClaims{Method: "GET", URL: url, AccessToken: f.unbound})}, 401, "invalid_token"},
		{"unbound token as Bearer", "GET", "Bearer " + f.unbound, nil, 200, ""},
		{"signed by another key than its jwk", "GET", "DPoP " + f.bound, []string{signRawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": pub}, baseClaims(), esSign(otherEC))}, 401, "invalid_dpop_proof"},
		{"alg none", "GET", "DPoP " + f.bound, []string{signRawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": pub}, baseClaims(), func(string) []byte { return nil })}, 401, "invalid_dpop_proof"},
		{"HS256 with an oct jwk", "GET", "DPoP " + f.bound, []string{signRawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "HS256", "jwk": map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}}, baseClaims(), hmacSign)}, 401, "invalid_dpop_proof"},
		{"private key in the jwk", "GET", "DPoP " + f.bound, []string{signRawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": priv}, baseClaims(), esSign(f.clientEC))}, 401, "invalid_dpop_proof"},
		{"wrong typ", "GET", "DPoP " + f.bound, []string{signRawProof(t, map[string]any{"typ": "JWT", "alg": "ES256", "jwk": pub}, baseClaims(), esSign(f.clientEC))}, 401, "invalid_dpop_proof"},
		{"raw proof, well formed", "GET", "DPoP " + f.bound, []string{signRawProof(t, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": pub}, baseClaims(), esSign(f.clientEC))}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, challenge := f.do(t, tt.method, "/orders", tt.auth, tt.proofs...)
			if code != tt.wantCode || body.Error != tt.wantErr {
				t.Fatalf("GET /orders = %d %q (%s), want %d %q", code, body.Error, body.Description, tt.wantCode, tt.wantErr)
			}
			if tt.wantErr != "" && !strings.HasPrefix(challenge, `DPoP error="`+tt.wantErr+`"`) {
				t.Errorf("WWW-Authenticate = %q, want a DPoP challenge with %s", challenge, tt.wantErr)
			}
		})
	}
}

// ecKey returns a fresh P-256 key, as a jose key and as the stdlib key
// that signs raw proofs.
func ecKey(t *testing.T) (*jose.Key, *ecdsa.PrivateKey) {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jose.NewECDSAPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	return k, ec
}

func TestDPoPCheckerErrors(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := verifier.NewDPoPChecker(verifier.DPoPConfig{Now: func() time.Time { return now }, ReplayEntries: 2})
	key := newKey(t, jose.ES256, "")
	req := verifier.DPoPRequest{Method: "POST", URL: "https://as.example/token"}
	mk := func() string {
		return proof(t, key, verifier.DPoPProofClaims{Method: "POST", URL: "https://as.example:443/token", IssuedAt: now})
	}
	p := mk()
	got, err := c.Check(p, req)
	if err != nil || got.JKT != verifier.Thumbprint(key) {
		t.Fatalf("Check(valid) = %+v, %v; want JKT %s", got, err, verifier.Thumbprint(key))
	}
	if _, err := c.Check(p, req); !errors.Is(err, verifier.ErrDPoPReplay) || !errors.Is(err, verifier.ErrDPoPProof) {
		t.Errorf("Check(replay) error = %v, want ErrDPoPReplay", err)
	}
	if _, err := c.Check(mk(), req); err != nil {
		t.Fatalf("Check(second proof) = %v", err)
	}
	if _, err := c.Check(mk(), req); !errors.Is(err, verifier.ErrDPoPProof) {
		// Full, and the new proof no newer than the oldest entry: there
		// is no room for it that would not let a forgotten proof back.
		t.Errorf("Check with a full replay cache of proofs as new: %v, want ErrDPoPProof (fail closed)", err)
	}
	now = now.Add(3 * verifier.DefaultDPoPWindow)
	if _, err := c.Check(proof(t, key, verifier.DPoPProofClaims{Method: "POST", URL: req.URL, IssuedAt: now}), req); err != nil {
		t.Errorf("Check after the entries expired = %v", err)
	}
	req.Nonce = "n-1"
	if _, err := c.Check(proof(t, key, verifier.DPoPProofClaims{Method: "POST", URL: req.URL, IssuedAt: now}), req); !errors.Is(err, verifier.ErrDPoPNonce) {
		t.Errorf("Check without the nonce: %v, want ErrDPoPNonce", err)
	}
}

func TestSameHTU(t *testing.T) {
	tests := []struct {
		htu, url string
		want     bool
	}{
		{"https://as.example/token", "https://as.example/token", true},
		{"HTTPS://AS.example:443/token", "https://as.example/token", true},
		{"https://as.example/token?x=1#f", "https://as.example/token", true},
		{"https://as.example/%7Euser", "https://as.example/~user", true},
		{"https://as.example/a%2fb", "https://as.example/a%2Fb", true},
		{"https://as.example", "https://as.example/", true},
		{"https://as.example/a%2Fb", "https://as.example/a/b", false},
		{"http://as.example/token", "https://as.example/token", false},
		{"https://as.example:8443/token", "https://as.example/token", false},
		{"https://as.example/Token", "https://as.example/token", false},
		{"https://evil.example/token", "https://as.example/token", false},
		{"/token", "https://as.example/token", false},
	}
	for _, tt := range tests {
		if got := verifier.SameHTU(tt.htu, tt.url); got != tt.want {
			t.Errorf("SameHTU(%q, %q) = %v, want %v", tt.htu, tt.url, got, tt.want)
		}
	}
}

func TestConfirmationClaimRoundTrip(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	c := claimsAt(time.Now())
	c.Confirmation.JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	tok := mint(t, key, c)
	v := newVerifier(t, verifier.Config{Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}}})
	got, err := v.Verify(t.Context(), tok)
	if err != nil || got.Confirmation.JKT != c.Confirmation.JKT {
		t.Fatalf("Verify(token with cnf) = %+v, %v; want cnf.jkt %s", got.Confirmation, err, c.Confirmation.JKT)
	}
}

// FuzzDPoPProof checks that a proof is accepted or refused with one of
// the documented kinds, never a panic, and that an accepted proof's JKT
// is the thumbprint of the key in its header. Seeds: testdata/dpop, an
// ES256 and an EdDSA proof for POST https://as.example/token at
// 1,800,000,000 with the access token "tok".
func FuzzDPoPProof(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "dpop", "*.txt"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/dpop: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.TrimSpace(string(b)))
	}
	now := time.Unix(1_800_000_000, 0)
	req := verifier.DPoPRequest{Method: "POST", URL: "https://as.example/token", AccessToken: "tok"}
	f.Fuzz(func(t *testing.T, proof string) {
		c := verifier.NewDPoPChecker(verifier.DPoPConfig{Now: func() time.Time { return now }})
		p, err := c.Check(proof, req)
		if err != nil {
			if !errors.Is(err, verifier.ErrDPoPProof) && !errors.Is(err, verifier.ErrDPoPNonce) {
				t.Fatalf("Check error %v matches no documented kind", err)
			}
			return
		}
		if p.JKT == "" || p.ID == "" {
			t.Fatalf("Check accepted a proof with JKT %q, ID %q", p.JKT, p.ID)
		}
		if _, err := c.Check(proof, req); !errors.Is(err, verifier.ErrDPoPReplay) {
			t.Fatalf("Check(same proof again) = %v, want ErrDPoPReplay", err)
		}
	})
}

func TestDPoPSeedsVerify(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "dpop", "*.txt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1_800_000_000, 0)
		c := verifier.NewDPoPChecker(verifier.DPoPConfig{Now: func() time.Time { return now }})
		if _, err := c.Check(strings.TrimSpace(string(b)), verifier.DPoPRequest{Method: "POST", URL: "https://as.example/token", AccessToken: "tok"}); err != nil {
			t.Errorf("seed %s: Check = %v, want nil", name, err)
		}
	}
}
