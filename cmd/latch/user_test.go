package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
)

// wantInert fails the test if out holds a character that could act on a
// terminal: a control character other than a newline, or a format
// character (Unicode Cc, Cf).
func wantInert(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && unicode.In(r, unicode.Cc, unicode.Cf) {
			t.Errorf("%s writes U+%04X to the terminal: %q", what, r, out)
			return
		}
	}
}

// TestUserListPrintsSafely checks that "latch user list", as a table and
// as JSON, escapes what the database holds, including an e-mail address
// and a role from before validation with terminal escape sequences, a C1
// CSI and a bidi override in them.
func TestUserListPrintsSafely(t *testing.T) {
	data := t.TempDir()
	mustLatch(t, []byte("correct horse battery staple\n"), "user", "add", "--data", data, "--email", "alice@example.com", "--password-stdin")
	const (
		evilEmail = "mallory\x1b]0;owned\a\x1b[2J@example.com\u202e\u009b31m\x7f"
		evilRole  = "adm\x1b[8min"
	)
	db, err := sqlite.Open(t.Context(), filepath.Join(data, databaseFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.CreateUser(t.Context(), store.User{ID: "u_mallory", Email: evilEmail, PasswordHash: "x", Roles: []string{evilRole, "ops"}, CreatedAt: testNow, UpdatedAt: testNow})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	out := mustLatch(t, nil, "user", "list", "--data", data)
	wantInert(t, "latch user list", out)
	for _, want := range []string{`"mallory\x1b]0;owned\a\x1b[2J@example.com\u202e\u009b31m\x7f"`, `"adm\x1b[8min,ops"`, "alice@example.com "} {
		if !strings.Contains(out, want) {
			t.Errorf("latch user list = %q, want it to show %s", out, want)
		}
	}

	out = mustLatch(t, nil, "user", "list", "--data", data, "--json")
	wantInert(t, "latch user list --json", out)
	var rows []struct {
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("latch user list --json = %q: %v", out, err)
	}
	if len(rows) != 2 || rows[1].Email != evilEmail || len(rows[1].Roles) != 2 || rows[1].Roles[0] != evilRole {
		t.Errorf("latch user list --json = %+v, want alice and mallory's e-mail and roles unchanged by the escaping", rows)
	}

	// Messages that name the user escape it too.
	out = mustLatch(t, nil, "revoke", "--data", data, "--sub", "u_mallory")
	wantInert(t, "latch revoke", out)
}

// TestUserAddRefuses checks what "latch user add" and "latch user passwd"
// refuse: addresses with control or format characters, common passwords,
// the account's own address as its password, and over-long passwords.
func TestUserAddRefuses(t *testing.T) {
	data := t.TempDir()
	mustLatch(t, []byte("correct horse battery staple\n"), "user", "add", "--data", data, "--email", "Alice@Example.com", "--password-stdin")
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name   string
		stdin  string
		args   []string
		stderr string // a substring of the error
	}{
		{"escape in e-mail", "correct horse battery staple\n", []string{"add", "--email", "ali\x1b[2Jce@example.com", "--password-stdin"}, `"ali\x1b[2Jce@example.com" is not a valid e-mail address`},
		{"BEL in e-mail", "", []string{"add", "--email", "bob\a@example.com"}, `"bob\a@example.com" is not a valid e-mail address`},
		{"zero-width joiner in e-mail", "", []string{"add", "--email", "bo\u200db@example.com"}, `"bo\u200db@example.com" is not a valid e-mail address`},
		{"right-to-left override in e-mail", "", []string{"add", "--email", "bob@example.com\u202e"}, `is not a valid e-mail address`},
		{"full-width duplicate", "", []string{"add", "--email", "ＡＬＩＣＥ@ＥＸＡＭＰＬＥ.ＣＯＭ"}, "a user with e-mail alice@example.com already exists"},
		{"common password", "password\n", []string{"add", "--email", "bob@example.com", "--password-stdin"}, "this password is too common"},
		{"common password in capitals", "QWERTYUIOP\n", []string{"add", "--email", "bob@example.com", "--password-stdin"}, "this password is too common"},
		{"the address as password", "Bob.Builder@example.com\n", []string{"add", "--email", "bob.builder@example.com", "--password-stdin"}, "e-mail address"},
		{"the local part as password", "bob.builder\n", []string{"add", "--email", "Bob.Builder@example.com", "--password-stdin"}, "e-mail address"},
		{"too long", long + "\n", []string{"add", "--email", "bob@example.com", "--password-stdin"}, "password"},
		{"passwd: common password", "iloveyou\n", []string{"passwd", "--email", "alice@example.com", "--password-stdin"}, "this password is too common"},
		{"passwd: the address as password", "ALICE@example.com\n", []string{"passwd", "--email", "alice@example.com", "--password-stdin"}, "e-mail address"},
		{"passwd: too long", long + "\n", []string{"passwd", "--email", "alice@example.com", "--password-stdin"}, "password"},
		{"passwd: escape in e-mail", "correct horse battery staple\n", []string{"passwd", "--email", "alice\x1b@example.com", "--password-stdin"}, `"alice\x1b@example.com" is not a valid e-mail address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"user", tt.args[0], "--data", data}, tt.args[1:]...)
			r := latch(t, []byte(tt.stdin), args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "latch: error: ") || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("latch %q: exit %d, stderr %q; want exit 1 and an error with %q", args, r.code, r.stderr, tt.stderr)
			}
			wantInert(t, "latch "+tt.args[0], r.stderr)
			if len(tt.stdin) > 20 && strings.Contains(r.stderr, strings.TrimSpace(tt.stdin)) {
				t.Errorf("latch %q: stderr %q quotes the password", args, r.stderr)
			}
		})
	}
	out := mustLatch(t, nil, "user", "list", "--data", data)
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "alice@example.com") {
		t.Errorf("latch user list after refused commands = %q, want alice alone", out)
	}
}

func TestRoleFlagRefusesControlCharacters(t *testing.T) {
	for _, role := range []string{"adm\x1b[8min", "ops\u200b", "a\u202eb", "x\x7f", "", "a b", `a"b`, strings.Repeat("r", 65)} {
		var r roleFlag
		if err := r.Set(role); err == nil {
			t.Errorf("roleFlag.Set(%q) = nil, want an error", role)
		}
	}
	for _, role := range []string{"admin", "billing:read", "équipe", strings.Repeat("r", 64)} {
		var r roleFlag
		if err := r.Set(role); err != nil {
			t.Errorf("roleFlag.Set(%q) = %v, want nil", role, err)
		}
	}
}

func TestPrintableJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"plain, é ü 🔑"}`, `{"a":"plain, é ü 🔑"}`},
		{"{\"a\":\"x\x7fy\"}", `{"a":"x\u007fy"}`},
		{"{\"a\":\"\u009b31m\"}", `{"a":"\u009b31m"}`},
		{"{\"a\":\"\u202e\u200b\ufeff\"}", `{"a":"\u202e\u200b\ufeff"}`},
		{"{\"a\":\"\U000e0041\"}", `{"a":"\udb40\udc41"}`},
		{"{\n  \"a\": 1\n}", "{\n  \"a\": 1\n}"},
	}
	for _, tt := range tests {
		got := string(printableJSON([]byte(tt.in)))
		if got != tt.want {
			t.Errorf("printableJSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
		var a, b any
		if json.Unmarshal([]byte(tt.in), &a) != nil || json.Unmarshal([]byte(got), &b) != nil || !jsonEqual(a, b) {
			t.Errorf("printableJSON(%q) = %q, which does not decode to the same value", tt.in, got)
		}
	}
}

// TestVerifiedClaimsPrintInert prints a verified token whose claims hold
// terminal controls and a bidi override as raw UTF-8: the output escapes
// them and still decodes to the same claims.
func TestVerifiedClaimsPrintInert(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.json")
	if err := os.WriteFile(key, []byte(mustCLI(t, "", "keys", "generate", "--alg", "ES256")), 0o600); err != nil {
		t.Fatal(err)
	}
	claims := "{\"iss\":\"https://i.example\",\"aud\":\"a\",\"sub\":\"evil\u202e\u009b31m\x7f\",\"exp\":4102444800}"
	tok := mustCLI(t, "", "token", "sign", "--key", key, "--claims", claims)
	out := mustCLI(t, tok, "token", "verify", "--key", key, "--iss", "https://i.example", "--aud", "a")
	for _, raw := range []string{"\u202e", "\u009b", "\x7f"} {
		if strings.Contains(out, raw) {
			t.Errorf("latch token verify printed %q raw:\n%s", raw, out)
		}
	}
	var got struct{ Sub string }
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Sub != "evil\u202e\u009b31m\x7f" {
		t.Errorf("latch token verify output decodes to sub %q (%v), want the signed one:\n%s", got.Sub, err, out)
	}
}

// TestUserClaims: "latch user claims" shows, sets, replaces and removes a
// user's custom claims, revokes the user's tokens when they change (a
// subject revocation, reason claims_change, sessions kept), and refuses
// reserved names and invalid values with nothing written.
func TestUserClaims(t *testing.T) {
	data := t.TempDir()
	mustLatch(t, []byte("correct horse battery staple\n"), "user", "add", "--data", data, "--email", "alice@example.com", "--password-stdin")
	claims := func(args ...string) result {
		return latch(t, nil, append([]string{"user", "claims", "--data", data, "--email", "alice@example.com"}, args...)...)
	}
	steps := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // for exit 0: the whole output
		wantStderr string // for other exits: a substring
	}{
		{name: "none yet", wantStdout: "alice@example.com has no custom claims\n"},
		{name: "none as JSON", args: []string{"--json"}, wantStdout: "{}\n"},
		{name: "set strings and JSON", args: []string{"--set", "dept=sales,tier=gold", "--set-json", `limits={"daily": 500, "tags": ["a"]}`, "--set", "note=a=b"},
			wantStdout: "claims of alice@example.com changed; tokens issued until now are revoked, sessions stay (clients refresh to get the new claims)\n" +
				"dept = \"sales\"\nlimits = {\"daily\":500,\"tags\":[\"a\"]}\nnote = \"a=b\"\ntier = \"gold\"\n"},
		{name: "show", wantStdout: "dept = \"sales\"\nlimits = {\"daily\":500,\"tags\":[\"a\"]}\nnote = \"a=b\"\ntier = \"gold\"\n"},
		{name: "unset and replace", args: []string{"--unset", "tier,note", "--set", "dept=support", "--json"},
			wantStdout: "{\n  \"dept\": \"support\",\n  \"limits\": {\n    \"daily\": 500,\n    \"tags\": [\n      \"a\"\n    ]\n  }\n}\n"},
		{name: "reserved registered claim", args: []string{"--set", "sub=admin"}, wantCode: 1, wantStderr: `latch: error: reserved claim name: "sub"`},
		{name: "reserved access-token claim", args: []string{"--set-json", `roles=["admin"]`}, wantCode: 1, wantStderr: `reserved claim name: "roles"`},
		{name: "reserved ID-token claim", args: []string{"--set", "email=ceo@example.com"}, wantCode: 1, wantStderr: `reserved claim name: "email"`},
		{name: "reserved prefix", args: []string{"--set", "latch_admin=1"}, wantCode: 1, wantStderr: `reserved claim name: "latch_admin"`},
		{name: "bad name", args: []string{"--set", "my dept=x"}, wantCode: 1, wantStderr: `invalid custom claims: claim name "my dept"`},
		{name: "escape in name", args: []string{"--set", "de\x1b[2Jpt=x"}, wantCode: 1, wantStderr: `claim name "de\x1b[2Jpt"`},
		{name: "JSON with a duplicate member", args: []string{"--set-json", `o={"a":1,"a":2}`}, wantCode: 1, wantStderr: "duplicate member name"},
		{name: "not JSON", args: []string{"--set-json", "o={"}, wantCode: 2, wantStderr: "claim o: the value is not JSON"},
		{name: "value too large", args: []string{"--set", "big=" + strings.Repeat("x", 1100)}, wantCode: 1, wantStderr: "claim big is 1102 bytes, at most 1024"},
		{name: "too large together", args: []string{"--set", "a=" + strings.Repeat("x", 1000), "--set", "b=" + strings.Repeat("x", 1000),
			"--set", "c=" + strings.Repeat("x", 1000), "--set", "d=" + strings.Repeat("x", 1000), "--set", "e=" + strings.Repeat("x", 1000)}, wantCode: 1, wantStderr: "at most 4096"},
		{name: "not NAME=VALUE", args: []string{"--set", "dept"}, wantCode: 2, wantStderr: "dept is not NAME=VALUE"},
		{name: "set twice", args: []string{"--set", "a=1,a=2"}, wantCode: 2, wantStderr: "claim a is set twice"},
		{name: "set and unset", args: []string{"--set", "a=1", "--unset", "a"}, wantCode: 2, wantStderr: "claim a is both set and unset"},
		{name: "unchanged by the refusals", args: []string{"--json"},
			wantStdout: "{\n  \"dept\": \"support\",\n  \"limits\": {\n    \"daily\": 500,\n    \"tags\": [\n      \"a\"\n    ]\n  }\n}\n"},
		{name: "clear", args: []string{"--clear"}, wantStdout: "claims of alice@example.com changed; tokens issued until now are revoked, sessions stay (clients refresh to get the new claims)\nalice@example.com has no custom claims\n"},
	}
	for _, st := range steps {
		r := claims(st.args...)
		if r.code != st.wantCode {
			t.Fatalf("%s: latch user claims: exit %d (stderr %q), want %d", st.name, r.code, truncate(r.stderr, 300), st.wantCode)
		}
		if st.wantCode == 0 && (r.stdout != st.wantStdout || r.stderr != "") {
			t.Errorf("%s: latch user claims %q: stdout %q, stderr %q; want %q and nothing", st.name, st.args, r.stdout, r.stderr, st.wantStdout)
		}
		if st.wantCode != 0 && !strings.Contains(r.stderr, st.wantStderr) {
			t.Errorf("%s: latch user claims %q: stderr %q, want %q", st.name, st.args, r.stderr, st.wantStderr)
		}
		wantInert(t, "latch user claims", r.stderr)
	}

	// Each change revoked the user's tokens (three changes above), with
	// its own reason; refusals and shows revoked nothing.
	db, err := sqlite.Open(t.Context(), filepath.Join(data, databaseFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	revs, err := db.RevocationsSince(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range revs {
		if r.Kind == store.KindSubject && r.Reason == store.ReasonClaimsChange {
			n++
		}
	}
	if n != 3 || len(revs) != 3 {
		t.Errorf("revocations after three changes = %+v, want 3 subject revocations for claims_change", revs)
	}
	if out := latch(t, nil, "user", "claims", "--data", data, "--email", "nobody@example.com"); out.code != 1 || !strings.Contains(out.stderr, "no user with e-mail nobody@example.com") {
		t.Errorf("latch user claims for an unknown user: exit %d, stderr %q; want 1, no user", out.code, out.stderr)
	}
}
