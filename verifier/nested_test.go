package verifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// encKey returns a fresh decryption key of the service.
func encKey(t testing.TB, alg jose.KeyManagement) *jose.EncryptionKey {
	t.Helper()
	k, err := jose.GenerateEncryptionKey(alg, "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func encSet(t testing.TB, keys ...*jose.EncryptionKey) *jose.EncryptionKeySet {
	t.Helper()
	s, err := jose.NewEncryptionKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mintNested signs c as an access token, then encrypts it to the public
// half of dec, as latch's issuer does for a client with an encryption key.
func mintNested(t testing.TB, key *jose.Key, c jwt.Claims, dec *jose.EncryptionKey) string {
	t.Helper()
	to := dec
	if !dec.IsSymmetric() {
		var err error
		if to, err = dec.Public(); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := jwt.SignNested(key, &c, jose.SignOptions{Type: jwt.TypeAccessToken}, to, jose.EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestNestedTokensOverHTTP runs a resource service behind Require, with
// its keys fetched from a JWKS server, and calls it over real HTTP with
// nested and plain tokens under each encryption policy.
func TestNestedTokensOverHTTP(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	jwks := newJWKSServer(t, key)
	dec := encKey(t, jose.ECDHESA256KW)
	other := encKey(t, jose.ECDHESA256KW)
	now := time.Now()
	nested := mintNested(t, key, claimsAt(now), dec)
	plain := mint(t, key, claimsAt(now))
	toOther := mintNested(t, key, claimsAt(now), other)
	expired := mintNested(t, key, claimsAt(now.Add(-time.Hour)), dec)

	service := func(cfg verifier.Config) string {
		cfg.Issuers = []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: jwks.URL}}
		v := newVerifier(t, cfg)
		srv := httptest.NewServer(v.Require(whoami))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	encrypted := service(verifier.Config{DecryptionKeys: encSet(t, dec)})
	lenient := service(verifier.Config{DecryptionKeys: encSet(t, dec), AllowUnencrypted: true})
	keyless := service(verifier.Config{})

	tests := []struct {
		name, url, token string
		wantStatus       int
		wantBody         string // the subject for 200, error_description otherwise
	}{
		{"nested token, service with the key", encrypted, nested, 200, "u_1"},
		{"plain token refused where encryption is expected", encrypted, plain, 401, "token must be encrypted"},
		{"nested token to another key", encrypted, toOther, 401, "token invalid"},
		{"nested token expired inside", encrypted, expired, 401, "token expired"},
		{"plain token, AllowUnencrypted", lenient, plain, 200, "u_1"},
		{"nested token, AllowUnencrypted", lenient, nested, 200, "u_1"},
		{"nested token, service without keys", keyless, nested, 401, "token is encrypted for another recipient: this service cannot read it"},
		{"plain token, service without keys", keyless, plain, 200, "u_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tt.url+"/orders/42", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("GET = %d %s, want %d", resp.StatusCode, body, tt.wantStatus)
			}
			got := string(body)
			if tt.wantStatus != 200 {
				var e errorBody
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("error body %s: %v", body, err)
				}
				got = e.Description
				if e.Error != "invalid_token" || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("refusal = %s, WWW-Authenticate %q; want invalid_token", body, resp.Header.Get("WWW-Authenticate"))
				}
			}
			if got != tt.wantBody {
				t.Errorf("GET body = %q, want %q", got, tt.wantBody)
			}
		})
	}
}

// TestNestedVerifyErrors checks the kinds Verify returns for nested
// tokens, with errors.Is.
func TestNestedVerifyErrors(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	stranger := newKey(t, jose.ES256, "k1")
	dec := encKey(t, jose.RSAOAEP256)
	now := time.Now()
	v := newVerifier(t, verifier.Config{
		Issuers:        []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
		DecryptionKeys: encSet(t, dec),
	})
	keyless := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
	})
	billing := claimsAt(now)
	billing.Audience = jwt.Audience{audBill}
	tests := []struct {
		name  string
		v     *verifier.Verifier
		token string
		want  error
	}{
		{"no decryption keys", keyless, mintNested(t, key, claimsAt(now), dec), jwt.ErrEncrypted},
		{"not encrypted", v, mint(t, key, claimsAt(now)), jwt.ErrNotEncrypted},
		{"encrypted to another key", v, mintNested(t, key, claimsAt(now), encKey(t, jose.RSAOAEP256)), jwt.ErrDecryption},
		{"signed by a stranger's key", v, mintNested(t, stranger, claimsAt(now), dec), jwt.ErrSignature},
		{"for another audience", v, mintNested(t, key, billing, dec), jwt.ErrAudience},
		{"outer over the size limit", v, mintNested(t, key, claimsAt(now), dec) + strings.Repeat("A", jose.DefaultMaxTokenSize), jwt.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.v.Verify(t.Context(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify = %+v, %v; want an error matching %v", c, err, tt.want)
			}
		})
	}
}

// TestNestedCache: a nested token is cached under the whole compact JWE,
// never under the signed token inside, and an altered JWE never hits.
func TestNestedCache(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	dec := encKey(t, jose.A256KW)
	v := newVerifier(t, verifier.Config{
		Issuers:        []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
		DecryptionKeys: encSet(t, dec),
	})
	tok := mintNested(t, key, claimsAt(time.Now()), dec)
	for range 2 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("Verify(nested): %v", err)
		}
	}
	if !v.CacheHas(tok) {
		t.Error("the nested token is not cached")
	}
	_, inner, err := jwt.Decrypt(tok, encSet(t, dec), jose.DecryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.CacheHas(inner) {
		t.Error("the signed token inside is cached: a cache key must cover the whole token as presented")
	}
	// The inner token on its own is refused: the policy applies, cache or not.
	if _, err := v.Verify(t.Context(), inner); !errors.Is(err, jwt.ErrNotEncrypted) {
		t.Errorf("Verify(inner) = %v, want jwt.ErrNotEncrypted", err)
	}
	// Change the tag's first character: a different token, not a hit.
	i := strings.LastIndexByte(tok, '.') + 1
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	altered := tok[:i] + string(c) + tok[i+1:]
	if _, err := v.Verify(t.Context(), altered); !errors.Is(err, jwt.ErrDecryption) {
		t.Errorf("Verify(altered) = %v, want jwt.ErrDecryption", err)
	}
}

func TestNewRefusesPublicDecryptionKey(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	pub, err := encKey(t, jose.ECDHES).Public()
	if err != nil {
		t.Fatal(err)
	}
	_, err = verifier.New(context.Background(), verifier.Config{
		Issuers:        []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
		DecryptionKeys: encSet(t, pub),
	})
	if err == nil {
		t.Error("New accepted a public key as a decryption key")
	}
}

// TestRequireFreshNested: the issuer cannot read a token encrypted to the
// service, so RequireFresh introspects the signed token inside.
func TestRequireFreshNested(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	dec := encKey(t, jose.ECDHESA128KW)
	fs := newFeedServer(t)
	tok := mintNested(t, key, claimsAt(time.Now()), dec)
	var got string
	is := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.FormValue("token")
		fmt.Fprint(w, `{"active":true}`)
	}))
	t.Cleanup(is.Close)
	v := newVerifier(t, verifier.Config{Issuers: []verifier.Issuer{{
		Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key),
		ClientID: feedClient, ClientSecret: feedSecret, RevocationsURL: fs.url(), IntrospectionURL: is.URL,
	}}, DecryptionKeys: encSet(t, dec)})
	h := v.RequireFresh(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("RequireFresh = %d %s, want 200", rec.Code, rec.Body)
	}
	if strings.Count(got, ".") != 2 {
		t.Errorf("introspected token has %d dots, want the signed JWT (2)", strings.Count(got, "."))
	}
}
