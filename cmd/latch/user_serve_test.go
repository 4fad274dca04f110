package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestServeUserClaims runs the whole path of custom claims: "latch user
// claims" on a running server's data, a login whose access token carries
// them, a change that the next refresh picks up, "latch token decode
// --size" on the token, and a cookie-mode login refused because the
// claims make the cookie too large, with the server's ERROR log naming
// the claim.
func TestServeUserClaims(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0")
	addUser(t, data, "alice@example.com", alicePassword)
	claims := func(tok string) map[string]json.RawMessage {
		t.Helper()
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	mustCLI(t, "", "user", "claims", "--data", data, "--email", "alice@example.com", "--set", "dept=sales,tier=gold", "--set-json", `limits={"daily":500}`)
	tk := d.login("alice@example.com", alicePassword)
	if m := claims(tk.AccessToken); string(m["dept"]) != `"sales"` || string(m["tier"]) != `"gold"` || string(m["limits"]) != `{"daily":500}` {
		t.Errorf("access token after latch user claims = %v, want dept, tier and limits", m)
	}

	mustCLI(t, "", "user", "claims", "--data", data, "--email", "alice@example.com", "--unset", "tier", "--set", "dept=support")
	var next serveTokens
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), ""), &next); err != nil {
		t.Fatal(err)
	}
	if m := claims(next.AccessToken); string(m["dept"]) != `"support"` || m["tier"] != nil {
		t.Errorf("access token after a change and a refresh = %v, want dept support and no tier", m)
	}
	out := mustCLI(t, next.AccessToken, "token", "decode", "--size")
	if !strings.Contains(out, "\n  dept ") || !strings.HasPrefix(out, "token  ") {
		t.Errorf("latch token decode --size = %q, want the token's size and its dept claim", out)
	}

	// Claims that make the access cookie over 4096 bytes: cookie mode is
	// refused, JSON mode is not.
	for _, name := range []string{"notes", "notes2", "notes3"} {
		mustCLI(t, "", "user", "claims", "--data", data, "--email", "alice@example.com", "--set", name+"="+strings.Repeat("n", 1000))
	}
	d.wantErrorCode(http.StatusInternalServerError, "token_too_large", "POST", "/v1/login?mode=cookie", credentials("alice@example.com", alicePassword), "")
	l := d.waitLog("request failed")
	if err := l.str("err"); !strings.Contains(err, "__Host-latch_at") || !strings.Contains(err, "notes:1010") || strings.Contains(err, "nnnn") {
		t.Errorf("ERROR log err %q, want the cookie and the claim notes:1010 named, and no value", err)
	}
	d.login("alice@example.com", alicePassword)
	d.stopGracefully()
}
