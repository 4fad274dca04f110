package feed_test

// SETs are signed and checked here against a published JWK Set; their
// poll-based delivery is tested over real HTTP in internal/server.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/revocation"
)

const (
	setIssuer   = "https://auth.latch.test"
	setAudience = "c_0123456789abcdef0123456789abcdef"
)

// setParams are the parameters of the SETs of these tests, issued at
// base plus a minute.
var setParams = feed.SETParams{Issuer: setIssuer, Audience: setAudience, IssuedAt: base.Add(time.Minute)}

// TestSETPayload pins the exact claims of each kind's SET: they are the
// reference SignSET documents for receivers in any language.
func TestSETPayload(t *testing.T) {
	// base is 1772366400; setParams.IssuedAt 1772366460.
	tests := []struct {
		name   string
		ev     revocation.Event
		userID string
		want   string
	}{
		{
			name:   "session with its user",
			ev:     revocation.Event{Seq: 7, Kind: revocation.KindSession, ID: "sid-1", At: base, Expires: base.Add(time.Hour), Reason: "logout"},
			userID: "u_1",
			want: `{"iss":"https://auth.latch.test","jti":"7","iat":1772366460,"aud":"c_0123456789abcdef0123456789abcdef",` +
				`"sub_id":{"format":"complex","session":{"format":"opaque","id":"sid-1"},"user":{"format":"iss_sub","iss":"https://auth.latch.test","sub":"u_1"}},` +
				`"events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":{"event_timestamp":1772366400,"reason_admin":{"en":"logout"},"latch_expires":1772370000}}}`,
		},
		{
			name: "session without its user",
			ev:   revocation.Event{Seq: 8, Kind: revocation.KindSession, ID: "sid-2", At: base, Expires: base.Add(time.Hour), Reason: "reuse"},
			want: `{"iss":"https://auth.latch.test","jti":"8","iat":1772366460,"aud":"c_0123456789abcdef0123456789abcdef",` +
				`"sub_id":{"format":"complex","session":{"format":"opaque","id":"sid-2"}},` +
				`"events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":{"event_timestamp":1772366400,"reason_admin":{"en":"reuse"},"latch_expires":1772370000}}}`,
		},
		{
			name: "token",
			ev:   revocation.Event{Seq: 9, Kind: revocation.KindToken, ID: "jti-1", At: base, Expires: base.Add(time.Hour), Reason: "admin"},
			want: `{"iss":"https://auth.latch.test","jti":"9","iat":1772366460,"aud":"c_0123456789abcdef0123456789abcdef",` +
				`"sub_id":{"format":"jwt_id","iss":"https://auth.latch.test","jti":"jti-1"},` +
				`"events":{"urn:latch:secevent:token-revoked":{"jti":"jti-1","event_timestamp":1772366400,"reason_admin":{"en":"admin"},"latch_expires":1772370000}}}`,
		},
		{
			name: "subject",
			ev:   revocation.Event{Seq: 10, Kind: revocation.KindSubject, ID: "u_2", At: base, Expires: base.Add(time.Hour), Reason: "role_change"},
			want: `{"iss":"https://auth.latch.test","jti":"10","iat":1772366460,"aud":"c_0123456789abcdef0123456789abcdef",` +
				`"sub_id":{"format":"iss_sub","iss":"https://auth.latch.test","sub":"u_2"},` +
				`"events":{"urn:latch:secevent:subject-tokens-revoked":{"sub_id":{"format":"iss_sub","iss":"https://auth.latch.test","sub":"u_2"},` +
				`"issued_at_or_before":1772366400,"event_timestamp":1772366400,"reason_admin":{"en":"role_change"},"latch_expires":1772370000}}}`,
		},
		{
			name: "subject revoked at the epoch",
			ev:   revocation.Event{Seq: 11, Kind: revocation.KindSubject, ID: "u_3", At: time.Unix(0, 0), Expires: time.Unix(60, 0)},
			want: `{"iss":"https://auth.latch.test","jti":"11","iat":1772366460,"aud":"c_0123456789abcdef0123456789abcdef",` +
				`"sub_id":{"format":"iss_sub","iss":"https://auth.latch.test","sub":"u_3"},` +
				`"events":{"urn:latch:secevent:subject-tokens-revoked":{"sub_id":{"format":"iss_sub","iss":"https://auth.latch.test","sub":"u_3"},` +
				`"issued_at_or_before":0,"event_timestamp":0,"latch_expires":60}}}`,
		},
		{
			name: "key without a reason",
			ev:   revocation.Event{Seq: 12, Kind: revocation.KindKey, ID: "kid-1", At: base, Expires: base.Add(time.Hour)},
			want: `{"iss":"https://auth.latch.test","jti":"12","iat":1772366460,"aud":"c_0123456789abcdef0123456789abcdef",` +
				`"sub_id":{"format":"opaque","id":"kid-1"},` +
				`"events":{"urn:latch:secevent:signing-key-revoked":{"kid":"kid-1","event_timestamp":1772366400,"latch_expires":1772370000}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := setParams
			p.UserID = tt.userID
			got, err := feed.SETPayload(tt.ev, p)
			if err != nil || string(got) != tt.want {
				t.Errorf("SETPayload(%+v) =\n%s, %v\nwant\n%s, nil", tt.ev, got, err, tt.want)
			}
		})
	}
}

// signingKey returns an ES256 key and the JWK Set it is published in, as
// a receiver fetches it.
func signingKey(t *testing.T) (*jose.Key, *jose.KeySet) {
	t.Helper()
	key, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.Public()
	if err != nil {
		t.Fatal(err)
	}
	set, err := jose.NewKeySet(pub)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := set.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	published, err := jose.ParseJWKSet(jwks)
	if err != nil {
		t.Fatalf("ParseJWKSet(%s) = %v, want nil", jwks, err)
	}
	return key, published
}

func TestSignSET(t *testing.T) {
	key, jwks := signingKey(t)
	for _, ev := range []revocation.Event{
		{Seq: 1, Kind: revocation.KindSession, ID: "sid-1", At: base, Expires: base.Add(time.Hour), Reason: "logout"},
		{Seq: 2, Kind: revocation.KindToken, ID: "jti-1", At: base, Expires: base.Add(time.Hour)},
		{Seq: 3, Kind: revocation.KindSubject, ID: "u_1", At: base, Expires: base.Add(time.Hour)},
		{Seq: 4, Kind: revocation.KindKey, ID: "kid-1", At: base, Expires: base.Add(time.Hour)},
	} {
		t.Run(string(ev.Kind), func(t *testing.T) {
			tok, err := feed.SignSET(key, ev, setParams)
			if err != nil {
				t.Fatalf("SignSET(%+v) = %v, want nil", ev, err)
			}
			hdr, payload, err := jose.Verify(tok, jwks, jose.VerifyOptions{})
			if err != nil {
				t.Fatalf("Verify(SET of %s) with the JWKS = %v, want nil", ev.Kind, err)
			}
			if hdr.Type != feed.SETType || hdr.Algorithm != jose.ES256 || hdr.KeyID != key.KeyID() {
				t.Errorf("SET header = %+v, want typ %s, alg ES256, kid %s", hdr, feed.SETType, key.KeyID())
			}
			want, _ := feed.SETPayload(ev, setParams)
			if !bytes.Equal(payload, want) {
				t.Errorf("SET payload = %s, want %s", payload, want)
			}
		})
	}
}

// TestSignSETTampered checks that a SET changed in transit is refused,
// for the reason its change calls for.
func TestSignSETTampered(t *testing.T) {
	key, jwks := signingKey(t)
	ev := revocation.Event{Seq: 5, Kind: revocation.KindToken, ID: "jti-1", At: base, Expires: base.Add(time.Hour)}
	tok, err := feed.SignSET(key, ev, setParams)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	enc := base64.RawURLEncoding.EncodeToString
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withHeader := func(alg string) string {
		h := bytes.Replace(dec(parts[0]), []byte(`"alg":"ES256"`), []byte(`"alg":"`+alg+`"`), 1)
		return enc(h) + "." + parts[1] + "." + parts[2]
	}
	payload := dec(parts[1])
	payload[bytes.IndexByte(payload, 'j')] = 'J' // "jti" -> "Jti"

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"payload byte changed", parts[0] + "." + enc(payload) + "." + parts[2], jose.ErrSignature},
		{"another event's payload", parts[0] + "." + enc(bytes.Replace(dec(parts[1]), []byte(`"jti":"5"`), []byte(`"jti":"6"`), 1)) + "." + parts[2], jose.ErrSignature},
		{"alg none", withHeader("none"), jose.ErrUnsupportedAlgorithm},
		{"alg HS256 (key confusion)", withHeader("HS256"), jose.ErrAlgorithmMismatch},
		{"alg ES384", withHeader("ES384"), jose.ErrAlgorithmMismatch},
		{"signature cut short", parts[0] + "." + parts[1] + "." + enc(dec(parts[2])[:61]), jose.ErrSignature},
		// 85 characters leave a lone sixth-bit group: never valid base64url.
		{"signature cut mid-character", parts[0] + "." + parts[1] + "." + parts[2][:85], jose.ErrMalformed},
		{"signature removed", parts[0] + "." + parts[1] + ".", jose.ErrSignature},
		{"unsigned", parts[0] + "." + parts[1], jose.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr, got, err := jose.Verify(tt.token, jwks, jose.VerifyOptions{})
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify(%s) = %v, want %v", tt.name, err, tt.want)
			}
			if err == nil || got != nil || hdr != (jose.Header{}) {
				t.Errorf("Verify(%s) = %+v, %q, %v, want zero results and an error", tt.name, hdr, got, err)
			}
		})
	}

	// A SET signed by another key is refused too.
	other, _ := signingKey(t)
	forged, err := feed.SignSET(other, ev, setParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := jose.Verify(forged, jwks, jose.VerifyOptions{}); !errors.Is(err, jose.ErrUnknownKey) {
		t.Errorf("Verify(SET signed by an unpublished key) = %v, want %v", err, jose.ErrUnknownKey)
	}
}

func TestSignSETRefuses(t *testing.T) {
	key, _ := signingKey(t)
	hmac, err := jose.GenerateKey(jose.HS256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.Public()
	if err != nil {
		t.Fatal(err)
	}
	good := revocation.Event{Seq: 1, Kind: revocation.KindToken, ID: "jti-1", At: base, Expires: base.Add(time.Hour)}
	tests := []struct {
		name string
		key  *jose.Key
		ev   revocation.Event
		p    feed.SETParams
		want error // nil: any error
	}{
		{"HMAC key", hmac, good, setParams, jose.ErrInvalidKey},
		{"public key", pub, good, setParams, jose.ErrInvalidKey},
		{"no key", nil, good, setParams, jose.ErrInvalidKey},
		{"seq 0", key, revocation.Event{Kind: revocation.KindToken, ID: "x", At: base, Expires: base}, setParams, revocation.ErrMalformed},
		{"unknown kind", key, revocation.Event{Seq: 1, Kind: "user", ID: "x", At: base, Expires: base}, setParams, revocation.ErrMalformed},
		{"empty id", key, revocation.Event{Seq: 1, Kind: revocation.KindToken, At: base, Expires: base}, setParams, revocation.ErrMalformed},
		{"id not UTF-8", key, revocation.Event{Seq: 1, Kind: revocation.KindToken, ID: "\xff", At: base, Expires: base}, setParams, revocation.ErrMalformed},
		{"user not UTF-8", key, revocation.Event{Seq: 1, Kind: revocation.KindSession, ID: "s", At: base, Expires: base}, feed.SETParams{Issuer: setIssuer, Audience: setAudience, UserID: "\xff"}, revocation.ErrMalformed},
		{"no issuer", key, good, feed.SETParams{Audience: setAudience}, nil},
		{"no audience", key, good, feed.SETParams{Issuer: setIssuer}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := feed.SignSET(tt.key, tt.ev, tt.p)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || tok != "" {
				t.Errorf("SignSET(%s) = %q, %v, want \"\", %v", tt.name, tok, err, tt.want)
			}
		})
	}
}

// FuzzSETPayload checks that every event the feed can carry makes a SET
// payload that is strict JSON (no duplicate members) and says what the
// event says, and that every other event is refused.
func FuzzSETPayload(f *testing.F) {
	f.Add(int64(1), "session", "sid-1", "logout", int64(1772366400), int64(1772370000), "u_1")
	f.Add(int64(2), "token", "jti\"<&>\u2028", "admin", int64(0), int64(0), "")
	f.Add(int64(3), "subject", "ünïcödé", "", int64(253402300799), int64(1), "")
	f.Add(int64(4), "key", "kid", "key_revoked", int64(5), int64(6), "")
	f.Add(int64(0), "user", "\xff", "x", int64(-1), int64(1<<40), "\xfe")
	f.Fuzz(func(t *testing.T, seq int64, kind, id, reason string, at, exp int64, userID string) {
		ev := revocation.Event{Seq: seq, Kind: revocation.Kind(kind), ID: id, Reason: reason, At: time.Unix(at, 0), Expires: time.Unix(exp, 0)}
		p := setParams
		p.UserID = userID
		payload, err := feed.SETPayload(ev, p)
		_, evErr := ev.AppendJSON(nil)
		if evErr != nil || !utf8.ValidString(userID) {
			if err == nil {
				t.Fatalf("SETPayload(%+v, user %q) = %s, want an error", ev, userID, payload)
			}
			return
		}
		if err != nil {
			t.Fatalf("SETPayload(%+v, user %q) = %v, want nil", ev, userID, err)
		}
		if err := strictjson.Validate(payload); err != nil {
			t.Fatalf("SETPayload(%+v) = %s: not strict JSON: %v", ev, payload, err)
		}
		var c struct {
			JTI    string                     `json:"jti"`
			SubID  map[string]any             `json:"sub_id"`
			Events map[string]json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatalf("SETPayload(%+v) = %s: %v", ev, payload, err)
		}
		if len(c.Events) != 1 || c.JTI != strconv.FormatInt(seq, 10) {
			t.Fatalf("SETPayload(%+v) = %s: want one event and jti %d", ev, payload, seq)
		}
		var body struct {
			JTI            string            `json:"jti"`
			KID            string            `json:"kid"`
			EventTimestamp int64             `json:"event_timestamp"`
			ReasonAdmin    map[string]string `json:"reason_admin"`
			Expires        int64             `json:"latch_expires"`
		}
		for _, raw := range c.Events {
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
		}
		if body.EventTimestamp != at || body.Expires != exp || body.ReasonAdmin["en"] != reason {
			t.Errorf("SETPayload(%+v) = %s: times or reason differ", ev, payload)
		}
		var subject string
		switch ev.Kind {
		case revocation.KindSession:
			subject, _ = c.SubID["session"].(map[string]any)["id"].(string)
		case revocation.KindToken:
			subject, _ = c.SubID["jti"].(string)
			if body.JTI != id {
				t.Errorf("SETPayload(%+v): event jti %q, want %q", ev, body.JTI, id)
			}
		case revocation.KindSubject:
			subject, _ = c.SubID["sub"].(string)
		case revocation.KindKey:
			subject, _ = c.SubID["id"].(string)
			if body.KID != id {
				t.Errorf("SETPayload(%+v): event kid %q, want %q", ev, body.KID, id)
			}
		}
		if subject != id {
			t.Errorf("SETPayload(%+v) = %s: subject %q, want %q", ev, payload, subject, id)
		}
	})
}
