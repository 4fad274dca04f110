package jwt

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "orders"
)

// epoch is the fixed clock of these tests.
var epoch = time.Unix(1_800_000_000, 0)

func fixedNow() time.Time { return epoch }

func mustKey(t testing.TB, alg jose.Algorithm) *jose.Key {
	t.Helper()
	k, err := jose.GenerateKey(alg)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	return k
}

func mustValidator(t testing.TB, k *jose.Key, opts ValidatorOptions) *Validator {
	t.Helper()
	pub := k
	if !k.IsSymmetric() {
		var err error
		if pub, err = k.Public(); err != nil {
			t.Fatal(err)
		}
	}
	set, err := jose.NewKeySet(pub)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	v, err := NewValidator(set, testIssuer, testAudience, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// accessClaims is a realistic access-token claims set valid at epoch.
func accessClaims() *Claims {
	return &Claims{
		Issuer:    testIssuer,
		Subject:   "user-1234567890",
		Audience:  Audience{testAudience},
		ExpiresAt: epoch.Add(10 * time.Minute),
		NotBefore: epoch,
		IssuedAt:  epoch,
		ID:        "8f14e45fceea167a5a36dedd4bea2543",
		ClientID:  "web",
		SessionID: "s-42",
		Scope:     "orders:read orders:write",
		Roles:     []string{"admin", "support"},
	}
}

// idTokenPayload is an OpenID Connect ID token's claims set as latch
// writes it (idClaims).
const idTokenPayload = `{"iss":"https://auth.example.com","sub":"user-1234567890","aud":"web","exp":1800000600,"iat":1800000000,"sid":"browser-7","nonce":"n-0S6_WzA2Mj","auth_time":1799999000,"at_hash":"77QmUPtjPfzWtF2AnpK9RQ","amr":["pwd"],"azp":"web","email":"alice@example.com","email_verified":true}`

func idClaims() *Claims {
	return &Claims{
		Issuer:          testIssuer,
		Subject:         "user-1234567890",
		Audience:        Audience{"web"},
		ExpiresAt:       epoch.Add(10 * time.Minute),
		IssuedAt:        epoch,
		SessionID:       "browser-7",
		Nonce:           "n-0S6_WzA2Mj",
		AuthTime:        epoch.Add(-1000 * time.Second),
		AccessTokenHash: "77QmUPtjPfzWtF2AnpK9RQ",
		AMR:             []string{"pwd"},
		AuthorizedParty: "web",
		Email:           "alice@example.com",
		EmailVerified:   true,
	}
}

// TestIDTokenClaims checks the OpenID Connect claims: their names and
// encoding on the wire, and that Parse reads back what Sign wrote.
func TestIDTokenClaims(t *testing.T) {
	k := mustKey(t, jose.ES256)
	tok, err := Sign(k, idClaims(), jose.SignOptions{})
	if err != nil {
		t.Fatalf("Sign(ID token claims): %v", err)
	}
	pub, err := k.Public()
	if err != nil {
		t.Fatal(err)
	}
	set, err := jose.NewKeySet(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewValidator(set, testIssuer, "web", ValidatorOptions{Type: "JWT", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Parse(tok)
	if err != nil {
		t.Fatalf("Parse(ID token): %v", err)
	}
	if raw := string(got.Raw()); raw != idTokenPayload {
		t.Errorf("Sign(idClaims()) payload = %s, want %s", raw, idTokenPayload)
	}
	want := *idClaims()
	want.raw = got.raw
	if !got.AuthTime.Equal(want.AuthTime) {
		t.Errorf("AuthTime = %v, want %v", got.AuthTime, want.AuthTime)
	}
	got.AuthTime, want.AuthTime = time.Time{}, time.Time{}
	if !reflect.DeepEqual(stripTime(got), stripTime(want)) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}

func TestEmailVerifiedEncoding(t *testing.T) {
	tests := []struct {
		name     string
		email    string
		verified bool
		want     string
	}{
		{name: "neither", want: `{}`},
		{name: "email not verified", email: "a@example.com", want: `{"email":"a@example.com","email_verified":false}`},
		{name: "email verified", email: "a@example.com", verified: true, want: `{"email":"a@example.com","email_verified":true}`},
		{name: "verified without email", verified: true, want: `{"email_verified":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Claims{Email: tt.email, EmailVerified: tt.verified}
			b, err := c.appendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("claims %+v encode as %s, want %s", c, b, tt.want)
			}
			back, err := parseClaims(b)
			if err != nil || back.Email != tt.email || back.EmailVerified != tt.verified {
				t.Errorf("parseClaims(%s) = email %q verified %v, %v; want %q %v", b, back.Email, back.EmailVerified, err, tt.email, tt.verified)
			}
		})
	}
}

func TestConfirmationEncoding(t *testing.T) {
	tests := []struct {
		name, jkt, want string
	}{
		{name: "unbound", want: `{}`},
		{name: "bound", jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", want: `{"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Claims{Confirmation: Confirmation{JKT: tt.jkt}}
			b, err := c.appendJSON(nil)
			if err != nil || string(b) != tt.want {
				t.Fatalf("claims %+v encode as %s, %v; want %s", c, b, err, tt.want)
			}
			back, err := parseClaims(b)
			if err != nil || back.Confirmation.JKT != tt.jkt {
				t.Errorf("parseClaims(%s) = cnf.jkt %q, %v; want %q", b, back.Confirmation.JKT, err, tt.jkt)
			}
		})
	}
}

func TestSignParseRoundTrip(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			k := mustKey(t, alg)
			c := accessClaims()
			c.Extra = map[string]any{"tenant": "acme", "level": 3}
			tok, err := Sign(k, c, jose.SignOptions{Type: TypeAccessToken})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			got, err := mustValidator(t, k, ValidatorOptions{Type: TypeAccessToken}).Parse(tok)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := *accessClaims()
			want.raw = got.raw
			if !reflect.DeepEqual(stripTime(got), stripTime(want)) {
				t.Errorf("Parse = %+v, want %+v", got, want)
			}
			for name, pair := range map[string][2]time.Time{"exp": {got.ExpiresAt, want.ExpiresAt}, "nbf": {got.NotBefore, want.NotBefore}, "iat": {got.IssuedAt, want.IssuedAt}} {
				if !pair[0].Equal(pair[1]) {
					t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
				}
			}
			var extra struct {
				Tenant string `json:"tenant"`
				Level  int    `json:"level"`
			}
			if err := got.Decode(&extra); err != nil || extra.Tenant != "acme" || extra.Level != 3 {
				t.Errorf("Decode = %+v, %v; want {acme 3}, nil", extra, err)
			}
		})
	}
}

// stripTime zeroes the time fields, which DeepEqual cannot compare across
// locations.
func stripTime(c Claims) Claims {
	c.ExpiresAt, c.NotBefore, c.IssuedAt = time.Time{}, time.Time{}, time.Time{}
	return c
}

func TestAudienceForms(t *testing.T) {
	k := mustKey(t, jose.HS256)
	tests := []struct {
		name    string
		aud     Audience
		wantErr error
	}{
		{name: "single string", aud: Audience{testAudience}},
		{name: "array containing", aud: Audience{"billing", testAudience}},
		{name: "array without", aud: Audience{"billing", "shipping"}, wantErr: ErrAudience},
		{name: "absent", aud: nil, wantErr: ErrAudience},
		{name: "case differs", aud: Audience{"Orders"}, wantErr: ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := accessClaims()
			c.Audience = tt.aud
			tok, err := Sign(k, c, jose.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := mustValidator(t, k, ValidatorOptions{}).Parse(tok)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(aud=%q) error = %v, want %v", tt.aud, err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got.Audience, tt.aud) {
				t.Errorf("Audience = %q, want %q", got.Audience, tt.aud)
			}
			if err != nil && !reflect.DeepEqual(got, Claims{}) {
				t.Errorf("claims on error = %+v, want zero", got)
			}
		})
	}
}

func TestValidationRejects(t *testing.T) {
	k := mustKey(t, jose.ES256)
	tests := []struct {
		name    string
		edit    func(*Claims)
		opts    ValidatorOptions
		typ     string
		wantErr error
	}{
		{name: "valid", edit: func(*Claims) {}},
		{name: "expired", edit: func(c *Claims) { c.ExpiresAt = epoch.Add(-time.Minute) }, wantErr: ErrExpired},
		{name: "expired within default leeway", edit: func(c *Claims) { c.ExpiresAt = epoch.Add(-10 * time.Second) }},
		{name: "expired exactly now without leeway", edit: func(c *Claims) { c.ExpiresAt = epoch }, opts: ValidatorOptions{Leeway: NoLeeway}, wantErr: ErrExpired},
		{name: "expired beyond custom leeway", edit: func(c *Claims) { c.ExpiresAt = epoch.Add(-2 * time.Minute) }, opts: ValidatorOptions{Leeway: time.Minute}, wantErr: ErrExpired},
		{name: "expired within custom leeway", edit: func(c *Claims) { c.ExpiresAt = epoch.Add(-50 * time.Second) }, opts: ValidatorOptions{Leeway: time.Minute}},
		{name: "missing exp", edit: func(c *Claims) { c.ExpiresAt = time.Time{} }, wantErr: ErrMissingClaim},
		{name: "missing exp allowed", edit: func(c *Claims) { c.ExpiresAt = time.Time{} }, opts: ValidatorOptions{AllowMissingExpiry: true}},
		{name: "not yet valid", edit: func(c *Claims) { c.NotBefore = epoch.Add(time.Minute) }, wantErr: ErrNotYetValid},
		{name: "nbf within leeway", edit: func(c *Claims) { c.NotBefore = epoch.Add(20 * time.Second) }},
		{name: "issued in the future", edit: func(c *Claims) { c.IssuedAt = epoch.Add(time.Hour); c.NotBefore = time.Time{} }, wantErr: ErrIssuedInFuture},
		{name: "too old", edit: func(c *Claims) { c.IssuedAt = epoch.Add(-2 * time.Hour) }, opts: ValidatorOptions{MaxAge: time.Hour}, wantErr: ErrTooOld},
		{name: "young enough", edit: func(c *Claims) { c.IssuedAt = epoch.Add(-30 * time.Minute) }, opts: ValidatorOptions{MaxAge: time.Hour}},
		{name: "max age needs iat", edit: func(c *Claims) { c.IssuedAt = time.Time{} }, opts: ValidatorOptions{MaxAge: time.Hour}, wantErr: ErrMissingClaim},
		{name: "wrong issuer", edit: func(c *Claims) { c.Issuer = "https://evil.example.com" }, wantErr: ErrIssuer},
		{name: "issuer prefix", edit: func(c *Claims) { c.Issuer = testIssuer + "/" }, wantErr: ErrIssuer},
		{name: "missing issuer", edit: func(c *Claims) { c.Issuer = "" }, wantErr: ErrIssuer},
		{name: "typ required and absent", edit: func(*Claims) {}, typ: "JWT", opts: ValidatorOptions{Type: TypeAccessToken}, wantErr: ErrType},
		{name: "typ media type form", edit: func(*Claims) {}, typ: "application/AT+JWT", opts: ValidatorOptions{Type: TypeAccessToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := accessClaims()
			tt.edit(c)
			tok, err := Sign(k, c, jose.SignOptions{Type: tt.typ})
			if err != nil {
				t.Fatal(err)
			}
			got, err := mustValidator(t, k, tt.opts).Parse(tok)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Parse() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !reflect.DeepEqual(got, Claims{}) {
				t.Errorf("claims on error = %+v, want zero", got)
			}
		})
	}
}

// rawToken signs an arbitrary payload as a JWT, for claims the Claims type
// cannot produce.
func rawToken(t testing.TB, k *jose.Key, payload string) string {
	t.Helper()
	tok, err := jose.Sign(k, []byte(payload), jose.SignOptions{Type: "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMalformedClaims(t *testing.T) {
	k := mustKey(t, jose.HS256)
	v := mustValidator(t, k, ValidatorOptions{})
	base := `"iss":"` + testIssuer + `","aud":"orders","exp":1800000600`
	tests := []struct {
		name      string
		payload   string
		wantErr   error
		duplicate bool
	}{
		{name: "not an object", payload: `["iss"]`, wantErr: ErrMalformed},
		{name: "null", payload: `null`, wantErr: ErrMalformed},
		{name: "empty", payload: ``, wantErr: ErrMalformed},
		{name: "not JSON", payload: `{"iss":`, wantErr: ErrMalformed},
		{name: "trailing data", payload: `{` + base + `}x`, wantErr: ErrMalformed},
		{name: "exp as string", payload: `{"iss":"` + testIssuer + `","aud":"orders","exp":"1800000600"}`, wantErr: ErrMalformed},
		{name: "exp negative", payload: `{"iss":"` + testIssuer + `","aud":"orders","exp":-1}`, wantErr: ErrMalformed},
		{name: "exp beyond 9999", payload: `{"iss":"` + testIssuer + `","aud":"orders","exp":1e300}`, wantErr: ErrMalformed},
		{name: "exp null", payload: `{"iss":"` + testIssuer + `","aud":"orders","exp":null}`, wantErr: ErrMalformed},
		{name: "aud number", payload: `{"iss":"` + testIssuer + `","aud":7,"exp":1800000600}`, wantErr: ErrMalformed},
		{name: "aud array with number", payload: `{"iss":"` + testIssuer + `","aud":["orders",7],"exp":1800000600}`, wantErr: ErrMalformed},
		{name: "iss object", payload: `{"iss":{},"aud":"orders","exp":1800000600}`, wantErr: ErrMalformed},
		{name: "roles string", payload: `{` + base + `,"roles":"admin"}`, wantErr: ErrMalformed},
		{name: "amr string", payload: `{` + base + `,"amr":"pwd"}`, wantErr: ErrMalformed},
		{name: "auth_time as string", payload: `{` + base + `,"auth_time":"1800000000"}`, wantErr: ErrMalformed},
		{name: "auth_time negative", payload: `{` + base + `,"auth_time":-1}`, wantErr: ErrMalformed},
		{name: "nonce number", payload: `{` + base + `,"nonce":7}`, wantErr: ErrMalformed},
		{name: "email_verified string", payload: `{` + base + `,"email_verified":"true"}`, wantErr: ErrMalformed},
		{name: "email_verified null", payload: `{` + base + `,"email_verified":null}`, wantErr: ErrMalformed},
		{name: "cnf string", payload: `{` + base + `,"cnf":"jkt"}`, wantErr: ErrMalformed},
		{name: "cnf jkt number", payload: `{` + base + `,"cnf":{"jkt":7}}`, wantErr: ErrMalformed},
		{name: "cnf duplicate jkt", payload: `{` + base + `,"cnf":{"jkt":"a","jkt":"b"}}`, wantErr: ErrMalformed, duplicate: true},
		{name: "cnf other members accepted", payload: `{` + base + `,"cnf":{"x5t#S256":"abc","jkt":"a"}}`},
		{name: "duplicate nonce", payload: `{` + base + `,"nonce":"a","nonce":"b"}`, wantErr: ErrMalformed, duplicate: true},
		{name: "duplicate exp", payload: `{` + base + `,"exp":9999999999}`, wantErr: ErrMalformed, duplicate: true},
		{name: "duplicate aud via escape", payload: `{` + base + `,"\u0061ud":"billing"}`, wantErr: ErrMalformed, duplicate: true},
		{name: "duplicate inside custom claim", payload: `{` + base + `,"x":{"a":1,"a":2}}`, wantErr: ErrMalformed, duplicate: true},
		{name: "invalid UTF-8", payload: "{" + base + ",\"sub\":\"\xff\"}", wantErr: ErrMalformed},
		{name: "fractional exp accepted", payload: `{"iss":"` + testIssuer + `","aud":"orders","exp":1800000600.5}`},
		{name: "escaped strings accepted", payload: `{"iss":"https:\/\/auth.example.com","aud":["\u006frders"],"exp":1800000600}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Parse(rawToken(t, k, tt.payload))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.payload, err, tt.wantErr)
			}
			if got := errors.Is(err, jose.ErrDuplicateMember); got != tt.duplicate {
				t.Errorf("Parse(%q) error %v: errors.Is(ErrDuplicateMember) = %v, want %v", tt.payload, err, got, tt.duplicate)
			}
		})
	}
}

func TestSignatureErrorsPassThrough(t *testing.T) {
	k := mustKey(t, jose.HS256)
	other := mustKey(t, jose.HS256).WithKeyID(k.KeyID())
	v := mustValidator(t, k, ValidatorOptions{})
	forged, err := Sign(other, accessClaims(), jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Parse(forged); !errors.Is(err, ErrSignature) || !errors.Is(err, jose.ErrSignature) {
		t.Errorf("Parse(forged) error = %v, want ErrSignature", err)
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+testIssuer+`","aud":"orders","exp":1800000600}`)) + "."
	if _, err := v.Parse(none); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Parse(alg none) error = %v, want ErrUnsupported", err)
	}
	big := strings.Repeat("a", jose.DefaultMaxTokenSize+1)
	if _, err := v.Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(oversized) error = %v, want ErrTooLarge", err)
	}
}

func TestNewValidatorRequiresExpectations(t *testing.T) {
	set, err := jose.NewKeySet(mustKey(t, jose.HS256))
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := jose.NewKeySet()
	tests := []struct {
		name     string
		keys     *jose.KeySet
		iss, aud string
	}{
		{name: "no keys", keys: nil, iss: testIssuer, aud: testAudience},
		{name: "empty key set", keys: empty, iss: testIssuer, aud: testAudience},
		{name: "no issuer", keys: set, iss: "", aud: testAudience},
		{name: "no audience", keys: set, iss: testIssuer, aud: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewValidator(tt.keys, tt.iss, tt.aud, ValidatorOptions{})
			if err == nil || v != nil {
				t.Errorf("NewValidator(%v, %q, %q) = %v, %v; want nil, error", tt.keys, tt.iss, tt.aud, v, err)
			}
		})
	}
}

func TestSignRejectsBadClaims(t *testing.T) {
	k := mustKey(t, jose.HS256)
	tests := []struct {
		name string
		c    *Claims
	}{
		{name: "nil", c: nil},
		{name: "extra repeats iss", c: &Claims{Extra: map[string]string{"iss": "x"}}},
		{name: "extra repeats roles", c: &Claims{Extra: struct {
			Roles []string `json:"roles"`
		}{}}},
		{name: "extra repeats email", c: &Claims{Extra: map[string]string{"email": "x"}}},
		{name: "extra repeats nonce", c: &Claims{Extra: map[string]string{"nonce": "x"}}},
		{name: "extra not an object", c: &Claims{Extra: []int{1}}},
		{name: "invalid UTF-8 amr", c: &Claims{AMR: []string{"\xff"}}},
		{name: "invalid UTF-8 nonce", c: &Claims{Nonce: "\xff"}},
		{name: "auth_time before 1970", c: &Claims{AuthTime: time.Unix(-5, 0)}},
		{name: "invalid UTF-8 sub", c: &Claims{Subject: "\xff"}},
		{name: "invalid UTF-8 aud", c: &Claims{Audience: Audience{"\xff"}}},
		{name: "invalid UTF-8 role", c: &Claims{Roles: []string{"ok", "\xff"}}},
		{name: "exp before 1970", c: &Claims{ExpiresAt: time.Unix(-5, 0)}},
		{name: "iat after 9999", c: &Claims{IssuedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := Sign(k, tt.c, jose.SignOptions{}); !errors.Is(err, ErrMalformed) {
				t.Errorf("Sign(%+v) = %q, %v; want ErrMalformed", tt.c, tok, err)
			}
		})
	}
	if _, err := Sign(k, &Claims{Extra: map[string]any{"f": func() {}}}, jose.SignOptions{}); err == nil {
		t.Error("Sign with an unmarshallable Extra succeeded, want error")
	}
}

func TestClaimsHelpers(t *testing.T) {
	c := Claims{Scope: "orders:read  orders:write", Roles: []string{"admin"}}
	for _, tt := range []struct {
		scope string
		want  bool
	}{{"orders:read", true}, {"orders:write", true}, {"orders", false}, {"", false}} {
		if got := c.HasScope(tt.scope); got != tt.want {
			t.Errorf("HasScope(%q) = %v, want %v", tt.scope, got, tt.want)
		}
	}
	if !c.HasRole("admin") || c.HasRole("support") {
		t.Errorf("HasRole: admin=%v support=%v, want true false", c.HasRole("admin"), c.HasRole("support"))
	}
	if err := c.Decode(&struct{}{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("Decode on unparsed claims error = %v, want ErrMalformed", err)
	}
}

// skipUnderRace skips allocation tests in race builds, where sync.Pool
// drops items at random; the ordinary test run still checks them.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				t.Skip("allocation counts are not meaningful under the race detector")
			}
		}
	}
}

// TestParseAllocations holds the hot path to its allocation budget: the
// payload buffer, the audience and the roles.
func TestParseAllocations(t *testing.T) {
	skipUnderRace(t)
	for _, tt := range []struct {
		alg  jose.Algorithm
		max  float64
		note string
	}{
		{alg: jose.HS256, max: 2, note: "payload; aud and roles share one slice"},
	} {
		k := mustKey(t, tt.alg)
		tok, err := Sign(k, accessClaims(), jose.SignOptions{Type: TypeAccessToken})
		if err != nil {
			t.Fatal(err)
		}
		v := mustValidator(t, k, ValidatorOptions{Type: TypeAccessToken})
		got := testing.AllocsPerRun(200, func() {
			if _, err := v.Parse(tok); err != nil {
				panic(err)
			}
		})
		if got > tt.max {
			t.Errorf("%s Parse allocations = %v, want <= %v (%s)", tt.alg, got, tt.max, tt.note)
		}
	}
}

func TestSignAllocations(t *testing.T) {
	skipUnderRace(t)
	k := mustKey(t, jose.HS256)
	c := accessClaims()
	got := testing.AllocsPerRun(200, func() {
		if _, err := Sign(k, c, jose.SignOptions{Type: TypeAccessToken}); err != nil {
			panic(err)
		}
	})
	if got > 1 {
		t.Errorf("HS256 Sign allocations = %v, want <= 1 (the token)", got)
	}
}

func ExampleValidator_Parse() {
	key, _ := jose.GenerateKey(jose.ES256)
	now := time.Now()
	token, _ := Sign(key, &Claims{
		Issuer:    "https://auth.example.com",
		Subject:   "user-1",
		Audience:  Audience{"orders"},
		ExpiresAt: now.Add(10 * time.Minute),
		IssuedAt:  now,
		Scope:     "orders:read",
	}, jose.SignOptions{Type: TypeAccessToken})

	pub, _ := key.Public()
	keys, _ := jose.NewKeySet(pub)
	v, _ := NewValidator(keys, "https://auth.example.com", "orders", ValidatorOptions{Type: TypeAccessToken})
	claims, err := v.Parse(token)
	fmt.Println(claims.Subject, claims.HasScope("orders:read"), err)

	other, _ := NewValidator(keys, "https://auth.example.com", "billing", ValidatorOptions{})
	_, err = other.Parse(token)
	fmt.Println(errors.Is(err, ErrAudience))
	// Output:
	// user-1 true <nil>
	// true
}

// TestRawIsACopy: the claim strings share memory with the verified
// payload (zero-copy decoding), so Raw must not hand that memory out: a
// caller writing to what Raw returned changes neither the claims nor a
// later Raw.
func TestRawIsACopy(t *testing.T) {
	k := mustKey(t, jose.HS256)
	want := accessClaims()
	want.Extra = map[string]string{"tenant": "acme"}
	for _, tt := range []struct {
		name string
		opts jose.SignOptions
		mod  func(c *Claims)
	}{
		{name: "fast decoder"},
		{name: "general decoder", mod: func(c *Claims) { c.Subject = "u_\u00e9" }}, // an escape-free non-ASCII string takes the general path
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := *want
			if tt.mod != nil {
				tt.mod(&in)
			}
			tok, err := Sign(k, &in, jose.SignOptions{Type: TypeAccessToken})
			if err != nil {
				t.Fatal(err)
			}
			c, err := mustValidator(t, k, ValidatorOptions{Type: TypeAccessToken}).Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			raw := c.Raw()
			orig := string(raw)
			for i := range raw {
				raw[i] = 'X'
			}
			if c.Issuer != in.Issuer || c.Subject != in.Subject || c.ID != in.ID || c.SessionID != in.SessionID ||
				c.Scope != in.Scope || c.ClientID != in.ClientID || !slices.Equal(c.Audience, in.Audience) || !slices.Equal(c.Roles, in.Roles) {
				t.Errorf("after writing to Raw(), claims = %+v, want %+v", c, in)
			}
			if got := string(c.Raw()); got != orig {
				t.Errorf("Raw() after a write to an earlier result = %q, want %q", got, orig)
			}
			var extra struct{ Tenant string }
			if err := c.Decode(&extra); err != nil || extra.Tenant != "acme" {
				t.Errorf("Decode after a write to Raw() = %+v, %v; want tenant acme", extra, err)
			}
		})
	}
}
