package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// unsigned builds a token from header and payload JSON with a dummy
// signature; decode never checks it.
func unsigned(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "." + enc([]byte("sig"))
}

func TestTokenDecode(t *testing.T) {
	now := testNow.Unix()
	es := `{"alg":"ES256","typ":"JWT"}`
	fine := fmt.Sprintf(`{"sub":"alice","iat":%d,"exp":%d}`, now, now+900)
	tests := []struct {
		name  string
		token string
		want  []string // substrings of the warnings, in order; none for nil
	}{
		{name: "clean", token: unsigned(es, fine)},
		{name: "alg none", token: unsigned(`{"alg":"none"}`, fine), want: []string{`alg "none": the token is unsigned`}},
		{name: "alg NoNe", token: unsigned(`{"alg":"NoNe"}`, fine), want: []string{`alg "NoNe": the token is unsigned`}},
		{name: "unsupported alg", token: unsigned(`{"alg":"HS1"}`, fine), want: []string{`alg "HS1" is not supported`}},
		{name: "no alg", token: unsigned(`{}`, fine), want: []string{"header has no alg"}},
		{name: "jku and jwk", token: unsigned(`{"alg":"RS256","jku":"https://evil.example/keys","jwk":{}}`, fine),
			want: []string{`header member "jwk"`, `header member "jku"`}},
		{name: "x5u", token: unsigned(`{"alg":"RS256","x5u":"https://evil.example/cert"}`, fine), want: []string{`header member "x5u"`}},
		{name: "missing exp", token: unsigned(es, `{"sub":"alice"}`), want: []string{"no exp claim"}},
		{name: "exp not a number", token: unsigned(es, `{"exp":"tomorrow"}`), want: []string{"claim exp is not a number"}},
		{name: "expired", token: unsigned(es, fmt.Sprintf(`{"iat":%d,"exp":%d}`, now-900, now-1)),
			want: []string{"token expired at 2025-12-31T23:59:59Z"}},
		{name: "lifetime over 24h", token: unsigned(es, fmt.Sprintf(`{"iat":%d,"exp":%d}`, now, now+48*3600)),
			want: []string{"lifetime is 48h0m0s (exp - iat), over 24h"}},
		{name: "expires in over 24h", token: unsigned(es, fmt.Sprintf(`{"exp":%d}`, now+30*24*3600)),
			want: []string{"token expires in 720h0m0s, over 24h"}},
		{name: "fractional exp", token: unsigned(es, fmt.Sprintf(`{"iat":%d,"exp":%d.5}`, now, now+60))},
		{name: "oversized", token: unsigned(es, fmt.Sprintf(`{"iat":%d,"exp":%d,"pad":"%s"}`, now, now+60, strings.Repeat("x", 1000))),
			want: []string{"token is 1434 bytes, over 1 KiB"}},
		{name: "sensitive claims", token: unsigned(es, fmt.Sprintf(`{"exp":%d,"Password":"x","user":{"credit_card":"4111","ssn":"1"},"refresh_token":"r","email":"a@example.com","token_type":"Bearer","classname":"c"}`, now+60)),
			want: []string{`claim "Password" looks sensitive`, `claim "refresh_token" looks sensitive`, `claim "user.credit_card"`, `claim "user.ssn"`}},
		{name: "duplicate claim", token: unsigned(es, fmt.Sprintf(`{"exp":%d,"sub":"a","sub":"b"}`, now+60)),
			want: []string{"a member name repeats in the payload"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := latch(t, nil, "token", "decode", tt.token)
			if r.code != 0 {
				t.Fatalf("latch token decode %s: got exit %d (%s), want 0", tt.name, r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "{\n  \"header\": {") || !strings.Contains(r.stdout, "\n  \"payload\": {") {
				t.Errorf("latch token decode %s: got stdout %q, want header and payload objects", tt.name, r.stdout)
			}
			var got []string
			if r.stderr != "" {
				got = strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("latch token decode %s: got warnings %q, want %d: %q", tt.name, got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], "latch: warning: ") || !strings.Contains(got[i], w) {
					t.Errorf("latch token decode %s: got warning %q, want %q", tt.name, got[i], w)
				}
			}
		})
	}
}

func TestTokenDecodeOutput(t *testing.T) {
	tok := unsigned(`{"alg":"ES256","kid":"k<1>"}`, `{"exp":1767226500,"b":[1,2],"a":"x&y"}`)
	want := `{
  "header": {
    "alg": "ES256",
    "kid": "k<1>"
  },
  "payload": {
    "exp": 1767226500,
    "b": [
      1,
      2
    ],
    "a": "x&y"
  },
  "size": {
    "token": 95,
    "header": 38,
    "payload": 51,
    "signature": 4,
    "header_json": 28,
    "payload_json": 38,
    "signature_raw": 3,
    "claims": {
      "exp": 16,
      "a": 9,
      "b": 9
    }
  }
}
`
	if r := latch(t, []byte(tok+"\n"), "token", "decode"); r.stdout != want || r.code != 0 {
		t.Errorf("latch token decode: got exit %d, stdout\n%s\nwant 0 and\n%s", r.code, r.stdout, want)
	}
}

func TestTokenDecodeRefusesGarbage(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	es := enc([]byte(`{"alg":"ES256"}`))
	obj := enc([]byte(`{"sub":"a"}`))
	tests := []struct {
		name, token, want string
	}{
		{name: "one segment", token: "garbage", want: "1 segments, want 3"},
		{name: "JWE", token: "a.b.c.d.e", want: "encrypted JWE"},
		{name: "bad base64 header", token: "e30=." + obj + ".c2ln", want: "header is not unpadded base64url"},
		{name: "standard alphabet", token: es + "." + obj + "+/.c2ln", want: "payload is not unpadded base64url"},
		{name: "bad signature", token: es + "." + obj + ".c2ln=", want: "signature is not unpadded base64url"},
		{name: "header not JSON", token: enc([]byte("alg")) + "." + obj + ".c2ln", want: "header is not JSON"},
		{name: "payload not JSON", token: es + "." + enc([]byte("\x00\x01binary")) + ".c2ln", want: "payload is not JSON"},
		{name: "payload an array", token: es + "." + enc([]byte(`["a"]`)) + ".c2ln", want: "payload is not a JSON object"},
		{name: "empty payload", token: es + "..c2ln", want: "payload is not JSON"},
		{name: "duplicate and broken", token: es + "." + enc([]byte(`{"a":1,"a":`)) + ".c2ln", want: "payload is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := latch(t, nil, "token", "decode", tt.token)
			if r.code != 1 || r.stdout != "" || !isErrorLine(r.stderr) || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("latch token decode %s: got exit %d, stdout %q, stderr %q; want 1, nothing, one error line with %q",
					tt.name, r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

// isErrorLine reports whether stderr is exactly one "latch: error: " line.
func isErrorLine(stderr string) bool {
	return strings.HasPrefix(stderr, "latch: error: ") && strings.Count(stderr, "\n") == 1 && strings.HasSuffix(stderr, "\n")
}

func TestLooksSensitive(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"password", true}, {"user_password", true}, {"PASSWD", true}, {"client_secret", true},
		{"ssn", true}, {"credit-card", true}, {"cardNumber", true}, {"cvv", true}, {"api_key", true},
		{"private_key", true}, {"access_token", true}, {"token", true}, {"pin", true},
		{"sub", false}, {"email", false}, {"phone_number", false}, {"token_type", false},
		{"classname", false}, {"spinner", false}, {"scope", false},
	}
	for _, tt := range tests {
		if got := looksSensitive(tt.name); got != tt.want {
			t.Errorf("looksSensitive(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestTokenDecodeSize: decode reports the size of each part and of each
// top-level claim, largest first, in its JSON output and as text with
// --size; a payload with a repeated name gets no claim sizes.
func TestTokenDecodeSize(t *testing.T) {
	big := strings.Repeat("x", 3000)
	tests := []struct {
		name       string
		token      string
		wantClaims string // the JSON of size.claims
		wantText   []string
	}{
		{name: "large claim first", token: unsigned(`{"alg":"ES256"}`, `{"sub":"alice","notes":"`+big+`","exp":1767226500}`),
			wantClaims: `{"notes":3010,"exp":16,"sub":13}`,
			wantText:   []string{"token        4084 bytes\n", "payload      4058 bytes (3043 bytes of JSON)\n", "signature       4 bytes (3 bytes)\n", "  notes   3010\n  exp       16\n  sub       13\n"}},
		{name: "escaped name", token: unsigned(`{"alg":"ES256"}`, `{"a\u001bb":1}`),
			wantClaims: `{"a\u001bb":12}`, wantText: []string{`  "a\x1bb"     12`}},
		{name: "duplicate name", token: unsigned(`{"alg":"ES256"}`, `{"a":1,"a":2}`), wantClaims: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := latch(t, nil, "token", "decode", tt.token)
			var out struct {
				Size struct {
					Token, Header, Payload, Signature int
					Claims                            json.RawMessage
				}
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
				t.Fatalf("latch token decode: exit %d, %v:\n%s", r.code, err, r.stdout)
			}
			s := out.Size
			if s.Token != len(tt.token) || s.Header+s.Payload+s.Signature+2 != s.Token {
				t.Errorf("size = %+v, want token %d = header + payload + signature + 2 dots", s, len(tt.token))
			}
			var compact bytes.Buffer
			json.Compact(&compact, s.Claims)
			if compact.String() != tt.wantClaims {
				t.Errorf("size.claims = %s, want %s", compact.String(), tt.wantClaims)
			}

			r = latch(t, nil, "token", "decode", "--size", tt.token)
			if r.code != 0 || strings.Contains(r.stdout, "{") && tt.name != "escaped name" {
				t.Errorf("latch token decode --size: exit %d, stdout %q; want 0 and text", r.code, r.stdout)
			}
			wantInert(t, "latch token decode --size", r.stdout)
			for _, w := range tt.wantText {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("latch token decode --size = %q, want %q in it", r.stdout, w)
				}
			}
		})
	}
}
