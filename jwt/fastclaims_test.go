package jwt

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// slowClaims reads payload with the general reader only.
func slowClaims(payload []byte) (Claims, error) {
	var c Claims
	return c, parseGeneral(payload, &c)
}

// sameDecoding reports whether the fast and general decoders gave the same
// claims: every field, times to the nanosecond and location, and the raw
// payload.
func sameDecoding(a, b Claims) bool {
	sameTime := func(x, y time.Time) bool {
		return x.Equal(y) && x.IsZero() == y.IsZero() && x.Location() == y.Location()
	}
	return a.Issuer == b.Issuer && a.Subject == b.Subject && reflect.DeepEqual(a.Audience, b.Audience) &&
		sameTime(a.ExpiresAt, b.ExpiresAt) && sameTime(a.NotBefore, b.NotBefore) && sameTime(a.IssuedAt, b.IssuedAt) &&
		a.ID == b.ID && a.ClientID == b.ClientID && a.SessionID == b.SessionID && a.Scope == b.Scope &&
		reflect.DeepEqual(a.Roles, b.Roles) && a.Nonce == b.Nonce && sameTime(a.AuthTime, b.AuthTime) &&
		a.AccessTokenHash == b.AccessTokenHash && reflect.DeepEqual(a.AMR, b.AMR) &&
		a.AuthorizedParty == b.AuthorizedParty && a.Email == b.Email && a.EmailVerified == b.EmailVerified &&
		a.Extra == nil && b.Extra == nil && string(a.raw) == string(b.raw)
}

func TestDecodeClaimsFast(t *testing.T) {
	taken := []string{
		benchPayload,
		`{}`,
		`{"iss":"a"}`,
		`{"exp":1}`,
		`{"exp":0}`,
		`{"aud":["a","b"],"roles":[]}`,
		`{"aud":[],"roles":["x"]}`,
		`{"email":"a@example.com","mfa":true,"tenant":null,"n":42,"groups":["a","b"],"empty":"","off":false}`,
		`{"client_id":"web","client_ix":"other","sid":"s-1","scope":"a b"}`,
		`{"exp":253402300799}`,
		`{"":"empty name"}`,
		idTokenPayload,
		`{"email_verified":false,"amr":[],"nonce":""}`,
		`{"email_verified":true}`,
		`{"auth_time":0,"at_hash":"x","azp":"y"}`,
		// Names that share a prefix with a registered one are other claims.
		`{"emails":"a","email_ve":"b","auth_tim":1,"at_hashes":"c","azpx":"d","nonces":"e","amr_":["f"],"client_idx":"g"}`,
	}
	for _, in := range taken {
		var fast Claims
		if !decodeClaimsFast([]byte(in), &fast) {
			t.Errorf("fast decoder passed on %s, which it should take", in)
			continue
		}
		slow, err := slowClaims([]byte(in))
		if err != nil {
			t.Errorf("general reader refuses %s: %v", in, err)
			continue
		}
		if !sameDecoding(fast, slow) {
			t.Errorf("%s: fast %+v, general %+v", in, fast, slow)
		}
	}
	// aud and roles share one allocation: appending to one must not
	// reach the other.
	var c Claims
	if !decodeClaimsFast([]byte(`{"aud":["a","b"],"roles":["r1","r2"]}`), &c) {
		t.Fatal("fast decoder passed on aud and roles arrays")
	}
	_ = append(c.Audience, "x")
	if !slices.Equal(c.Roles, []string{"r1", "r2"}) || !slices.Equal(c.Audience, Audience{"a", "b"}) {
		t.Errorf("appends reached the shared slice: aud %q roles %q", c.Audience, c.Roles)
	}
	c = Claims{}
	if !decodeClaimsFast([]byte(`{"roles":["r1"],"amr":["pwd","mfa"],"aud":["a"]}`), &c) {
		t.Fatal("fast decoder passed on roles, amr and aud arrays")
	}
	_ = append(c.Roles, "x")
	_ = append(c.AMR, "y")
	if !slices.Equal(c.AMR, []string{"pwd", "mfa"}) || !slices.Equal(c.Audience, Audience{"a"}) {
		t.Errorf("appends reached the shared slice: amr %q aud %q", c.AMR, c.Audience)
	}

	// Each of these is left to the general reader, which accepts some
	// (whitespace, escapes, floats, objects) and refuses others.
	passed := []string{
		``, `{`, `}`, `[]`, `{ "iss":"a"}`, `{"iss" :"a"}`, `{"iss":"a" }`, `{"iss":"a"} `,
		`{"i\u0073s":"a"}`, `{"iss":"\u0061"}`, `{"iss":"é"}`, `{"iss":1}`, `{"exp":"1"}`,
		`{"exp":1.5}`, `{"exp":-1}`, `{"exp":01}`, `{"exp":1e3}`, `{"exp":253402300800}`,
		`{"exp":1234567890123456}`, `{"iss":"a","iss":"b"}`, `{"x":1,"x":2}`, `{"x":{"y":1}}`,
		`{"x":[1]}`, `{"aud":["a",1]}`, `{"roles":"admin"}`, `{"roles":["a",]}`, `{"iss":"a",}`,
		`{"x":tru}`, `{"x":nul}`, `{"iss":"a"`, `{"iss":"a}`, `{"iss"}`, `{"iss":}`, `{,}`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`,
		`{"email_verified":"true"}`, `{"email_verified":null}`, `{"email_verified":1}`, `{"email_verified":tru}`,
		`{"auth_time":1.5}`, `{"auth_time":"1"}`, `{"amr":"pwd"}`, `{"nonce":1}`, `{"email":null}`,
		`{"nonce":"a","nonce":"b"}`, `{"email_verified":true,"email_verified":false}`,
	}
	for _, in := range passed {
		var fast Claims
		if decodeClaimsFast([]byte(in), &fast) {
			t.Errorf("fast decoder took %q, which it should leave to the general reader", in)
		}
	}
}

// FuzzDecodeClaimsFast checks that the fast decoder never disagrees with
// the general reader: what it takes, the general reader takes to the same
// claims.
func FuzzDecodeClaimsFast(f *testing.F) {
	addClaimsSeeds(f)
	f.Add([]byte(benchPayload))
	f.Add([]byte(`{"exp":1,"x":[],"y":true,"z":null,"a":"b"}`))
	f.Add([]byte(idTokenPayload))
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast Claims
		if !decodeClaimsFast(slices.Clone(in), &fast) {
			return
		}
		slow, err := slowClaims(slices.Clone(in))
		if err != nil {
			t.Fatalf("fast decoder took %q, general reader refuses it: %v", in, err)
		}
		if !sameDecoding(fast, slow) {
			t.Fatalf("%q: fast %+v, general %+v", in, fast, slow)
		}
	})
}
