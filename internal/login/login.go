// Package login checks credentials and turns them into a user, with
// brute-force protection.
//
// Failed attempts are counted per account (the normalized e-mail address,
// whether or not such an account exists) and per client address. Past a
// limit, each further failure locks that key for an exponentially growing
// time; a locked key is refused with ErrThrottled before any password is
// hashed. Counters live in the store, so every server node enforces them.
//
// An unknown e-mail address costs one argon2id verification, like a wrong
// password, and yields the same error: neither timing nor message tells
// whether an account exists. A password longer than password.MaxBytes,
// which no account can have, and an address NormalizeEmail refuses, which
// no account can have either, are failures too: answered with the same
// error, counted, and never hashed.
//
// Sign-ups are counted per client address with the same mechanism
// (ThrottleSignup): past Config.SignupLimit in Config.SignupWindow, an
// address is refused with ErrThrottled (OWASP ASVS 4.0.3 V11.1.4).
//
// E-mail addresses are compared in one form, NormalizeEmail's, wherever an
// account is created or looked up.
package login

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/store"
)

// Errors returned by Login.
var (
	// ErrInvalidCredentials reports an unknown e-mail address or a wrong
	// password, deliberately without saying which.
	ErrInvalidCredentials = errors.New("login: invalid credentials")
	// ErrDisabled reports a correct password for a disabled account.
	ErrDisabled = errors.New("login: account disabled")
	// ErrThrottled reports too many recent failures; see ThrottledError.
	ErrThrottled = errors.New("login: too many attempts")
	// ErrBusy reports that no password-hashing slot came free within
	// Config.HashWait: the server is saturated and the client should
	// retry later. Nothing was checked or recorded.
	ErrBusy = errors.New("login: busy")
	// ErrInvalidEmail reports an e-mail address NormalizeEmail refuses.
	// Login never returns it: there, such an address is just invalid
	// credentials.
	ErrInvalidEmail = errors.New("login: invalid e-mail address")
)

// ThrottledError says how long to wait before trying again. It matches
// ErrThrottled.
type ThrottledError struct {
	RetryAfter time.Duration
}

// Error says how long to wait, without naming the account.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrThrottled, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// Defaults for Config's zero fields.
const (
	DefaultAccountLimit = 5
	DefaultAddressLimit = 50
	DefaultWindow       = 15 * time.Minute
	DefaultBaseLock     = time.Second
	DefaultMaxLock      = 15 * time.Minute
	DefaultHashWait     = 10 * time.Second
	DefaultSignupLimit  = 10
	DefaultSignupWindow = time.Hour
)

// Config tunes an Authenticator.
type Config struct {
	// AccountLimit is how many failures an account may have within Window
	// before locks start. Default 5.
	AccountLimit int
	// AddressLimit is the same for one client address. Default 50, higher
	// because many users can share an address.
	AddressLimit int
	// Window is how long a failure counts, from the failure or from the
	// end of the lock it caused. Default 15 minutes.
	Window time.Duration
	// BaseLock is the first lock's length; each further failure doubles
	// it, up to MaxLock. Defaults 1 s and 15 minutes.
	BaseLock, MaxLock time.Duration
	// HashWait bounds the wait for a password-hashing slot; past it Login
	// returns ErrBusy, so a burst of logins is shed instead of queueing
	// past the HTTP write timeout. Default 10 s.
	HashWait time.Duration
	// SignupLimit is how many sign-ups one client address may make within
	// SignupWindow; the sign-up that reaches it locks the address for
	// SignupWindow. Once the lock ends, each further sign-up within
	// SignupWindow of it locks the address again, until it has made none
	// for SignupWindow and the count starts again. Every sign-up that
	// ThrottleSignup lets through counts, whether it then creates an
	// account or finds the address taken. Defaults 10 and an hour.
	SignupLimit  int
	SignupWindow time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Authenticator checks passwords. It is safe for concurrent use.
type Authenticator struct {
	users     store.Users
	throttles store.Throttles
	hasher    *password.Hasher
	cfg       Config
}

// New returns an Authenticator.
func New(users store.Users, throttles store.Throttles, hasher *password.Hasher, cfg Config) *Authenticator {
	if cfg.AccountLimit <= 0 {
		cfg.AccountLimit = DefaultAccountLimit
	}
	if cfg.AddressLimit <= 0 {
		cfg.AddressLimit = DefaultAddressLimit
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.BaseLock <= 0 {
		cfg.BaseLock = DefaultBaseLock
	}
	if cfg.MaxLock <= 0 {
		cfg.MaxLock = DefaultMaxLock
	}
	if cfg.HashWait <= 0 {
		cfg.HashWait = DefaultHashWait
	}
	if cfg.SignupLimit <= 0 {
		cfg.SignupLimit = DefaultSignupLimit
	}
	if cfg.SignupWindow <= 0 {
		cfg.SignupWindow = DefaultSignupWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Authenticator{users: users, throttles: throttles, hasher: hasher, cfg: cfg}
}

// MaxEmailBytes is the longest e-mail address NormalizeEmail accepts,
// after normalization: the longest path RFC 5321 §4.5.3.1.3 allows (256
// octets) without its angle brackets.
const MaxEmailBytes = 254

// NormalizeEmail returns the form in which e-mail addresses are stored,
// looked up and compared, or ErrInvalidEmail. Every path that creates an
// account or finds one by its address (sign-up, login, the CLI) goes
// through it, so that one address has one account.
//
// It removes white space at either end, then refuses an address holding
// a control or format character (Unicode categories Cc and Cf: NUL, ESC,
// DEL, the C1 controls, zero-width characters, bidirectional controls,
// the byte order mark and tags) or a private-use one, which could rewrite
// an operator's terminal or hide or reorder what a person reads. It then
// applies Unicode compatibility normalization (NFKC), which folds
// full-width and other compatibility forms into the usual characters,
// and lower case, so that "ＡＬＩＣＥ@ＥＸＡＭＰＬＥ.ＣＯＭ" and
// "Alice@Example.com" are both "alice@example.com". Last it checks a
// plausible syntax: one "@" with something before it, a dot in the
// domain and not at its end, no white space or separator, none of
// `<>"`, and at most MaxEmailBytes bytes. It does not check that the
// address exists or receives mail.
//
// The error's text names the offending character's code point, never
// the address.
func NormalizeEmail(email string) (string, error) {
	if !utf8.ValidString(email) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidEmail)
	}
	e := strings.TrimSpace(email)
	if err := checkEmailRunes(e); err != nil {
		return "", err
	}
	// NFKC before lower case, so that compatibility forms (full-width
	// letters, "ℌ") are lower-cased as what they stand for; and after it,
	// since lower case may undo normalization.
	e = norm.NFKC.String(strings.ToLower(norm.NFKC.String(e)))
	if err := checkEmailRunes(e); err != nil {
		return "", err
	}
	at := strings.IndexByte(e, '@')
	switch {
	case e == "":
		return "", fmt.Errorf("%w: empty", ErrInvalidEmail)
	case len(e) > MaxEmailBytes:
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidEmail, MaxEmailBytes)
	case at <= 0 || at != strings.LastIndexByte(e, '@'):
		return "", fmt.Errorf("%w: not one @ after a local part", ErrInvalidEmail)
	case !strings.Contains(e[at+1:], ".") || strings.HasSuffix(e, "."):
		return "", fmt.Errorf("%w: the domain has no dot or ends in one", ErrInvalidEmail)
	case strings.ContainsAny(e, `<>"`):
		return "", fmt.Errorf(`%w: contains one of <>"`, ErrInvalidEmail)
	}
	return e, nil
}

// checkEmailRunes refuses control, format and private-use characters,
// white space and line or paragraph separators.
func checkEmailRunes(e string) error {
	for _, r := range e {
		switch {
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co):
			return fmt.Errorf("%w: contains the control or format character U+%04X", ErrInvalidEmail, r)
		case unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Zs):
			return fmt.Errorf("%w: contains white space (U+%04X)", ErrInvalidEmail, r)
		}
	}
	return nil
}

// A rule is how counted events (failed logins, sign-ups) lock a key: the
// limit-th event within window of the previous one locks the key for
// baseLock, and each further one for twice as long as the one before, up
// to maxLock.
type rule struct {
	limit             int
	window            time.Duration
	baseLock, maxLock time.Duration
}

// A counter is a throttle key and its rule.
type counter struct {
	key string
	rule
}

// counters returns the throttles a login attempt counts against: the
// account, if email is a valid address, and the client address, if known.
func (a *Authenticator) counters(email, addr string) []counter {
	var cs []counter
	if email != "" {
		cs = append(cs, counter{"account:" + email, rule{a.cfg.AccountLimit, a.cfg.Window, a.cfg.BaseLock, a.cfg.MaxLock}})
	}
	if addr != "" {
		cs = append(cs, counter{"address:" + addr, rule{a.cfg.AddressLimit, a.cfg.Window, a.cfg.BaseLock, a.cfg.MaxLock}})
	}
	return cs
}

// Login returns the user whose e-mail address and password match. addr is
// the client's address, for per-address throttling (empty skips it).
//
// An address NormalizeEmail refuses and a password over
// password.MaxBytes are answered ErrInvalidCredentials, like any wrong
// credentials, without hashing: no account can have them. They count as
// failures, against the client address and (for the password) the
// account, so they cannot be used to probe without limit either.
func (a *Authenticator) Login(ctx context.Context, email, pw, addr string) (store.User, error) {
	email, emailErr := NormalizeEmail(email)
	cs := a.counters(email, addr)
	if err := a.checkLocks(ctx, cs); err != nil {
		return store.User{}, err
	}
	if emailErr != nil || len(pw) > password.MaxBytes {
		return store.User{}, a.fail(ctx, cs)
	}
	u, err := a.users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := a.verifyDummy(ctx, pw); err != nil {
			return store.User{}, err
		}
		return store.User{}, a.fail(ctx, cs)
	case err != nil:
		return store.User{}, fmt.Errorf("login: %w", err)
	}
	ok, rehash, err := a.verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, a.fail(ctx, cs)
	}
	account := "account:" + email
	if _, err := a.throttles.UpdateThrottle(ctx, account, func(store.Throttle) (store.Throttle, error) {
		return store.Throttle{Key: account}, nil // success clears the account's failures
	}); err != nil {
		return store.User{}, fmt.Errorf("login: %w", err)
	}
	if u.Disabled {
		return store.User{}, ErrDisabled
	}
	if rehash {
		u, err = a.rehash(ctx, u, pw)
		if err != nil {
			return store.User{}, err
		}
	}
	return u, nil
}

// ThrottleSignup counts a sign-up from the client address addr (empty
// skips the count) and returns nil, or a ThrottledError without counting
// if addr has made Config.SignupLimit sign-ups within
// Config.SignupWindow (see there). The caller checks the request's input
// first and calls it just before the work a sign-up costs: hashing the
// password and creating the account, or finding its address taken.
func (a *Authenticator) ThrottleSignup(ctx context.Context, addr string) error {
	if addr == "" {
		return nil
	}
	c := []counter{{"signup:" + addr, rule{a.cfg.SignupLimit, a.cfg.SignupWindow, a.cfg.SignupWindow, a.cfg.SignupWindow}}}
	if err := a.checkLocks(ctx, c); err != nil {
		return err
	}
	_, err := a.count(ctx, c)
	return err
}

// PruneThrottles deletes the stored throttles that no longer count for
// anything: those whose last event and lock are older than the longest
// window of a's Config. A server calls it now and then.
func (a *Authenticator) PruneThrottles(ctx context.Context) (int, error) {
	n, err := a.throttles.PruneThrottles(ctx, a.cfg.Now().Add(-max(a.cfg.Window, a.cfg.SignupWindow)))
	if err != nil {
		return 0, fmt.Errorf("login: %w", err)
	}
	return n, nil
}

// verify runs the password check, waiting at most HashWait for a hashing
// slot (ErrBusy after that).
func (a *Authenticator) verify(ctx context.Context, pw, hash string) (ok, rehash bool, err error) {
	hctx, cancel := context.WithTimeout(ctx, a.cfg.HashWait)
	defer cancel()
	ok, rehash, err = a.hasher.Verify(hctx, pw, hash)
	return ok, rehash, a.hashErr(ctx, err)
}

// verifyDummy spends a verification's cost for an unknown user.
func (a *Authenticator) verifyDummy(ctx context.Context, pw string) error {
	hctx, cancel := context.WithTimeout(ctx, a.cfg.HashWait)
	defer cancel()
	return a.hashErr(ctx, a.hasher.VerifyDummy(hctx, pw))
}

// hashErr turns the expiry of the hash wait (but not of the caller's own
// context) into ErrBusy.
func (a *Authenticator) hashErr(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return ErrBusy
	}
	return fmt.Errorf("login: %w", err)
}

// checkLocks refuses when any key is locked, with the longest wait.
func (a *Authenticator) checkLocks(ctx context.Context, cs []counter) error {
	now := a.cfg.Now()
	var wait time.Duration
	for _, c := range cs {
		t, err := a.throttles.UpdateThrottle(ctx, c.key, func(t store.Throttle) (store.Throttle, error) {
			return t, nil
		})
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if d := t.LockedUntil.Sub(now); d > wait {
			wait = d
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// fail records a failure against every counter and returns the error for
// it: ErrInvalidCredentials, or with a ThrottledError too if this failure
// locked a key.
func (a *Authenticator) fail(ctx context.Context, cs []counter) error {
	wait, err := a.count(ctx, cs)
	switch {
	case err != nil:
		return err
	case wait > 0:
		return fmt.Errorf("%w (%w)", ErrInvalidCredentials, &ThrottledError{RetryAfter: wait})
	}
	return ErrInvalidCredentials
}

// count records an event against every counter and returns the longest
// lock that this event caused (zero if none).
func (a *Authenticator) count(ctx context.Context, cs []counter) (time.Duration, error) {
	now := a.cfg.Now()
	var wait time.Duration
	for _, c := range cs {
		t, err := a.throttles.UpdateThrottle(ctx, c.key, func(t store.Throttle) (store.Throttle, error) {
			// An event counts for the window after it, or after the lock
			// it caused ended: otherwise a lock of the window or longer
			// would reset the count and the exponential growth with it.
			if now.Sub(later(t.LastFailure, t.LockedUntil)) > c.window {
				t.Failures = 0
			}
			t.Key = c.key
			t.Failures++
			t.LastFailure = now
			if over := t.Failures - c.limit; over >= 0 {
				t.LockedUntil = now.Add(c.lockFor(over))
			}
			return t, nil
		})
		if err != nil {
			return 0, fmt.Errorf("login: %w", err)
		}
		if d := t.LockedUntil.Sub(now); d > wait {
			wait = d
		}
	}
	return wait, nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lockFor is baseLock doubled for each event over the limit, capped.
func (r rule) lockFor(over int) time.Duration {
	d := float64(r.baseLock) * math.Pow(2, float64(over))
	if d > float64(r.maxLock) {
		return r.maxLock
	}
	return time.Duration(d)
}

// rehash upgrades a stored hash to the current parameters after a
// successful login. Failure to store it is not a login failure.
func (a *Authenticator) rehash(ctx context.Context, u store.User, pw string) (store.User, error) {
	h, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		return u, nil
	}
	updated, err := a.users.UpdateUser(ctx, u.ID, func(cur store.User) (store.User, error) {
		if cur.PasswordHash == u.PasswordHash {
			cur.PasswordHash = h
		}
		return cur, nil
	})
	if err != nil {
		return u, nil
	}
	return updated, nil
}
