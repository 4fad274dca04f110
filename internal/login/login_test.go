package login_test

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/internal/testclock"
)

// clock is the shared settable test clock.
type clock = testclock.Clock

const (
	alicePassword = "correct horse battery staple"
	bobPassword   = "Tr0ub4dor&3 but longer"
	wrongPassword = "hunter2 hunter2"
	clientAddr    = "192.0.2.10"
)

// fastParams are the cheapest Argon2id parameters password.New accepts,
// for tests that do not care about the cost.
var fastParams = password.Params{Memory: 8 * 1024, Time: 1}

// t0 is when every test's clock starts.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type fixture struct {
	db     *sqlite.DB
	hasher *password.Hasher
	clk    *clock
	auth   *login.Authenticator
}

// newFixture returns an Authenticator over a new store holding
// alice@example.com (enabled) and bob@example.com (disabled).
func newFixture(t *testing.T, cfg login.Config) fixture {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hasher, err := password.New(fastParams, 2)
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(t0)
	cfg.Now = clk.Now
	f := fixture{db: db, hasher: hasher, clk: clk, auth: login.New(db, db, hasher, cfg)}
	f.addUser(t, hasher, store.User{ID: "u-alice", Email: "alice@example.com", Roles: []string{"admin"}}, alicePassword)
	f.addUser(t, hasher, store.User{ID: "u-bob", Email: "bob@example.com", Disabled: true}, bobPassword)
	return f
}

func (f fixture) addUser(t *testing.T, h *password.Hasher, u store.User, pw string) {
	t.Helper()
	hash, err := h.Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash, u.CreatedAt, u.UpdatedAt = hash, t0, t0
	if err := f.db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
}

// fail logs in with a wrong password and checks that it is refused as
// invalid credentials; it returns the lock that failure caused (zero if
// none).
func (f fixture) fail(t *testing.T, email, addr string) time.Duration {
	t.Helper()
	u, err := f.auth.Login(t.Context(), email, wrongPassword, addr)
	if !errors.Is(err, login.ErrInvalidCredentials) || u.ID != "" {
		t.Fatalf("Login(%q, wrong password) = %q, %v; want zero user, %v", email, u.ID, err, login.ErrInvalidCredentials)
	}
	return retryAfter(err)
}

// retryAfter returns the wait a ThrottledError in err's chain asks for, or
// zero.
func retryAfter(err error) time.Duration {
	var te *login.ThrottledError
	if errors.As(err, &te) {
		return te.RetryAfter
	}
	return 0
}

func TestLoginSuccess(t *testing.T) {
	tests := []struct {
		name  string
		email string
		addr  string
	}{
		{"as stored", "alice@example.com", clientAddr},
		{"upper case", "ALICE@EXAMPLE.COM", clientAddr},
		{"mixed case", "Alice@Example.com", clientAddr},
		{"surrounding spaces", "  alice@example.com\t\n", clientAddr},
		{"no client address", "alice@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, login.Config{})
			u, err := f.auth.Login(t.Context(), tt.email, alicePassword, tt.addr)
			if err != nil {
				t.Fatalf("Login(%q, right password) error: %v", tt.email, err)
			}
			if u.ID != "u-alice" || u.Email != "alice@example.com" || len(u.Roles) != 1 || u.Roles[0] != "admin" {
				t.Errorf("Login(%q, right password) = %+v, want alice with role admin", tt.email, u)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"Alice@Example.COM", "alice@example.com"},
		{" alice@example.com ", "alice@example.com"},
		{"\talice@example.com\r\n", "alice@example.com"},
		{"ＡＬＩＣＥ@ＥＸＡＭＰＬＥ.ＣＯＭ", "alice@example.com"},
		{"ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "alice@example.com"},
		{"\u3000Alice@Example.com\u00a0", "alice@example.com"},
		{"ℌello@example.com", "hello@example.com"},
		{"ﬁnn@example.com", "finn@example.com"},
		{"ÉLODIE@EXAMPLE.FR", "élodie@example.fr"},
		{"E\u0301lodie@example.fr", "élodie@example.fr"},
		{"ΟΔΥΣΣΕΥΣ@example.gr", "οδυσσευσ@example.gr"},
		{"user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk"},
	}
	for _, tt := range tests {
		got, err := login.NormalizeEmail(tt.in)
		if got != tt.want || err != nil {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

// forbiddenInEmail are characters of the Unicode categories Cc (controls)
// and Cf (format), and others that are never in an address: they rewrite
// terminals (ESC, CSI), hide text (zero-width characters, tags) or
// reorder it (bidi controls).
var forbiddenInEmail = []struct {
	name string
	r    string
}{
	{"NUL", "\x00"}, {"BEL", "\a"}, {"BS", "\b"}, {"VT", "\v"}, {"ESC", "\x1b"}, {"DEL", "\x7f"},
	{"C1 NEL", "\u0085"}, {"C1 CSI", "\u009b"}, {"soft hyphen", "\u00ad"}, {"Arabic letter mark", "\u061c"},
	{"zero-width space", "\u200b"}, {"zero-width non-joiner", "\u200c"}, {"zero-width joiner", "\u200d"},
	{"left-to-right mark", "\u200e"}, {"right-to-left mark", "\u200f"}, {"left-to-right embedding", "\u202a"},
	{"right-to-left override", "\u202e"}, {"pop directional formatting", "\u202c"},
	{"first strong isolate", "\u2068"}, {"pop directional isolate", "\u2069"},
	{"word joiner", "\u2060"}, {"invisible separator", "\u2063"}, {"byte order mark", "\ufeff"},
	{"interlinear annotation", "\ufff9"}, {"tag space", "\U000e0020"}, {"tag cancel", "\U000e007f"},
	{"private use", "\ue000"}, {"line separator", "\u2028"}, {"paragraph separator", "\u2029"},
	{"space", " "}, {"no-break space", "\u00a0"}, {"ideographic space", "\u3000"}, {"tab", "\t"}, {"newline", "\n"},
}

func TestNormalizeEmailRefuses(t *testing.T) {
	for _, c := range forbiddenInEmail {
		for _, in := range []string{"ali" + c.r + "ce@example.com", "alice@exam" + c.r + "ple.com", "alice" + c.r + "@example.com", "alice@" + c.r + "example.com"} {
			t.Run(c.name, func(t *testing.T) {
				got, err := login.NormalizeEmail(in)
				if !errors.Is(err, login.ErrInvalidEmail) || got != "" {
					t.Errorf("NormalizeEmail(%q) = %q, %v; want \"\", %v", in, got, err, login.ErrInvalidEmail)
				}
			})
		}
	}
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"only space", " \t "},
		{"no at", "alice.example.com"},
		{"two at", "alice@bob@example.com"},
		{"full-width second at", "alice@bob＠example.com"},
		{"nothing before at", "@example.com"},
		{"no dot in domain", "alice@localhost"},
		{"domain ends in dot", "alice@example.com."},
		{"angle bracket", "<alice@example.com>"},
		{"quote", `"alice"@example.com`},
		{"full-width quote", "＂alice＂@example.com"},
		{"invalid UTF-8", "alice\xff@example.com"},
		{"too long", strings.Repeat("a", login.MaxEmailBytes-len("@example.com")+1) + "@example.com"},
		{"too long once normalized", strings.Repeat("㍿", 21) + "@example.com"}, // 75 bytes; NFKC "株式会社" each
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := login.NormalizeEmail(tt.in)
			if !errors.Is(err, login.ErrInvalidEmail) || got != "" {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want \"\", %v", tt.in, got, err, login.ErrInvalidEmail)
			}
			if err != nil && len(tt.in) > 3 && strings.Contains(err.Error(), tt.in) {
				t.Errorf("NormalizeEmail(%q) = %v, which quotes the address", tt.in, err)
			}
		})
	}
	longest := strings.Repeat("a", login.MaxEmailBytes-len("@example.com")) + "@example.com"
	if got, err := login.NormalizeEmail(longest); got != longest || err != nil {
		t.Errorf("NormalizeEmail(%d-byte address) = %v, want it accepted", len(longest), err)
	}
}

// FuzzNormalizeEmail checks that NormalizeEmail refuses its input with
// ErrInvalidEmail or returns an address that is its own normal form,
// valid UTF-8 in NFKC, with no upper case letter and nothing that
// strconv.IsPrint rejects (so no control or format character) but for
// characters that are printable only in combination.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", "ＡＬＩＣＥ@ＥＸＡＭＰＬＥ.ＣＯＭ", " Alice@Example.com\n", "a\x1bb@c.d", "ℌ@x.y", "İ@x.y", "ᴬ@x.y", "ß@x.y", "\u0345@x.y", "a\u200db@c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := login.NormalizeEmail(in)
		if err != nil {
			if !errors.Is(err, login.ErrInvalidEmail) || out != "" {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want \"\" and %v", in, out, err, login.ErrInvalidEmail)
			}
			return
		}
		again, err := login.NormalizeEmail(out)
		if again != out || err != nil {
			t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail(%q) = %q, %v; want it unchanged", in, out, out, again, err)
		}
		if !utf8.ValidString(out) || !norm.NFKC.IsNormalString(out) || strings.ToLower(out) != out || len(out) > login.MaxEmailBytes {
			t.Fatalf("NormalizeEmail(%q) = %q: not lower-case NFKC UTF-8 of at most %d bytes", in, out, login.MaxEmailBytes)
		}
		for _, r := range out {
			if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Z) {
				t.Fatalf("NormalizeEmail(%q) = %q, holding U+%04X", in, out, r)
			}
		}
	})
}

func TestLoginRejects(t *testing.T) {
	tests := []struct {
		name  string
		email string
		pw    string
		want  error
		not   error // must not match: no disclosure of which check failed
	}{
		{"wrong password", "alice@example.com", wrongPassword, login.ErrInvalidCredentials, login.ErrDisabled},
		{"unknown e-mail", "mallory@example.com", alicePassword, login.ErrInvalidCredentials, login.ErrDisabled},
		{"empty e-mail", "", alicePassword, login.ErrInvalidCredentials, login.ErrDisabled},
		{"empty password", "alice@example.com", "", login.ErrInvalidCredentials, login.ErrDisabled},
		{"other user's password", "alice@example.com", bobPassword, login.ErrInvalidCredentials, login.ErrDisabled},
		{"password with trailing space", "alice@example.com", alicePassword + " ", login.ErrInvalidCredentials, login.ErrDisabled},
		{"password in other case", "alice@example.com", strings.ToUpper(alicePassword), login.ErrInvalidCredentials, login.ErrDisabled},
		{"disabled, right password", "bob@example.com", bobPassword, login.ErrDisabled, login.ErrInvalidCredentials},
		{"disabled, wrong password", "bob@example.com", wrongPassword, login.ErrInvalidCredentials, login.ErrDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, login.Config{})
			u, err := f.auth.Login(t.Context(), tt.email, tt.pw, clientAddr)
			if !errors.Is(err, tt.want) || errors.Is(err, tt.not) {
				t.Errorf("Login(%q, %q) = %v, want %v (and not %v)", tt.email, tt.pw, err, tt.want, tt.not)
			}
			if u.ID != "" || u.PasswordHash != "" {
				t.Errorf("Login(%q, %q) returned user %q with an error; want the zero user", tt.email, tt.pw, u.ID)
			}
			if tt.pw != "" && strings.Contains(err.Error(), tt.pw) {
				t.Errorf("Login error %q contains the password", err)
			}
		})
	}
}

// allocated returns the bytes the process allocated while f ran. An
// Argon2id computation allocates its whole memory cost (8 MiB with
// fastParams), far more than anything else a login does, so this tells
// without a hook in the hasher whether f hashed a password. The tests of
// this package do not run in parallel.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// hashBytes is what one verification with fastParams allocates at least.
var hashBytes = uint64(fastParams.Memory) * 1024

// TestUnknownEmailRunsDummyVerify checks, without timing, that an unknown
// e-mail address goes through the hasher like a known one.
func TestUnknownEmailRunsDummyVerify(t *testing.T) {
	tests := []struct {
		name  string
		email string
	}{
		{"known e-mail", "alice@example.com"},
		{"unknown e-mail", "mallory@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, login.Config{})
			var err error
			n := allocated(func() { _, err = f.auth.Login(t.Context(), tt.email, wrongPassword, clientAddr) })
			if !errors.Is(err, login.ErrInvalidCredentials) {
				t.Fatalf("Login(%q, wrong password) = %v, want %v", tt.email, err, login.ErrInvalidCredentials)
			}
			if n < hashBytes {
				t.Errorf("Login(%q, wrong password) allocated %d bytes, want at least the %d of a verification", tt.email, n, hashBytes)
			}
		})
	}
}

// TestRefusedWithoutHashing checks the logins that no account can pass:
// a password longer than password.MaxBytes, and an address NormalizeEmail
// refuses. They fail like a wrong password, without hashing, and count
// against the account (when the address is valid) and the client address.
func TestRefusedWithoutHashing(t *testing.T) {
	tooLong := strings.Repeat("x", 2000)
	tests := []struct {
		name        string
		email, pw   string
		wantAccount int // failures counted against the account key
	}{
		{"too-long password, known e-mail", "alice@example.com", tooLong, 1},
		{"too-long password, unknown e-mail", "mallory@example.com", tooLong, 1},
		{"one byte too long", "Alice@Example.com", strings.Repeat("y", password.MaxBytes+1), 1},
		{"escape in e-mail", "alice\x1b[2J@example.com", alicePassword, 0},
		{"NUL in e-mail", "alice@example.com\x00", alicePassword, 0},
		{"zero-width space in e-mail", "alice\u200b@example.com", alicePassword, 0},
		{"not an address", "alice", alicePassword, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, login.Config{AccountLimit: 5, AddressLimit: 5})
			ctx := t.Context()
			var u store.User
			var err error
			n := allocated(func() { u, err = f.auth.Login(ctx, tt.email, tt.pw, clientAddr) })
			if !errors.Is(err, login.ErrInvalidCredentials) || errors.Is(err, password.ErrPasswordTooLong) || errors.Is(err, login.ErrInvalidEmail) || u.ID != "" {
				t.Fatalf("Login(%.30q, %d-byte password) = %q, %v; want zero user, only %v", tt.email, len(tt.pw), u.ID, err, login.ErrInvalidCredentials)
			}
			if n >= hashBytes {
				t.Errorf("Login(%.30q, %d-byte password) allocated %d bytes: it hashed", tt.email, len(tt.pw), n)
			}
			if got := f.throttle(t, "address:"+clientAddr).Failures; got != 1 {
				t.Errorf("address throttle after the attempt: %d failures, want 1", got)
			}
			if tt.wantAccount > 0 {
				email, _ := login.NormalizeEmail(tt.email)
				if got := f.throttle(t, "account:"+email).Failures; got != tt.wantAccount {
					t.Errorf("account throttle after the attempt: %d failures, want %d", got, tt.wantAccount)
				}
			}
		})
	}
}

// throttle reads the throttle stored under key.
func (f fixture) throttle(t *testing.T, key string) store.Throttle {
	t.Helper()
	th, err := f.db.UpdateThrottle(t.Context(), key, func(th store.Throttle) (store.Throttle, error) { return th, nil })
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestAccountLock(t *testing.T) {
	f := newFixture(t, login.Config{AccountLimit: 3, BaseLock: time.Second, MaxLock: time.Minute, Window: 15 * time.Minute})
	ctx := t.Context()
	for i := 1; i <= 2; i++ {
		if d := f.fail(t, "alice@example.com", clientAddr); d != 0 {
			t.Fatalf("failure %d of limit 3 locked for %v, want no lock", i, d)
		}
	}
	// The failure that reaches the limit locks, and says so.
	_, err := f.auth.Login(ctx, "alice@example.com", wrongPassword, clientAddr)
	if !errors.Is(err, login.ErrInvalidCredentials) || !errors.Is(err, login.ErrThrottled) || retryAfter(err) != time.Second {
		t.Fatalf("failure 3 of limit 3 = %v, want %v and %v with RetryAfter 1s", err, login.ErrInvalidCredentials, login.ErrThrottled)
	}

	// While locked, even the right password is refused, and before any
	// hashing: a too-long password, which the hasher would refuse with
	// ErrPasswordTooLong, is refused as throttled.
	for _, pw := range []string{alicePassword, wrongPassword, strings.Repeat("x", password.MaxBytes+1)} {
		u, err := f.auth.Login(ctx, "alice@example.com", pw, clientAddr)
		var te *login.ThrottledError
		if !errors.As(err, &te) || !errors.Is(err, login.ErrThrottled) || te.RetryAfter <= 0 || u.ID != "" {
			t.Errorf("Login(locked account, %.20q) = %q, %v; want zero user, ThrottledError with RetryAfter > 0", pw, u.ID, err)
		}
		if errors.Is(err, password.ErrPasswordTooLong) || errors.Is(err, login.ErrInvalidCredentials) {
			t.Errorf("Login(locked account, %.20q) = %v; want it refused before the password is checked", pw, err)
		}
	}

	// Locked attempts do not extend the lock; it expires with the clock.
	f.clk.Advance(time.Second)
	if _, err := f.auth.Login(ctx, "alice@example.com", alicePassword, clientAddr); err != nil {
		t.Errorf("Login(right password) when the lock expired = %v, want success", err)
	}
}

func TestLockGrowsExponentially(t *testing.T) {
	// Window equals MaxLock, as with the defaults: a retry after a
	// MaxLock-long lock must still count as a repeat failure.
	f := newFixture(t, login.Config{AccountLimit: 2, BaseLock: time.Second, MaxLock: 8 * time.Second, Window: 8 * time.Second})
	want := []time.Duration{0, 1, 2, 4, 8, 8, 8}
	for i, w := range want {
		w *= time.Second
		got := f.fail(t, "alice@example.com", clientAddr)
		if got != w {
			t.Errorf("failure %d: lock = %v, want %v", i+1, got, w)
		}
		// The client waits out the lock, and retries a second later.
		f.clk.Advance(got + time.Second)
	}
}

func TestLockWithDefaults(t *testing.T) {
	f := newFixture(t, login.Config{})
	var want []time.Duration
	for i := range 20 {
		d := time.Duration(0)
		if over := i + 1 - login.DefaultAccountLimit; over >= 0 {
			d = min(login.DefaultBaseLock<<over, login.DefaultMaxLock)
		}
		want = append(want, d)
	}
	for i, w := range want {
		got := f.fail(t, "alice@example.com", "")
		if got != w {
			t.Errorf("failure %d with default config: lock = %v, want %v", i+1, got, w)
		}
		f.clk.Advance(got + time.Second)
	}
}

func TestFailuresOutsideWindowReset(t *testing.T) {
	const window = 10 * time.Minute
	tests := []struct {
		name   string
		gap    time.Duration // between the failures
		locked bool          // whether the third failure locks
	}{
		{"within window", window - time.Second, true},
		{"at window", window, true},
		{"past window", window + time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, login.Config{AccountLimit: 3, Window: window, BaseLock: time.Minute})
			f.fail(t, "alice@example.com", "")
			f.clk.Advance(tt.gap)
			f.fail(t, "alice@example.com", "")
			f.clk.Advance(time.Second)
			if got := f.fail(t, "alice@example.com", "") > 0; got != tt.locked {
				t.Errorf("third failure, %v after the first: locked = %v, want %v", tt.gap, got, tt.locked)
			}
		})
	}

	// After a lock, failures stop counting Window after the lock ended.
	f := newFixture(t, login.Config{AccountLimit: 2, Window: window, BaseLock: time.Minute})
	f.fail(t, "alice@example.com", "")
	if d := f.fail(t, "alice@example.com", ""); d != time.Minute {
		t.Fatalf("second failure of limit 2: lock = %v, want 1m", d)
	}
	f.clk.Advance(time.Minute + window + time.Second)
	if d := f.fail(t, "alice@example.com", ""); d != 0 {
		t.Errorf("failure Window after the lock ended: lock = %v, want the count reset", d)
	}
}

func TestAccountKeyIsNormalized(t *testing.T) {
	f := newFixture(t, login.Config{AccountLimit: 3, AddressLimit: 100})
	for _, email := range []string{"ALICE@example.com", " alice@example.com", "Alice@Example.Com"} {
		f.fail(t, email, "")
	}
	_, err := f.auth.Login(t.Context(), "alice@example.com", alicePassword, "")
	if !errors.Is(err, login.ErrThrottled) {
		t.Errorf("Login(alice) after 3 failures under spellings of her address = %v, want %v", err, login.ErrThrottled)
	}
}

func TestUnknownAccountIsThrottled(t *testing.T) {
	// Failures count for an address without an account too, so locks do
	// not tell which accounts exist.
	f := newFixture(t, login.Config{AccountLimit: 2})
	f.fail(t, "mallory@example.com", "")
	if d := f.fail(t, "mallory@example.com", ""); d <= 0 {
		t.Errorf("second failure of limit 2 on an unknown account: lock = %v, want > 0", d)
	}
	_, err := f.auth.Login(t.Context(), "mallory@example.com", alicePassword, "")
	if !errors.Is(err, login.ErrThrottled) {
		t.Errorf("Login(locked unknown account) = %v, want %v", err, login.ErrThrottled)
	}
}

func TestAddressLock(t *testing.T) {
	f := newFixture(t, login.Config{AccountLimit: 100, AddressLimit: 3, BaseLock: time.Minute})
	ctx := t.Context()
	// Three different accounts, known and unknown, from one address.
	f.fail(t, "alice@example.com", clientAddr)
	f.fail(t, "mallory@example.com", clientAddr)
	if d := f.fail(t, "trent@example.com", clientAddr); d != time.Minute {
		t.Fatalf("third failure from %s: lock = %v, want 1m", clientAddr, d)
	}

	tests := []struct {
		name    string
		addr    string
		wantErr error
	}{
		{"same address", clientAddr, login.ErrThrottled},
		{"other address", "198.51.100.7", nil},
		{"no address", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := f.auth.Login(ctx, "alice@example.com", alicePassword, tt.addr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Login(alice, right password, %q) = %v, want %v", tt.addr, err, tt.wantErr)
			}
			if tt.wantErr != nil && (retryAfter(err) <= 0 || u.ID != "") {
				t.Errorf("Login(alice, %q) = %q, RetryAfter %v; want zero user, RetryAfter > 0", tt.addr, u.ID, retryAfter(err))
			}
		})
	}
}

func TestSuccessClearsAccountFailures(t *testing.T) {
	f := newFixture(t, login.Config{AccountLimit: 3})
	ctx := t.Context()
	f.fail(t, "alice@example.com", clientAddr)
	f.fail(t, "alice@example.com", clientAddr)
	if _, err := f.auth.Login(ctx, "alice@example.com", alicePassword, clientAddr); err != nil {
		t.Fatalf("Login(right password) after 2 failures = %v", err)
	}
	// The count starts again: two more failures do not reach the limit.
	for i := 1; i <= 2; i++ {
		if d := f.fail(t, "alice@example.com", clientAddr); d != 0 {
			t.Errorf("failure %d after a success: lock = %v, want none", i, d)
		}
	}
	if d := f.fail(t, "alice@example.com", clientAddr); d == 0 {
		t.Errorf("third failure after a success: no lock, want one")
	}
}

func TestThrottledError(t *testing.T) {
	err := error(&login.ThrottledError{RetryAfter: 1500 * time.Millisecond})
	if !errors.Is(err, login.ErrThrottled) {
		t.Errorf("errors.Is(%v, ErrThrottled) = false, want true", err)
	}
	if errors.Is(err, login.ErrInvalidCredentials) {
		t.Errorf("errors.Is(%v, ErrInvalidCredentials) = true, want false", err)
	}
	if got := err.Error(); !strings.HasPrefix(got, "login: ") || !strings.Contains(got, "retry after 2s") {
		t.Errorf("ThrottledError.Error() = %q, want a \"login: \" message with the rounded wait", got)
	}
}

func TestRehashOnLogin(t *testing.T) {
	// The server hashes with stronger parameters than alice's stored hash.
	current := password.Params{Memory: 16 * 1024, Time: 2}
	weak, err := password.New(fastParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.New(current, 2)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	f := fixture{db: db}
	f.addUser(t, weak, store.User{ID: "u-alice", Email: "alice@example.com"}, alicePassword)
	old, err := db.UserByID(ctx, "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(old.PasswordHash, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("weak hash = %.40q, want m=8192,t=1", old.PasswordHash)
	}

	auth := login.New(db, db, hasher, login.Config{Now: func() time.Time { return t0 }})
	u, err := auth.Login(ctx, "alice@example.com", alicePassword, clientAddr)
	if err != nil {
		t.Fatalf("Login(alice with a weak stored hash) = %v, want success", err)
	}
	stored, err := db.UserByID(ctx, "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	const wantPrefix = "$argon2id$v=19$m=16384,t=2,p=1$"
	if !strings.HasPrefix(stored.PasswordHash, wantPrefix) {
		t.Errorf("stored hash after login = %.40q, want the current parameters %s", stored.PasswordHash, wantPrefix)
	}
	if u.PasswordHash != stored.PasswordHash {
		t.Error("Login() returned a user whose hash is not the stored one")
	}
	ok, rehash, err := hasher.Verify(ctx, alicePassword, stored.PasswordHash)
	if !ok || rehash || err != nil {
		t.Errorf("Verify(password, upgraded hash) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}

	// A login with the current hash leaves it alone.
	if _, err := auth.Login(ctx, "alice@example.com", alicePassword, clientAddr); err != nil {
		t.Fatal(err)
	}
	again, err := db.UserByID(ctx, "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	if again.PasswordHash != stored.PasswordHash {
		t.Error("second login rehashed a hash that has the current parameters")
	}
}

func TestRehashOnlyAfterCorrectPassword(t *testing.T) {
	weak, err := password.New(fastParams, 1)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.New(password.Params{Memory: 16 * 1024, Time: 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	f := fixture{db: db}
	f.addUser(t, weak, store.User{ID: "u-alice", Email: "alice@example.com"}, alicePassword)
	auth := login.New(db, db, hasher, login.Config{Now: func() time.Time { return t0 }})

	tests := []struct {
		name  string
		id    string
		email string
		pw    string
		want  error
	}{
		{"wrong password", "u-alice", "alice@example.com", wrongPassword, login.ErrInvalidCredentials},
		{"unknown user's password", "u-alice", "alice@example.com", bobPassword, login.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := db.UserByID(ctx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := auth.Login(ctx, tt.email, tt.pw, ""); !errors.Is(err, tt.want) {
				t.Fatalf("Login(%s) = %v, want %v", tt.email, err, tt.want)
			}
			after, err := db.UserByID(ctx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if after.PasswordHash != before.PasswordHash {
				t.Errorf("Login(%s) refused with %v but rehashed the stored password", tt.email, tt.want)
			}
		})
	}
}

func TestThrottleSignup(t *testing.T) {
	const window = time.Hour
	f := newFixture(t, login.Config{SignupLimit: 3, SignupWindow: window})
	ctx := t.Context()
	signup := func(addr string) time.Duration {
		t.Helper()
		err := f.auth.ThrottleSignup(ctx, addr)
		if err != nil && !errors.Is(err, login.ErrThrottled) {
			t.Fatalf("ThrottleSignup(%q) = %v, want nil or %v", addr, err, login.ErrThrottled)
		}
		return retryAfter(err)
	}
	for i := 1; i <= 3; i++ {
		if d := signup(clientAddr); d != 0 {
			t.Fatalf("sign-up %d of limit 3: throttled for %v, want allowed", i, d)
		}
		f.clk.Advance(time.Minute)
	}
	// The third locked the address for the window, from when it was made.
	if d := signup(clientAddr); d != window-time.Minute {
		t.Errorf("sign-up 4 of limit 3: throttled for %v, want %v", d, window-time.Minute)
	}
	if d := signup("198.51.100.7"); d != 0 {
		t.Errorf("sign-up from another address: throttled for %v, want allowed", d)
	}
	if d := signup(""); d != 0 {
		t.Errorf("sign-up with no address: throttled for %v, want allowed", d)
	}
	// Refused sign-ups do not count: once the lock ends, one more is let
	// through, and it locks the address again.
	f.clk.Advance(window - time.Minute)
	if d := signup(clientAddr); d != 0 {
		t.Errorf("sign-up when the lock ended: throttled for %v, want allowed", d)
	}
	if d := signup(clientAddr); d != window {
		t.Errorf("second sign-up after the lock: throttled for %v, want %v", d, window)
	}
	// A window without sign-ups after the lock starts the count again.
	f.clk.Advance(2*window + time.Second)
	for i := 1; i <= 3; i++ {
		if d := signup(clientAddr); d != 0 {
			t.Errorf("sign-up %d after a quiet window: throttled for %v, want allowed", i, d)
		}
	}
	// Login throttles are apart: the address may still log in.
	if _, err := f.auth.Login(ctx, "alice@example.com", alicePassword, clientAddr); err != nil {
		t.Errorf("Login from an address out of sign-ups = %v, want success", err)
	}
}

func TestThrottleSignupDefaults(t *testing.T) {
	f := newFixture(t, login.Config{})
	for i := 1; i <= login.DefaultSignupLimit; i++ {
		if err := f.auth.ThrottleSignup(t.Context(), clientAddr); err != nil {
			t.Fatalf("sign-up %d of the default limit %d = %v, want nil", i, login.DefaultSignupLimit, err)
		}
	}
	err := f.auth.ThrottleSignup(t.Context(), clientAddr)
	if !errors.Is(err, login.ErrThrottled) || retryAfter(err) != login.DefaultSignupWindow {
		t.Errorf("sign-up past the default limit = %v, want %v for %v", err, login.ErrThrottled, login.DefaultSignupWindow)
	}
}

func TestPruneThrottles(t *testing.T) {
	f := newFixture(t, login.Config{Window: 10 * time.Minute, SignupWindow: time.Hour})
	ctx := t.Context()
	f.fail(t, "alice@example.com", clientAddr)
	if err := f.auth.ThrottleSignup(ctx, clientAddr); err != nil {
		t.Fatal(err)
	}
	// Past the login window but within the sign-up window, nothing goes:
	// the sign-up count still counts.
	f.clk.Advance(30 * time.Minute)
	if n, err := f.auth.PruneThrottles(ctx); n != 0 || err != nil {
		t.Errorf("PruneThrottles 30m after = %d, %v; want 0", n, err)
	}
	if got := f.throttle(t, "signup:"+clientAddr).Failures; got != 1 {
		t.Errorf("sign-up throttle after pruning: %d, want 1", got)
	}
	f.clk.Advance(31 * time.Minute)
	if n, err := f.auth.PruneThrottles(ctx); n != 3 || err != nil {
		t.Errorf("PruneThrottles 61m after = %d, %v; want 3 (account, address, sign-up)", n, err)
	}
}
