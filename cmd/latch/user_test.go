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
