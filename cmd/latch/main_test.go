package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
)

// testNow is the clock of the in-process tests: 2026-01-01T00:00:00Z.
var testNow = time.Unix(1767225600, 0)

// result is the outcome of one in-process run.
type result struct {
	code           int
	stdout, stderr string
}

// latch runs the command line args in-process with stdin and the test
// clock.
func latch(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: bytes.NewReader(stdin), stdout: &out, stderr: &errOut, now: func() time.Time { return testNow }}
	code := e.main(args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// mustLatch runs args and fails the test unless they succeed.
func mustLatch(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	r := latch(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("latch %s: got exit %d, want 0; stderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("latch %s: got stderr %q, want none", strings.Join(args, " "), r.stderr)
	}
	return r.stdout
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	testIss = "https://auth.example.com"
	testAud = "orders"
)

func TestRoundTripEveryAlgorithm(t *testing.T) {
	payload := []byte("\x00binary\r\n\xff payload\n")
	for _, alg := range jose.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			priv := writeFile(t, dir, "key.json", []byte(mustLatch(t, nil, "keys", "generate", "--alg", string(alg))))
			verifyKey := priv
			if !strings.HasPrefix(string(alg), "HS") {
				verifyKey = writeFile(t, dir, "pub.json", []byte(mustLatch(t, nil, "keys", "public", priv)))
			}

			claims := `{"iss":"` + testIss + `","sub":"alice","aud":["` + testAud + `","billing"],"tenant":{"id":7}}`
			tok := mustLatch(t, nil, "token", "sign", "--key", priv, "--claims", claims)
			if !strings.HasSuffix(tok, "\n") || strings.Count(tok, ".") != 2 {
				t.Fatalf("latch token sign: got %q, want a JWT and a newline", tok)
			}
			out := mustLatch(t, []byte(tok), "token", "verify", "--key", verifyKey, "--iss", testIss, "--aud", testAud)
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("latch token verify: got %q, want JSON: %v", out, err)
			}
			if got["sub"] != "alice" || got["tenant"] == nil {
				t.Errorf("latch token verify: got %s, want sub alice and tenant", out)
			}

			pfile := writeFile(t, dir, "payload.bin", payload)
			jws := mustLatch(t, nil, "jws", "sign", "--key", priv, pfile)
			back := mustLatch(t, nil, "jws", "verify", "--key", verifyKey, strings.TrimSpace(jws))
			if back != string(payload) {
				t.Errorf("latch jws verify: got %q, want %q", back, payload)
			}
		})
	}
}

func TestKeysGenerate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantKid string // empty: the thumbprint
	}{
		{name: "thumbprint kid", args: []string{"keys", "generate", "--alg", "EdDSA"}},
		{name: "given kid", args: []string{"keys", "generate", "--alg", "ES384", "--kid", "2026-01"}, wantKid: "2026-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustLatch(t, nil, tt.args...)
			key, err := jose.ParseJWK([]byte(out), "")
			if err != nil {
				t.Fatalf("latch %s: got %q, not a JWK: %v", strings.Join(tt.args, " "), out, err)
			}
			want := tt.wantKid
			if want == "" {
				want = base64.RawURLEncoding.EncodeToString(key.Thumbprint())
			}
			if key.KeyID() != want || !key.IsPrivate() {
				t.Errorf("latch %s: got %v, want private key with kid %q", strings.Join(tt.args, " "), key, want)
			}
			if !strings.HasPrefix(out, "{\n  \"kty\"") || !strings.HasSuffix(out, "}\n") {
				t.Errorf("latch %s: got %q, want indented JSON and a newline", strings.Join(tt.args, " "), out)
			}
		})
	}
}

// fixture is a directory of keys and tokens for the table tests.
type fixture struct {
	dir                      string
	priv, pub, hmac, set     string // key files
	pemPriv, pemPub, rsaPEM  string
	token                    string // a JWT from priv, valid at testNow
	pubKey, otherKey, rsaKey *jose.Key
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	key := genKey(t, jose.ES256, "es")
	f.otherKey = genKey(t, jose.ES256, "other")
	f.rsaKey = genKey(t, jose.PS256, "")
	f.pubKey, _ = key.Public()
	f.priv = writeFile(t, f.dir, "priv.json", privateJWK(t, key))
	f.pub = writeFile(t, f.dir, "pub.json", publicJWK(t, key))
	f.hmac = writeFile(t, f.dir, "hmac.json", privateJWK(t, genKey(t, jose.HS256, "")))
	set := `{"keys":[` + string(privateJWK(t, key)) + "," + string(privateJWK(t, f.otherKey)) + "]}"
	f.set = writeFile(t, f.dir, "set.json", []byte(set))
	f.pemPriv = writeFile(t, f.dir, "priv.pem", marshalPEM(t, key))
	f.pemPub = writeFile(t, f.dir, "pub.pem", marshalPEM(t, f.pubKey))
	f.rsaPEM = writeFile(t, f.dir, "rsa.pem", marshalPEM(t, f.rsaKey))
	f.token = strings.TrimSpace(mustLatch(t, nil, "token", "sign", "--key", f.priv,
		"--claims", `{"iss":"`+testIss+`","sub":"alice","aud":"`+testAud+`"}`))
	return f
}

func genKey(t *testing.T, alg jose.Algorithm, kid string) *jose.Key {
	t.Helper()
	k, err := jose.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		k = k.WithKeyID(kid)
	}
	return k
}

func privateJWK(t *testing.T, k *jose.Key) []byte {
	t.Helper()
	b, err := k.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func publicJWK(t *testing.T, k *jose.Key) []byte {
	t.Helper()
	b, err := k.PublicJWK()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalPEM(t *testing.T, k *jose.Key) []byte {
	t.Helper()
	b, err := k.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tamper flips one character of the signature.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestKeyFiles(t *testing.T) {
	f := newFixture(t)
	verify := []string{"token", "verify", "--iss", testIss, "--aud", testAud}
	tests := []struct {
		name string
		args []string
	}{
		{name: "verify with private JWK", args: append(verify, "--key", f.priv, f.token)},
		{name: "verify with JWK Set", args: append(verify, "--key", f.set, f.token)},
		{name: "verify with JWK Set, --alg", args: append(verify, "--key", f.set, "--alg", "ES256", f.token)},
		{name: "verify with JWK Set, --kid", args: append(verify, "--key", f.set, "--kid", "es", f.token)},
		{name: "verify with public PEM", args: append(verify, "--key", f.pemPub, "--alg", "ES256", "--kid", "es", f.token)},
		{name: "verify with private PEM", args: append(verify, "--key", f.pemPriv, "--alg", "ES256", "--kid", "es", f.token)},
		{name: "public JWK of PEM", args: []string{"keys", "public", "--alg", "ES256", f.pemPriv}},
		{name: "public JWK Set", args: []string{"keys", "public", f.set}},
		{name: "sign with JWK Set and --kid", args: []string{"jws", "sign", "--key", f.set, "--kid", "other", f.pub}},
		{name: "sign with RSA PEM", args: []string{"jws", "sign", "--key", f.rsaPEM, "--alg", "PS256", f.pub}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustLatch(t, nil, tt.args...)
		})
	}

	t.Run("public JWK Set keeps both keys", func(t *testing.T) {
		out := mustLatch(t, nil, "keys", "public", f.set)
		set, err := jose.ParseJWKSet([]byte(out))
		if err != nil || set.Len() != 2 || set.Lookup("other") == nil || set.Lookup("other").IsPrivate() {
			t.Errorf("latch keys public %s: got %s (%v), want the two public keys", f.set, out, err)
		}
	})
	t.Run("public key from stdin", func(t *testing.T) {
		raw, _ := os.ReadFile(f.priv)
		out := mustLatch(t, raw, "keys", "public")
		if want := string(publicJWK(t, f.pubKey)); compact(t, out) != want {
			t.Errorf("latch keys public < priv.json: got %s, want %s", out, want)
		}
	})
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("%q is not JSON: %v", s, err)
	}
	return b.String()
}

func TestTokenInput(t *testing.T) {
	f := newFixture(t)
	verify := []string{"token", "verify", "--key", f.pub, "--iss", testIss, "--aud", testAud}
	tests := []struct {
		name  string
		stdin string
		arg   []string
	}{
		{name: "inline", arg: []string{f.token}},
		{name: "stdin with newline", stdin: f.token + "\n"},
		{name: "dash with surrounding space", stdin: "\n  " + f.token + " \r\n", arg: []string{"-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustLatch(t, []byte(tt.stdin), append(verify, tt.arg...)...)
		})
	}
}

func TestTokenSignClaims(t *testing.T) {
	f := newFixture(t)
	now := testNow.Unix()
	tests := []struct {
		name   string
		args   []string
		stdin  string
		want   map[string]any // claims that must be present with these values
		absent []string
	}{
		{
			name: "defaults",
			args: []string{"--claims", `{"sub":"alice"}`},
			want: map[string]any{"sub": "alice", "iat": now, "nbf": now, "exp": now + 15*60},
		},
		{
			name: "ttl",
			args: []string{"--claims", `{"sub":"alice"}`, "--ttl", "1h"},
			want: map[string]any{"exp": now + 3600},
		},
		{
			name: "explicit times and jti are kept",
			args: []string{"--claims", `{"iat":1000,"nbf":1001,"exp":2000,"jti":"mine"}`},
			want: map[string]any{"iat": int64(1000), "nbf": int64(1001), "exp": int64(2000), "jti": "mine"},
		},
		{
			name: "typed and custom claims",
			args: []string{"--claims", `{"aud":["a","b"],"roles":["admin"],"scope":"x y","client_id":"c","sid":"s","n":1.5,"obj":{"k":[true,null]}}`},
			want: map[string]any{"aud": []any{"a", "b"}, "roles": []any{"admin"}, "scope": "x y", "client_id": "c",
				"sid": "s", "n": 1.5, "obj": map[string]any{"k": []any{true, nil}}},
		},
		{
			name:  "claims from stdin",
			args:  []string{"--claims", "@-"},
			stdin: `{"sub":"bob"}`,
			want:  map[string]any{"sub": "bob"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"token", "sign", "--key", f.priv}, tt.args...)
			tok := mustLatch(t, []byte(tt.stdin), args...)
			d, err := decodeToken(strings.TrimSpace(tok))
			if err != nil {
				t.Fatalf("latch %s: got %q, not decodable: %v", strings.Join(args, " "), tok, err)
			}
			var claims map[string]any
			dec := json.NewDecoder(bytes.NewReader(d.payload))
			if err := dec.Decode(&claims); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				got := claims[name]
				if n, ok := want.(int64); ok {
					want = float64(n)
				}
				if !jsonEqual(got, want) {
					t.Errorf("latch %s: got %s=%v, want %v", strings.Join(args, " "), name, got, want)
				}
			}
			if jti, _ := claims["jti"].(string); len(jti) < 4 {
				t.Errorf("latch %s: got jti %q, want one", strings.Join(args, " "), jti)
			}
		})
	}

	t.Run("default jti is 128 random bits", func(t *testing.T) {
		a, _ := decodeToken(strings.TrimSpace(mustLatch(t, nil, "token", "sign", "--key", f.priv, "--claims", "{}")))
		b, _ := decodeToken(strings.TrimSpace(mustLatch(t, nil, "token", "sign", "--key", f.priv, "--claims", "{}")))
		var ca, cb struct{ Jti string }
		json.Unmarshal(a.payload, &ca)
		json.Unmarshal(b.payload, &cb)
		raw, err := base64.RawURLEncoding.Strict().DecodeString(ca.Jti)
		if err != nil || len(raw) != 16 || ca.Jti == cb.Jti {
			t.Errorf("latch token sign: got jti %q and %q, want two distinct 16-byte base64url values", ca.Jti, cb.Jti)
		}
	})

	t.Run("typ", func(t *testing.T) {
		tok := mustLatch(t, nil, "token", "sign", "--key", f.priv, "--typ", "at+jwt", "--claims",
			`{"iss":"`+testIss+`","aud":"`+testAud+`"}`)
		args := []string{"token", "verify", "--key", f.pub, "--iss", testIss, "--aud", testAud, "--typ", "at+jwt"}
		mustLatch(t, []byte(tok), args...)
		args[len(args)-1] = "JWT"
		if r := latch(t, []byte(tok), args...); r.code != 1 || !strings.Contains(r.stderr, "wrong token type") {
			t.Errorf("latch %s: got exit %d, stderr %q, want 1 and wrong token type", strings.Join(args, " "), r.code, r.stderr)
		}
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestTokenVerifyClock(t *testing.T) {
	f := newFixture(t) // the token expires at testNow + 15m
	exp := testNow.Add(15 * time.Minute).Unix()
	at := itoa
	tests := []struct {
		name     string
		flags    []string
		wantCode int
	}{
		{name: "now", wantCode: 0},
		{name: "before exp", flags: []string{"--now", at(exp - 1), "--leeway", "0"}, wantCode: 0},
		{name: "at exp without leeway", flags: []string{"--now", at(exp), "--leeway", "0"}, wantCode: 1},
		{name: "within default leeway", flags: []string{"--now", at(exp + 10)}, wantCode: 0},
		{name: "past default leeway", flags: []string{"--now", at(exp + 30)}, wantCode: 1},
		{name: "within given leeway", flags: []string{"--now", at(exp + 100), "--leeway", "2m"}, wantCode: 0},
		{name: "before nbf", flags: []string{"--now", at(testNow.Unix() - 60), "--leeway", "0"}, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"token", "verify", "--key", f.pub, "--iss", testIss, "--aud", testAud}, tt.flags...)
			args = append(args, f.token)
			r := latch(t, nil, args...)
			if r.code != tt.wantCode {
				t.Errorf("latch %s: got exit %d (%s), want %d", strings.Join(tt.flags, " "), r.code, r.stderr, tt.wantCode)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestFailures(t *testing.T) {
	f := newFixture(t)
	big := bytes.Repeat([]byte("a"), maxPayloadSize+1)
	bigKey := writeFile(t, f.dir, "big.json", append([]byte(`{"kty":"EC","pad":"`), bytes.Repeat([]byte("a"), maxKeySize)...))
	garbage := writeFile(t, f.dir, "garbage.json", []byte(`{"kty":"EC","crv":"P-256","x":"AAAA"`))
	verify := func(extra ...string) []string {
		return append([]string{"token", "verify", "--key", f.pub, "--iss", testIss, "--aud", testAud}, extra...)
	}
	expired := itoa(testNow.Add(time.Hour).Unix())
	tests := []struct {
		name       string
		args       []string
		stdin      []byte
		wantCode   int
		wantStderr string // a substring of the error line
	}{
		// Rejected tokens.
		{name: "expired token", args: verify("--now", expired, f.token), wantCode: 1, wantStderr: "latch: error: token expired at 2026-01-01T00:15:00Z"},
		{name: "wrong iss", args: []string{"token", "verify", "--key", f.pub, "--iss", "https://evil.example", "--aud", testAud, f.token}, wantCode: 1, wantStderr: "wrong issuer"},
		{name: "wrong aud", args: []string{"token", "verify", "--key", f.pub, "--iss", testIss, "--aud", "billing", f.token}, wantCode: 1, wantStderr: "wrong audience"},
		{name: "tampered signature", args: verify(tamper(f.token)), wantCode: 1, wantStderr: "invalid signature"},
		{name: "tampered jws", args: []string{"jws", "verify", "--key", f.pub, tamper(f.token)}, wantCode: 1, wantStderr: "invalid signature"},
		{name: "unknown key", args: []string{"jws", "verify", "--key", f.hmac, f.token}, wantCode: 1, wantStderr: "unknown key"},
		{name: "garbage token", args: verify("not-a-token"), wantCode: 1, wantStderr: "malformed"},
		{name: "empty stdin token", args: verify(), wantCode: 1, wantStderr: "no token on standard input"},
		{name: "token is a file name", args: verify(f.pub), wantCode: 1, wantStderr: "is a file"},
		{name: "oversized token", args: verify(strings.Repeat("a", jose.DefaultMaxTokenSize+1)), wantCode: 1, wantStderr: "larger than 16 KiB"},
		{name: "oversized stdin token", args: verify("-"), stdin: big[:jose.DefaultMaxTokenSize+100], wantCode: 1, wantStderr: "token from standard input is larger than 16 KiB"},
		// Rejected keys.
		{name: "HMAC key has no public key", args: []string{"keys", "public", f.hmac}, wantCode: 1, wantStderr: "HMAC secret has no public JWK"},
		{name: "malformed key file", args: verify("--key", garbage, f.token), wantCode: 1, wantStderr: "key file " + garbage + ": malformed input"},
		{name: "not a key", args: []string{"keys", "public", "-"}, stdin: []byte("hello"), wantCode: 1, wantStderr: "not a JWK, JWK Set or PEM key"},
		{name: "missing key file", args: verify("--key", filepath.Join(f.dir, "nope.json"), f.token), wantCode: 1, wantStderr: "no such file"},
		{name: "oversized key file", args: verify("--key", bigKey, f.token), wantCode: 1, wantStderr: "larger than 1 MiB"},
		{name: "sign with public key", args: []string{"jws", "sign", "--key", f.pub, f.pub}, wantCode: 1, wantStderr: "holds no private key"},
		{name: "sign with set, no kid", args: []string{"jws", "sign", "--key", f.set, f.pub}, wantCode: 1, wantStderr: "holds 2 private keys: choose one with --kid"},
		{name: "sign with set, unknown kid", args: []string{"jws", "sign", "--key", f.set, "--kid", "x", f.pub}, wantCode: 1, wantStderr: `no key with kid "x"`},
		{name: "JWK alg differs from --alg", args: verify("--key", f.pub, "--alg", "ES384", f.token), wantCode: 1, wantStderr: "invalid key"},
		{name: "JWK Set, other kid", args: verify("--key", f.set, "--kid", "other", f.token), wantCode: 1, wantStderr: `unknown key: kid "es"`},
		{name: "PEM key, thumbprint kid", args: verify("--key", f.pemPub, "--alg", "ES256", f.token), wantCode: 1, wantStderr: `unknown key: kid "es"`},
		{name: "RSA PEM alg mismatch", args: []string{"jws", "sign", "--key", f.rsaPEM, "--alg", "ES256", f.pub}, wantCode: 1, wantStderr: "invalid key"},
		{name: "key and payload both on stdin", args: []string{"jws", "sign", "--key", "-"}, stdin: privateJWK(t, f.otherKey), wantCode: 1, wantStderr: "it holds the key"},
		// Rejected inputs.
		{name: "non-object claims", args: []string{"token", "sign", "--key", f.priv, "--claims", `["sub"]`}, wantCode: 1, wantStderr: "claims must be a JSON object"},
		{name: "invalid claims JSON", args: []string{"token", "sign", "--key", f.priv, "--claims", `{"sub":}`}, wantCode: 1, wantStderr: "claims are not valid JSON"},
		{name: "duplicate claim", args: []string{"token", "sign", "--key", f.priv, "--claims", `{"sub":"a","sub":"b"}`}, wantCode: 1, wantStderr: "duplicate member name"},
		{name: "exp not a number", args: []string{"token", "sign", "--key", f.priv, "--claims", `{"exp":"soon"}`}, wantCode: 1, wantStderr: "claim exp must be a number"},
		{name: "fractional iat", args: []string{"token", "sign", "--key", f.priv, "--claims", `{"iat":1.5}`}, wantCode: 1, wantStderr: "claim iat must be a whole number"},
		{name: "aud a number", args: []string{"token", "sign", "--key", f.priv, "--claims", `{"aud":7}`}, wantCode: 1, wantStderr: "claim aud must be a string or an array of strings"},
		{name: "roles a string", args: []string{"token", "sign", "--key", f.priv, "--claims", `{"roles":"admin"}`}, wantCode: 1, wantStderr: "claim roles must be an array of strings"},
		{name: "sub null", args: []string{"token", "sign", "--key", f.priv, "--claims", `{"sub":null}`}, wantCode: 1, wantStderr: "claim sub must be a string"},
		{name: "exp before 1970", args: []string{"token", "sign", "--key", f.priv, "--claims", `{"exp":-5}`}, wantCode: 1, wantStderr: "outside 1970..9999"},
		{name: "missing claims file", args: []string{"token", "sign", "--key", f.priv, "--claims", "@" + filepath.Join(f.dir, "nope")}, wantCode: 1, wantStderr: "claims: "},
		{name: "oversized payload", args: []string{"jws", "sign", "--key", f.priv}, stdin: big, wantCode: 1, wantStderr: "payload from standard input is larger than 16 MiB"},
		{name: "undecodable token", args: []string{"token", "decode", "a.b"}, wantCode: 1, wantStderr: "2 segments"},
		// Usage errors.
		{name: "missing --iss", args: []string{"token", "verify", "--key", f.pub, "--aud", testAud, f.token}, wantCode: 2, wantStderr: "--iss is required"},
		{name: "missing --aud", args: []string{"token", "verify", "--key", f.pub, "--iss", testIss, f.token}, wantCode: 2, wantStderr: "--aud is required"},
		{name: "missing --key", args: []string{"jws", "verify", f.token}, wantCode: 2, wantStderr: "--key is required"},
		{name: "missing --claims", args: []string{"token", "sign", "--key", f.priv}, wantCode: 2, wantStderr: "--claims is required"},
		{name: "missing --alg", args: []string{"keys", "generate"}, wantCode: 2, wantStderr: "--alg is required"},
		{name: "PEM without --alg", args: verify("--key", f.pemPub, f.token), wantCode: 2, wantStderr: "key file " + f.pemPub + " is PEM: --alg is required"},
		{name: "PEM without --alg, keys public", args: []string{"keys", "public", f.pemPriv}, wantCode: 2, wantStderr: "PEM: --alg is required"},
		{name: "alg none", args: []string{"keys", "generate", "--alg", "none"}, wantCode: 2, wantStderr: "never accepted"},
		{name: "unknown alg", args: []string{"keys", "generate", "--alg", "RS1"}, wantCode: 2, wantStderr: "unsupported algorithm"},
		{name: "unknown flag", args: []string{"token", "decode", "--frobnicate"}, wantCode: 2, wantStderr: "flag provided but not defined: -frobnicate"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "unknown subcommand", args: []string{"keys", "frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "unknown flag on group", args: []string{"--frobnicate"}, wantCode: 2, wantStderr: "unknown flag --frobnicate"},
		{name: "no command", args: nil, wantCode: 2, wantStderr: "missing command"},
		{name: "group without command", args: []string{"token"}, wantCode: 2, wantStderr: "missing command"},
		{name: "flag after argument", args: []string{"token", "decode", f.token, "--key", "x"}, wantCode: 2, wantStderr: "flags go first"},
		{name: "extra argument", args: []string{"keys", "generate", "--alg", "ES256", "extra"}, wantCode: 2, wantStderr: "unexpected argument"},
		{name: "bad ttl", args: []string{"token", "sign", "--key", f.priv, "--claims", "{}", "--ttl", "-1m"}, wantCode: 2, wantStderr: "--ttl must be positive"},
		{name: "bad duration", args: verify("--leeway", "soon", f.token), wantCode: 2, wantStderr: "invalid value"},
		{name: "negative leeway", args: verify("--leeway", "-1s", f.token), wantCode: 2, wantStderr: "--leeway must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := latch(t, tt.stdin, tt.args...)
			cmd := "latch " + truncate(strings.Join(tt.args, " "), 200)
			if r.code != tt.wantCode {
				t.Errorf("%s: got exit %d, want %d; stderr: %s", cmd, r.code, tt.wantCode, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if !strings.HasPrefix(lines[0], "latch: error: ") || !strings.Contains(lines[0], tt.wantStderr) {
				t.Errorf("%s: got stderr %q, want a first line starting %q containing %q", cmd, r.stderr, "latch: error: ", tt.wantStderr)
			}
			switch tt.wantCode {
			case 1:
				if len(lines) != 1 {
					t.Errorf("%s: got %d stderr lines %q, want exactly one", cmd, len(lines), r.stderr)
				}
			case 2:
				if !strings.Contains(r.stderr, "\nusage: latch") {
					t.Errorf("%s: got stderr %q, want the usage", cmd, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("%s: got stdout %q, want none", cmd, r.stdout)
			}
			if strings.Contains(r.stderr, f.token) || strings.Contains(r.stderr, `"d":`) {
				t.Errorf("%s: got stderr %q, which shows the token or key material", cmd, r.stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string // the first line of the help
	}{
		{args: []string{"--help"}, want: "usage: latch <command> [arguments]"},
		{args: []string{"-h"}, want: "usage: latch <command> [arguments]"},
		{args: []string{"help"}, want: "usage: latch <command> [arguments]"},
		{args: []string{"help", "token", "verify"}, want: "usage: latch token verify --key FILE --iss ISS"},
		{args: []string{"keys", "--help"}, want: "usage: latch keys <command>"},
		{args: []string{"keys", "generate", "--help"}, want: "usage: latch keys generate --alg ALG"},
		{args: []string{"token", "sign", "-h"}, want: "usage: latch token sign --key FILE --claims JSON|@FILE"},
		{args: []string{"token", "decode", "--help"}, want: "usage: latch token decode [--max-token-size N] [--size] [TOKEN|-]"},
		{args: []string{"jws", "verify", "--help"}, want: "usage: latch jws verify --key FILE"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out := mustLatch(t, nil, tt.args...)
			if !strings.HasPrefix(out, tt.want) {
				t.Errorf("latch %s: got %q, want it to start with %q", strings.Join(tt.args, " "), out, tt.want)
			}
		})
	}
	t.Run("root lists every command", func(t *testing.T) {
		out := mustLatch(t, nil, "help")
		for _, cmd := range []string{"keys generate", "keys public", "jws sign", "jws verify", "token sign", "token verify", "token decode", "version"} {
			if !strings.Contains(out, "\n  "+cmd+" ") {
				t.Errorf("latch help: got %q, want it to list %q", out, cmd)
			}
		}
	})
}

func TestVersion(t *testing.T) {
	out := mustLatch(t, nil, "version")
	if !strings.HasPrefix(out, "latch ") || !strings.HasSuffix(out, ")\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("latch version: got %q, want one line %q", out, "latch VERSION (GOVERSION)")
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jwt: token expired at 2026-01-01T00:15:00Z", "token expired at 2026-01-01T00:15:00Z"},
		{"jose: malformed input: jose: non-canonical base64url: header", "malformed input: non-canonical base64url: header"},
		{"key file k.json: jose: invalid key: x", "key file k.json: invalid key: x"},
		{"two\nlines", "two lines"},
	}
	for _, tt := range tests {
		if got := errorText(errorString(tt.in)); got != tt.want {
			t.Errorf("errorText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
