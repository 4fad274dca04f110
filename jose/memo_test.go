package jose_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/latch-auth/latch/jose"
)

// TestHeaderMemo checks that reusing the parse of a header that verified
// before changes no outcome: tokens with the same header bytes are still
// checked in full, and other headers are parsed afresh.
func TestHeaderMemo(t *testing.T) {
	a, err := jose.GenerateKey(jose.HS256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := jose.GenerateKey(jose.HS256)
	if err != nil {
		t.Fatal(err)
	}
	set, err := jose.NewKeySet(a, b)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(k *jose.Key, payload string, opts jose.SignOptions) string {
		t.Helper()
		tok, err := jose.Sign(k, []byte(payload), opts)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(a, "one", jose.SignOptions{Type: "JWT"})
	forged := strings.SplitN(good, ".", 2)[0] + "." + strings.Join(strings.Split(sign(b.WithKeyID(a.KeyID()), "two", jose.SignOptions{Type: "JWT"}), ".")[1:], ".")
	steps := []struct {
		name    string
		token   string
		want    string
		hdr     jose.Header
		wantErr error
	}{
		{name: "first use parses the header", token: good, want: "one", hdr: jose.Header{Algorithm: jose.HS256, KeyID: a.KeyID(), Type: "JWT"}},
		{name: "same header, forged signature", token: forged, wantErr: jose.ErrSignature},
		{name: "same header again", token: sign(a, "three", jose.SignOptions{Type: "JWT"}), want: "three", hdr: jose.Header{Algorithm: jose.HS256, KeyID: a.KeyID(), Type: "JWT"}},
		{name: "other key's header", token: sign(b, "four", jose.SignOptions{Type: "JWT"}), want: "four", hdr: jose.Header{Algorithm: jose.HS256, KeyID: b.KeyID(), Type: "JWT"}},
		{name: "other type", token: sign(a, "five", jose.SignOptions{Type: "at+jwt"}), want: "five", hdr: jose.Header{Algorithm: jose.HS256, KeyID: a.KeyID(), Type: "at+jwt"}},
		{name: "no kid", token: sign(a, "six", jose.SignOptions{Type: "JWT", OmitKeyID: true}), want: "six", hdr: jose.Header{Algorithm: jose.HS256, KeyID: a.KeyID(), Type: "JWT"}},
		{name: "no kid again", token: sign(a, "seven", jose.SignOptions{Type: "JWT", OmitKeyID: true}), want: "seven", hdr: jose.Header{Algorithm: jose.HS256, KeyID: a.KeyID(), Type: "JWT"}},
		// The same header bytes signed by the other key: the memo must
		// not have pinned the key a kid-less header was verified with.
		{name: "no kid, other key", token: sign(b, "eight", jose.SignOptions{Type: "JWT", OmitKeyID: true}), want: "eight", hdr: jose.Header{Algorithm: jose.HS256, KeyID: b.KeyID(), Type: "JWT"}},
		{name: "first header once more", token: good, want: "one", hdr: jose.Header{Algorithm: jose.HS256, KeyID: a.KeyID(), Type: "JWT"}},
	}
	for _, st := range steps {
		hdr, payload, err := jose.Verify(st.token, set, jose.VerifyOptions{})
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
			t.Fatalf("%s: Verify error = %v, want %v", st.name, err, st.wantErr)
		}
		if string(payload) != st.want {
			t.Fatalf("%s: payload = %q, want %q", st.name, payload, st.want)
		}
		if hdr != st.hdr {
			t.Fatalf("%s: header = %+v, want %+v", st.name, hdr, st.hdr)
		}
	}
}
