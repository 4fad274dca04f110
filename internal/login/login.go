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
// whether an account exists.
package login

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Authenticator{users: users, throttles: throttles, hasher: hasher, cfg: cfg}
}

// NormalizeEmail is the form e-mail addresses are stored and looked up in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Login returns the user whose e-mail address and password match. addr is
// the client's address, for per-address throttling (empty skips it).
func (a *Authenticator) Login(ctx context.Context, email, pw, addr string) (store.User, error) {
	email = NormalizeEmail(email)
	keys := []string{"account:" + email}
	limits := []int{a.cfg.AccountLimit}
	if addr != "" {
		keys = append(keys, "address:"+addr)
		limits = append(limits, a.cfg.AddressLimit)
	}
	if err := a.checkLocks(ctx, keys); err != nil {
		return store.User{}, err
	}
	u, err := a.users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := a.verifyDummy(ctx, pw); err != nil {
			return store.User{}, err
		}
		return store.User{}, a.fail(ctx, keys, limits)
	case err != nil:
		return store.User{}, fmt.Errorf("login: %w", err)
	}
	ok, rehash, err := a.verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, a.fail(ctx, keys, limits)
	}
	if _, err := a.throttles.UpdateThrottle(ctx, keys[0], func(store.Throttle) (store.Throttle, error) {
		return store.Throttle{Key: keys[0]}, nil // success clears the account's failures
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
func (a *Authenticator) checkLocks(ctx context.Context, keys []string) error {
	now := a.cfg.Now()
	var wait time.Duration
	for _, k := range keys {
		t, err := a.throttles.UpdateThrottle(ctx, k, func(t store.Throttle) (store.Throttle, error) {
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

// fail records a failure against every key and returns the error for it:
// ErrInvalidCredentials, or a ThrottledError if this failure locked a key.
func (a *Authenticator) fail(ctx context.Context, keys []string, limits []int) error {
	now := a.cfg.Now()
	var wait time.Duration
	for i, k := range keys {
		t, err := a.throttles.UpdateThrottle(ctx, k, func(t store.Throttle) (store.Throttle, error) {
			// A failure counts for Window after it, or after the lock it
			// caused ended: otherwise a lock of Window or longer would
			// reset the count and the exponential growth with it.
			if now.Sub(later(t.LastFailure, t.LockedUntil)) > a.cfg.Window {
				t.Failures = 0
			}
			t.Key = k
			t.Failures++
			t.LastFailure = now
			if over := t.Failures - limits[i]; over >= 0 {
				t.LockedUntil = now.Add(a.lockFor(over))
			}
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
		return fmt.Errorf("%w (%w)", ErrInvalidCredentials, &ThrottledError{RetryAfter: wait})
	}
	return ErrInvalidCredentials
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lockFor is BaseLock doubled for each failure over the limit, capped.
func (a *Authenticator) lockFor(over int) time.Duration {
	d := float64(a.cfg.BaseLock) * math.Pow(2, float64(over))
	if d > float64(a.cfg.MaxLock) {
		return a.cfg.MaxLock
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
