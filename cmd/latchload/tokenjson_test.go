package main

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// realisticTokenResponse is a latch login or refresh response: an ES256
// access token of some 730 bytes, a 100-character refresh token and the
// other members latch sends, with a user object for good measure.
func realisticTokenResponse() []byte {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"ES256","kid":"k-2026-11-0f3a9c","typ":"at+jwt"}`))
	claims := enc.EncodeToString([]byte(`{"iss":"https://auth.example.com","sub":"usr_01J9Z3K4Q8W7X2M5N6B1V0C9D8",` +
		`"aud":["https://api.example.com"],"exp":1796400900,"iat":1796400000,"nbf":1796400000,` +
		`"jti":"4f1c0b9e-5d2a-4e7b-9c3f-8a6d1e2b7c40","sid":"ses_01J9Z3K4Q8W7X2M5N6B1V0C9D8",` +
		`"scope":"openid profile email orders:read orders:write","client_id":"latch-web","auth_time":1796399990,` +
		`"amr":["pwd"],"email":"latchload-user0@example.com","email_verified":true}`))
	sig := make([]byte, 64)
	for i := range sig {
		sig[i] = byte(i*37 + 11)
	}
	access := header + "." + claims + "." + enc.EncodeToString(sig)
	refresh := make([]byte, 75)
	for i := range refresh {
		refresh[i] = byte(i*101 + 7)
	}
	return []byte(`{"access_token":"` + access + `","token_type":"Bearer","expires_in":900,` +
		`"refresh_token":"` + enc.EncodeToString(refresh) + `","session_id":"ses_01J9Z3K4Q8W7X2M5N6B1V0C9D8",` +
		`"user":{"id":"usr_01J9Z3K4Q8W7X2M5N6B1V0C9D8","email":"latchload-user0@example.com","email_verified":true,` +
		`"created_at":"2026-11-02T09:14:00Z","roles":["user"],"mfa":null,"quota":{"used":1.5e3,"max":-20}}}`)
}

// compareWithEncodingJSON checks decodeTokenResponse(in) against
// json.Unmarshal, and that scanTokenResponse never answers for input
// json.Unmarshal reads otherwise. It reports whether scanTokenResponse
// answered.
func compareWithEncodingJSON(t *testing.T, in []byte) (fast bool) {
	t.Helper()
	var want tokenResponse
	wantErr := json.Unmarshal(in, &want)
	got, err := decodeTokenResponse(in)
	switch {
	case wantErr != nil && (err == nil || got != tokenResponse{}):
		t.Errorf("decodeTokenResponse(%q) = %+v, %v, want an error like json.Unmarshal's %v", in, got, err, wantErr)
	case wantErr == nil && (err != nil || got != want):
		t.Errorf("decodeTokenResponse(%q) = %+v, %v, want %+v as json.Unmarshal", in, got, err, want)
	}
	tr, ok := scanTokenResponse(in)
	if ok && (wantErr != nil || tr != want) {
		t.Errorf("scanTokenResponse(%q) = %+v, true, but json.Unmarshal returns %+v, %v", in, tr, want, wantErr)
	}
	return ok
}

func TestDecodeTokenResponse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    tokenResponse
		wantErr bool
		// fast is whether scanTokenResponse reads it; otherwise
		// json.Unmarshal does.
		fast bool
	}{
		{name: "all three", in: `{"access_token":"a","token_type":"Bearer","refresh_token":"r"}`,
			want: tokenResponse{"a", "Bearer", "r"}, fast: true},
		{name: "empty object", in: `{}`, fast: true},
		{name: "empty object with space", in: " \t\r\n{ \n}\n", fast: true},
		{name: "space everywhere", in: " { \"access_token\" \t: \"a\" , \"x\" : [ 1 , { } , [ ] ] }\r\n",
			want: tokenResponse{AccessToken: "a"}, fast: true},
		{name: "other members of every kind", in: `{"n":-0.5e+10,"z":0,"t":true,"f":false,"u":null,"s":"x","a":[1,"2",[3],{"4":5}],` +
			`"o":{"k":{"k":[{}]}},"refresh_token":"r"}`, want: tokenResponse{RefreshToken: "r"}, fast: true},
		{name: "skipped strings with braces and escaped quotes",
			in:   `{"x":"}{][\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00","y":["]",{"}":"\"}"}],"token_type":"Bearer"}`,
			want: tokenResponse{TokenType: "Bearer"}, fast: true},
		{name: "skipped non-ASCII and invalid UTF-8", in: "{\"x\":\"é\xff\",\"token_type\":\"t\"}",
			want: tokenResponse{TokenType: "t"}, fast: true},
		{name: "duplicate member: the last wins", in: `{"access_token":"a","access_token":"b"}`,
			want: tokenResponse{AccessToken: "b"}, fast: true},
		{name: "empty token", in: `{"access_token":""}`, fast: true},

		// Left to json.Unmarshal, and still right.
		{name: "escaped value", in: `{"access_token":"a\/b\u0041"}`, want: tokenResponse{AccessToken: "a/bA"}},
		{name: "non-ASCII value", in: `{"access_token":"é"}`, want: tokenResponse{AccessToken: "é"}},
		{name: "invalid UTF-8 value", in: "{\"access_token\":\"\xff\"}", want: tokenResponse{AccessToken: "\uFFFD"}},
		{name: "escaped name", in: `{"access\u005ftoken":"a"}`, want: tokenResponse{AccessToken: "a"}},
		{name: "name in other case", in: `{"Access_Token":"a"}`, want: tokenResponse{AccessToken: "a"}},
		{name: "name in upper case", in: `{"REFRESH_TOKEN":"r"}`, want: tokenResponse{RefreshToken: "r"}},
		{name: "name with the long s", in: `{"acceſſ_token":"a"}`, want: tokenResponse{AccessToken: "a"}},
		{name: "name with the Kelvin sign", in: "{\"access_to\u212Aen\":\"a\"}", want: tokenResponse{AccessToken: "a"}},
		{name: "name without the underscore", in: `{"accesstoken":"a"}`},
		{name: "null value", in: `{"access_token":"a","access_token":null}`, want: tokenResponse{AccessToken: "a"}},
		{name: "top-level null", in: `null`},
		{name: "deep nesting", in: `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"token_type":"t"}`,
			want: tokenResponse{TokenType: "t"}},
		{name: "number value", in: `{"access_token":1}`, wantErr: true},
		{name: "object value", in: `{"token_type":{}}`, wantErr: true},
		{name: "top-level array", in: `[]`, wantErr: true},
		{name: "top-level string", in: `"access_token"`, wantErr: true},

		// Invalid JSON.
		{name: "empty", in: ``, wantErr: true},
		{name: "space only", in: ` `, wantErr: true},
		{name: "unclosed", in: `{"access_token":"a"`, wantErr: true},
		{name: "unterminated string", in: `{"access_token":"a}`, wantErr: true},
		{name: "trailing comma", in: `{"access_token":"a",}`, wantErr: true},
		{name: "trailing comma in an array", in: `{"x":[1,]}`, wantErr: true},
		{name: "missing colon", in: `{"access_token" "a"}`, wantErr: true},
		{name: "missing comma", in: `{"a":1 "b":2}`, wantErr: true},
		{name: "single quotes", in: `{'a':1}`, wantErr: true},
		{name: "unquoted name", in: `{a:1}`, wantErr: true},
		{name: "trailing data", in: `{}x`, wantErr: true},
		{name: "two objects", in: `{}{}`, wantErr: true},
		{name: "leading zero", in: `{"x":01}`, wantErr: true},
		{name: "bare minus", in: `{"x":-}`, wantErr: true},
		{name: "bare point", in: `{"x":1.}`, wantErr: true},
		{name: "bare exponent", in: `{"x":1e}`, wantErr: true},
		{name: "plus sign", in: `{"x":+1}`, wantErr: true},
		{name: "truncated literal", in: `{"x":tru}`, wantErr: true},
		{name: "capital literal", in: `{"x":True}`, wantErr: true},
		{name: "bad escape", in: `{"x":"\x"}`, wantErr: true},
		{name: "short unicode escape", in: `{"x":"\u12"}`, wantErr: true},
		{name: "raw newline in a string", in: "{\"x\":\"a\nb\"}", wantErr: true},
		{name: "raw tab in a token", in: "{\"access_token\":\"a\tb\"}", wantErr: true},
		{name: "mismatched brackets", in: `{"x":[}`, wantErr: true},
		{name: "byte order mark", in: "\uFEFF{}", wantErr: true},
		{name: "NUL after", in: "{}\x00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeTokenResponse([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("decodeTokenResponse(%q) = %+v, %v, want %+v, error %t", tt.in, got, err, tt.want, tt.wantErr)
			}
			if fast := compareWithEncodingJSON(t, []byte(tt.in)); fast != tt.fast {
				t.Errorf("scanTokenResponse(%q) read it: %t, want %t", tt.in, fast, tt.fast)
			}
		})
	}
}

func TestDecodeTokenResponseRealistic(t *testing.T) {
	in := realisticTokenResponse()
	got, err := decodeTokenResponse(in)
	if err != nil || len(got.AccessToken) < 700 || strings.Count(got.AccessToken, ".") != 2 ||
		got.TokenType != "Bearer" || len(got.RefreshToken) != 100 {
		t.Errorf("decodeTokenResponse(%s) = %+v, %v, want a JWT, Bearer and a 100-character refresh token", in, got, err)
	}
	if !compareWithEncodingJSON(t, in) {
		t.Errorf("scanTokenResponse(%s) left it to json.Unmarshal", in)
	}
}

// TestDecodeTokenResponseMatchesEncodingJSON compares decodeTokenResponse
// with json.Unmarshal on generated documents, valid and, mutated,
// invalid ones.
func TestDecodeTokenResponseMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	var fast, valid int
	for range n {
		doc := genObject(rng, 0)
		if rng.IntN(2) == 0 {
			doc = mutate(rng, doc)
		}
		if compareWithEncodingJSON(t, doc) {
			fast++
		}
		if json.Valid(doc) {
			valid++
		}
		if t.Failed() {
			return
		}
	}
	// The generator must reach both paths, and both kinds of input.
	if fast < n/10 || valid < n/4 || valid > n*9/10 {
		t.Errorf("of %d documents, %d valid and %d read by scanTokenResponse: the generator misses a path", n, valid, fast)
	}
}

// genNames are the member names genObject uses: the three it reads,
// names json.Unmarshal matches to them other than exactly, and others.
var genNames = []string{
	"access_token", "token_type", "refresh_token", "access_token", "token_type", "refresh_token",
	"expires_in", "session_id", "user", "scope", "x", "",
	"Access_Token", "TOKEN_TYPE", "refresh_tokeN", "accesstoken", "token-type", "acceſſ_token", "refresh_to\u212Aen",
	`access\u005ftoken`, `token\u005Ftype`, `refresh_token\u0000`, `a\"b`, "é",
}

// genStrings are string contents for genValue: plain, escaped, non-ASCII
// and with JSON's delimiters inside.
var genStrings = []string{
	"", "a", "Bearer", "bearer", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln", "rt-1_x",
	`a\"b`, `\\`, `\/`, `\u0041`, `\uD83D\uDE00`, `\ud800`, `\n\t\r\b\f`,
	"{", "}", "[", "]", ",", ":", `}{"x":1}`, "é", "\xff", "\u2028",
}

func genObject(rng *rand.Rand, depth int) []byte {
	b := []byte{'{'}
	for i := range rng.IntN(6) {
		if i > 0 {
			b = append(b, ',')
		}
		b = genSpace(rng, b)
		b = append(b, '"')
		b = append(b, genNames[rng.IntN(len(genNames))]...)
		b = append(b, '"')
		b = genSpace(rng, b)
		b = append(b, ':')
		b = genSpace(rng, b)
		b = genValue(rng, b, depth+1)
		b = genSpace(rng, b)
	}
	return append(b, '}')
}

func genValue(rng *rand.Rand, b []byte, depth int) []byte {
	k := rng.IntN(10)
	if depth > 4 {
		k %= 6 // no deeper nesting
	}
	switch k {
	case 0, 1, 2:
		b = append(b, '"')
		b = append(b, genStrings[rng.IntN(len(genStrings))]...)
		return append(b, '"')
	case 3:
		return append(b, []string{"0", "-1", "12.5", "1e9", "-0.0E-3", "900"}[rng.IntN(6)]...)
	case 4:
		return append(b, []string{"true", "false", "null"}[rng.IntN(3)]...)
	case 5:
		return append(b, `"x"`...)
	case 6, 7:
		return append(b, genObject(rng, depth)...)
	}
	b = append(b, '[')
	for i := range rng.IntN(4) {
		if i > 0 {
			b = append(b, ',')
		}
		b = genSpace(rng, b)
		b = genValue(rng, b, depth+1)
	}
	return append(b, ']')
}

func genSpace(rng *rand.Rand, b []byte) []byte {
	if rng.IntN(4) == 0 {
		b = append(b, " \t\r\n"[rng.IntN(4)])
	}
	return b
}

// mutate changes one to three bytes of doc: a deletion, an insertion of
// a byte that matters to JSON, or a truncation.
func mutate(rng *rand.Rand, doc []byte) []byte {
	const bytes = "{}[]\",:\\ 0-.eEtfnu\x00\n\x7f\xc3"
	for range 1 + rng.IntN(3) {
		i := rng.IntN(len(doc) + 1)
		switch rng.IntN(3) {
		case 0:
			if i < len(doc) {
				doc = append(doc[:i], doc[i+1:]...)
			}
		case 1:
			doc = append(doc[:i], append([]byte{bytes[rng.IntN(len(bytes))]}, doc[i:]...)...)
		default:
			doc = doc[:i]
		}
	}
	return doc
}

func FuzzDecodeTokenResponse(f *testing.F) {
	f.Add(realisticTokenResponse())
	for _, s := range []string{
		`{}`, `{"access_token":"a","token_type":"Bearer","refresh_token":"r"}`,
		`{"x":"}{][\"\\","y":[{"}":"\"}"}],"token_type":"Bearer"}`, `{"Access_Token":"a"}`,
		`{"access_token":"a\/b"}`, `{"x":01}`, `{"x":[1,]}`, `null`, `[]`, `{"a":-0.5e+10}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		compareWithEncodingJSON(t, in)
	})
}

// TestDecodeTokenResponseAllocations holds the budget of the hot path:
// the three strings it returns.
func TestDecodeTokenResponseAllocations(t *testing.T) {
	in := realisticTokenResponse()
	if n := testing.AllocsPerRun(100, func() {
		if _, err := decodeTokenResponse(in); err != nil {
			t.Fatal(err)
		}
	}); n > 3 {
		t.Errorf("decodeTokenResponse of a token response allocates %v times, want at most 3", n)
	}
}

// tokenSink keeps benchmark results alive, without boxing them.
var tokenSink tokenResponse

func BenchmarkDecodeTokenResponse(b *testing.B) {
	in := realisticTokenResponse()
	b.Logf("%d-byte response", len(in))
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			tr, err := decodeTokenResponse(in)
			if err != nil {
				b.Fatal(err)
			}
			tokenSink = tr
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			var tr tokenResponse
			if err := json.Unmarshal(in, &tr); err != nil {
				b.Fatal(err)
			}
			tokenSink = tr
		}
	})
}
