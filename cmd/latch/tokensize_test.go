package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/latch-auth/latch/jose"
)

// TestMaxTokenSize: the commands that read a token refuse one over
// jose.DefaultMaxTokenSize, the limit every verifier built on the library
// applies by default, unless --max-token-size raises it; a token of
// exactly the limit passes, given as an argument or on standard input
// with its line break.
func TestMaxTokenSize(t *testing.T) {
	f := newFixture(t)
	// sized returns a token from f.priv (ES256) of exactly n bytes. Not
	// every length mod 4 is a base64url length, so the header's typ
	// varies too.
	sized := func(n int) string {
		t.Helper()
		claims := func(pad int) string {
			return `{"iss":"` + testIss + `","sub":"alice","aud":"` + testAud + `","pad":"` + strings.Repeat("p", pad) + `"}`
		}
		for _, typ := range []string{"JWT", "JWTx", "JWTxy"} {
			sign := func(pad int) string {
				return strings.TrimSpace(mustLatch(t, nil, "token", "sign", "--key", f.priv, "--typ", typ, "--claims", claims(pad)))
			}
			base := len(sign(0))
			// Each 3 pad bytes add 4 characters.
			for pad := max(0, (n-base)*3/4-4); pad < (n-base)*3/4+4; pad++ {
				if tok := sign(pad); len(tok) == n {
					return tok
				}
			}
		}
		t.Fatalf("no token of %d bytes", n)
		return ""
	}
	limit := jose.DefaultMaxTokenSize
	atLimit, over := sized(limit), sized(limit+2)
	verify := []string{"token", "verify", "--key", f.pub, "--iss", testIss, "--aud", testAud}
	jws := []string{"jws", "verify", "--key", f.pub}
	decode := []string{"token", "decode"}
	raise := []string{"--max-token-size", strconv.Itoa(2 * limit)}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStderr string // a substring; empty: no error line
	}{
		{name: "verify at the limit", args: cat(verify, []string{atLimit})},
		{name: "verify at the limit on stdin", args: verify, stdin: atLimit + "\n"},
		{name: "verify over the limit", args: cat(verify, []string{over}), wantCode: 1,
			wantStderr: "latch: error: token is larger than 16 KiB (--max-token-size raises the limit)"},
		{name: "verify over the limit on stdin", args: verify, stdin: over + "\n", wantCode: 1,
			wantStderr: "latch: error: token from standard input is larger than 16 KiB (--max-token-size raises the limit)"},
		{name: "verify with the limit raised", args: cat(verify, raise, []string{over})},
		{name: "verify with the limit raised, stdin", args: cat(verify, raise), stdin: over},
		{name: "verify with the limit lowered", args: cat(verify, []string{"--max-token-size", "1024", atLimit}), wantCode: 1, wantStderr: "larger than 1 KiB"},
		{name: "jws verify over the limit", args: cat(jws, []string{over}), wantCode: 1, wantStderr: "larger than 16 KiB"},
		{name: "jws verify with the limit raised", args: cat(jws, raise, []string{over})},
		{name: "decode over the limit", args: cat(decode, []string{over}), wantCode: 1, wantStderr: "larger than 16 KiB"},
		{name: "decode with the limit raised", args: cat(decode, raise, []string{over}), wantStderr: "warning: token is"},
		{name: "zero", args: cat(verify, []string{"--max-token-size", "0", over}), wantCode: 2, wantStderr: "--max-token-size must be from 1 to"},
		{name: "negative", args: cat(jws, []string{"--max-token-size", "-1", over}), wantCode: 2, wantStderr: "--max-token-size must be from 1 to"},
		{name: "over the most", args: cat(decode, []string{"--max-token-size", strconv.Itoa(maxJWSSize + 1), over}), wantCode: 2, wantStderr: "--max-token-size must be from 1 to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := latch(t, []byte(tt.stdin), tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d (stderr %q), want %d", r.code, truncate(r.stderr, 200), tt.wantCode)
			}
			if tt.wantStderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr %q, want %q", truncate(r.stderr, 300), tt.wantStderr)
			}
		})
	}

	t.Run("jws sign warns over the limit", func(t *testing.T) {
		payload := writeFile(t, f.dir, "big.bin", []byte(strings.Repeat("x", limit)))
		r := latch(t, nil, "jws", "sign", "--key", f.priv, payload)
		tok := strings.TrimSpace(r.stdout)
		want := fmt.Sprintf("latch: warning: the JWS is %d bytes, over the 16 KiB verifiers accept by default: verify it with --max-token-size %d\n", len(tok), len(tok))
		if r.code != 0 || r.stderr != want {
			t.Errorf("jws sign of %d bytes: exit %d, stderr %q; want 0, %q", limit, r.code, r.stderr, want)
		}
		small := latch(t, nil, "jws", "sign", "--key", f.priv, f.pub)
		if small.code != 0 || small.stderr != "" {
			t.Errorf("jws sign of a small file: exit %d, stderr %q; want 0 and no warning", small.code, small.stderr)
		}
	})
}
