package interop

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// TestDPoPNodeClient runs a DPoP client nobody on latch wrote, panva's
// "dpop" npm package under the machine's Node.js (dpop/client.mjs),
// against "latch serve": a login with a proof yields a DPoP-bound token
// whose cnf.jkt is the package's own thumbprint of its key; /v1/me takes
// the token with a proof, refuses the proof replayed and the token sent as
// Bearer; a refresh with a proof of the same key works. Against "latch
// serve --dpop-nonce" the first login is refused 400 use_dpop_nonce with
// a DPoP-Nonce, the client retries with the nonce in the package's proof
// (RFC 9449 §8) and goes on with the nonces latch sends; a proof with a
// nonce latch never handed out is refused at /v1/me with 401 and a
// `DPoP error="use_dpop_nonce"` challenge (§9). .ci/run installs the
// package (npm install in interop/dpop); the test skips without Node or
// the package.
func TestDPoPNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join("dpop", "node_modules", "dpop", "package.json")); err != nil {
		t.Skip("the dpop npm package is not installed: run npm install in interop/dpop")
	}
	for _, mode := range []struct {
		name  string
		args  []string
		nonce bool
	}{
		{"no nonce", nil, false},
		{"server nonce", []string{"--dpop-nonce"}, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			d := startLatch(t, mode.args...)
			const email, password = "dpop@example.com", "correct horse battery staple"
			userID := d.addUser(t, email, password)
			for _, alg := range []string{"ES256", "PS256"} {
				t.Run(alg, func(t *testing.T) {
					runDPoPNodeClient(t, node, d, alg, email, password, userID, mode.nonce)
				})
			}
		})
	}
}

func runDPoPNodeClient(t *testing.T, node string, d *latchd, alg, email, password, userID string, nonce bool) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = "dpop"
	cmd.Env = append(os.Environ(), "LATCH_BASE=http://"+d.addr, "LATCH_ISSUER="+d.issuer,
		"LATCH_EMAIL="+email, "LATCH_PASSWORD="+password, "DPOP_ALG="+alg)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s", err, b)
	}
	type answer struct {
		Status    int    `json:"status"`
		TokenType string `json:"token_type"`
		ID        string `json:"id"`
		Error     string `json:"error"`
		Challenge string `json:"challenge"`
		Sent      bool   `json:"sent"`
		Retried   any    `json:"retried"` // true, or the retry's status
	}
	var out struct {
		JKT                                string `json:"jkt"`
		AccessToken                        string `json:"access_token"`
		Login, Me, Replay, Bearer, Refresh answer
		Nonce                              answer
		Stale                              *answer
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("client output %q: %v", b, err)
	}
	if out.Login.Status != 200 || out.Login.TokenType != "DPoP" {
		t.Fatalf("login with the package's proof = %+v, want 200 DPoP", out.Login)
	}
	if nonce {
		if out.Nonce.Status != 400 || out.Nonce.Error != "use_dpop_nonce" || !out.Nonce.Sent || out.Nonce.Retried != true {
			t.Errorf("first login without a nonce = %+v, want 400 use_dpop_nonce with a DPoP-Nonce, then a retry that succeeds", out.Nonce)
		}
		if s := out.Stale; s == nil || s.Status != 401 || s.Error != "use_dpop_nonce" ||
			!strings.HasPrefix(s.Challenge, `DPoP error="use_dpop_nonce"`) || s.Retried != float64(200) {
			t.Errorf("/v1/me with a nonce latch never sent = %+v, want 401 use_dpop_nonce with a DPoP challenge, then 200 on retry", s)
		}
	} else if out.Nonce.Status != 200 || out.Nonce.Sent {
		t.Errorf("login without --dpop-nonce = %+v, want 200 at once and no DPoP-Nonce", out.Nonce)
	}
	keys, err := jose.ParseJWKSet(runJWKS(t, d))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewValidator(keys, d.issuer, d.audience, jwt.ValidatorOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Parse(out.AccessToken)
	if err != nil || claims.Confirmation.JKT != out.JKT {
		t.Errorf("access token cnf.jkt = %q, %v; want the package's thumbprint %q", claims.Confirmation.JKT, err, out.JKT)
	}
	if out.Me.Status != 200 || out.Me.ID != userID {
		t.Errorf("/v1/me with the package's proof = %+v, want 200 for %s", out.Me, userID)
	}
	if out.Replay.Status != 401 || out.Replay.Error != "invalid_dpop_proof" {
		t.Errorf("/v1/me with the proof replayed = %+v, want 401 invalid_dpop_proof", out.Replay)
	}
	if out.Bearer.Status != 401 || out.Bearer.Error != "invalid_token" {
		t.Errorf("/v1/me with the bound token as Bearer = %+v, want 401 invalid_token", out.Bearer)
	}
	if out.Refresh.Status != 200 || out.Refresh.TokenType != "DPoP" {
		t.Errorf("refresh with the package's proof = %+v, want 200 DPoP", out.Refresh)
	}
}

// runJWKS fetches the server's JWKS.
func runJWKS(t *testing.T, d *latchd) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+d.addr+"/.well-known/jwks.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
