// Package password hashes and verifies latch users' passwords with
// Argon2id (RFC 9106) and stores them as PHC strings.
//
// # What to use when
//
// Build one [Hasher] per process with [New] and share it: it holds the
// cost parameters and the semaphore that bounds how many hashes run at
// once.
//
//   - Setting a password (sign-up, change, reset): call [CheckPolicy] with
//     the account's e-mail address, then [Hasher.Hash], and store the
//     returned string.
//   - Logging in: look the user up, then call [Hasher.Verify] with the stored
//     string, or [Hasher.VerifyDummy] when there is no such user.
//
// The login path looks like this:
//
//	user, err := users.ByEmail(ctx, email)
//	switch {
//	case errors.Is(err, store.ErrNotFound):
//		// Spend the same time as a real check, so the response time does
//		// not tell whether the e-mail address has an account.
//		if err := hasher.VerifyDummy(ctx, pw); err != nil {
//			return err
//		}
//		return ErrInvalidCredentials
//	case err != nil:
//		return err
//	}
//	ok, needsRehash, err := hasher.Verify(ctx, pw, user.PasswordHash)
//	if err != nil {
//		return err // context error, ErrPasswordTooLong, or an unusable stored hash
//	}
//	if !ok {
//		return ErrInvalidCredentials
//	}
//	if needsRehash {
//		// The hash predates the current parameters: upgrade it while the
//		// plaintext is at hand. A failure here must not fail the login.
//		if phc, err := hasher.Hash(ctx, pw); err == nil {
//			_ = users.UpdatePasswordHash(ctx, user.ID, user.PasswordHash, phc)
//		}
//	}
//
// # Security contract
//
// Parameters default to the OWASP Password Storage Cheat Sheet's first
// Argon2id configuration (m=19 MiB, t=2, p=1; "Argon2id" section of
// https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html),
// with a 16-byte random salt (RFC 9106 §3.1 recommends 16) and a 32-byte
// hash. Hashes are stored as
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in standard base64 without padding, the encoding of
// the PHC string format specification
// (https://github.com/P-H-C/phc-string-format), of the Argon2 reference
// implementation, of libsodium and of passlib, so hashes move between
// them. Verify accepts only canonical argon2id v=19 strings, compares in
// constant time (crypto/subtle), and computes nothing for a stored string
// whose parameters exceed the limits documented on [Hasher.Verify].
//
// At most maxConcurrent (see [New]) Argon2 computations of the Hasher's
// memory cost run at once; the others wait in Hash or Verify until a slot
// frees or their context is done. Argon2id memory is allocated only while
// a slot is held, so a burst of logins uses at most maxConcurrent × Memory
// of hashing memory however large the burst, [Hasher.MemoryBudget]. Each
// computation allocates its memory afresh (golang.org/x/crypto/argon2), so
// the Go heap holds more until the garbage collector reclaims finished
// computations (up to twice the live heap with GOGC=100): a soft memory
// limit (runtime/debug.SetMemoryLimit, latch serve --memory-limit) bounds
// that, at some cost in hashing rate, and [Hasher.OnSaturated] tells a
// server when a burst queues computations, so that it can collect sooner
// for that time. A computation that has started is not interrupted by its
// context.
//
// Passwords never appear in errors, and this package logs nothing.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Default cost parameters: the OWASP Password Storage Cheat Sheet's
// recommendation for Argon2id (19 MiB, 2 iterations, 1 degree of
// parallelism), a 16-byte salt and a 32-byte hash.
const (
	defaultMemory  = 19 * 1024 // KiB
	defaultTime    = 2
	defaultThreads = 1
	defaultSaltLen = 16
	defaultKeyLen  = 32
)

// Bounds on Params. They bound a stored hash too, except that a stored
// hash may use less memory or a shorter salt than New accepts (see
// Hasher.Verify).
const (
	minMemory  = 8 * 1024        // KiB: 8 MiB
	maxMemory  = 4 * 1024 * 1024 // KiB: 4 GiB
	maxTime    = 20
	maxThreads = 16
	minSaltLen = 16
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// Params are the Argon2id cost parameters of new hashes (RFC 9106 §3.1).
// A zero field takes its default, so Params{} is the OWASP
// recommendation.
type Params struct {
	// Memory is the memory cost m in KiB, 8192 (8 MiB) to 4194304
	// (4 GiB). Zero means 19456 (19 MiB).
	Memory uint32
	// Time is the number of passes t over the memory, 1 to 20. Zero means
	// 2.
	Time uint32
	// Threads is the degree of parallelism p, 1 to 16. Zero means 1.
	Threads uint8
	// SaltLen is the length in bytes of the random salt, 16 to 64. Zero
	// means 16.
	SaltLen uint32
	// KeyLen is the length in bytes of the hash, 16 to 64. Zero means 32.
	KeyLen uint32
}

// withDefaults returns p with every zero field set to its default.
func (p Params) withDefaults() Params {
	if p.Memory == 0 {
		p.Memory = defaultMemory
	}
	if p.Time == 0 {
		p.Time = defaultTime
	}
	if p.Threads == 0 {
		p.Threads = defaultThreads
	}
	if p.SaltLen == 0 {
		p.SaltLen = defaultSaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = defaultKeyLen
	}
	return p
}

// validate reports whether every field of p is within its bounds.
func (p Params) validate() error {
	switch {
	case p.Memory < minMemory || p.Memory > maxMemory:
		return fmt.Errorf("%w: memory %d KiB outside [%d, %d]", ErrInvalidParams, p.Memory, minMemory, maxMemory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: time %d outside [1, %d]", ErrInvalidParams, p.Time, maxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("%w: threads %d outside [1, %d]", ErrInvalidParams, p.Threads, maxThreads)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt length %d outside [%d, %d]", ErrInvalidParams, p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length %d outside [%d, %d]", ErrInvalidParams, p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// A Hasher hashes and verifies passwords with fixed Params, running at
// most a fixed number of Argon2 computations at once. It is safe for
// concurrent use; build one per process with New.
type Hasher struct {
	params Params
	// slots holds one token per running computation's worth of memory
	// (Params.Memory); its capacity is maxConcurrent.
	slots chan struct{}
	// turn is held while taking slots, so two callers that each need
	// several slots cannot each hold some and wait for the other's.
	turn chan struct{}
	// dummy is a PHC string with the current Params, a random salt and
	// a random hash that no password is known to match; see VerifyDummy.
	dummy string
	// derive is argon2.IDKey; tests wrap it to observe the computations.
	derive func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
	// sat tracks the computations waiting for slots, for OnSaturated.
	sat saturation
}

// saturation is the state behind Hasher.OnSaturated.
type saturation struct {
	mu      sync.Mutex
	waiting int  // computations that could not take a turn or slot at once
	on      bool // f(true) was the last call
	f       func(saturated bool)
}

// New returns a Hasher that makes new hashes with p (zero fields take
// their defaults) and runs at most maxConcurrent Argon2 computations at
// once; zero means runtime.NumCPU(). Its hashing memory never exceeds
// maxConcurrent × p.Memory. New returns ErrInvalidParams for a field
// outside the bounds documented on Params or a negative maxConcurrent.
func New(p Params, maxConcurrent int) (*Hasher, error) {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	if maxConcurrent < 0 {
		return nil, fmt.Errorf("%w: negative concurrency limit %d", ErrInvalidParams, maxConcurrent)
	}
	if maxConcurrent == 0 {
		maxConcurrent = runtime.NumCPU()
	}
	dummy := phc{
		memory:  p.Memory,
		time:    p.Time,
		threads: p.Threads,
		salt:    make([]byte, p.SaltLen),
		key:     make([]byte, p.KeyLen),
	}
	rand.Read(dummy.salt) // Never fails (crypto/rand.Read documentation).
	rand.Read(dummy.key)
	return &Hasher{
		params: p,
		slots:  make(chan struct{}, maxConcurrent),
		turn:   make(chan struct{}, 1),
		dummy:  dummy.String(),
		derive: argon2.IDKey,
	}, nil
}

// Params returns the parameters h makes new hashes with, defaults filled
// in.
func (h *Hasher) Params() Params {
	return h.params
}

// MemoryBudget returns the most hashing memory h uses at once, in bytes:
// its concurrency limit times Params.Memory. The Go heap holds up to this
// much Argon2 memory in use, plus what finished computations left for the
// garbage collector; a server sizing its memory limit starts from it.
func (h *Hasher) MemoryBudget() int64 {
	return int64(cap(h.slots)) * int64(h.params.Memory) << 10
}

// Hash returns the PHC string of password under a fresh random salt and
// h's Params. It waits for a free slot first, returning ctx.Err() if ctx
// is done before one frees. It returns ErrWeakPassword for an empty
// password and ErrPasswordTooLong for one over MaxBytes; other policy is
// CheckPolicy's, which callers setting a new password apply first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := checkLength(password); err != nil {
		return "", err
	}
	if password == "" {
		return "", fmt.Errorf("%w: empty", ErrWeakPassword)
	}
	out := phc{
		memory:  h.params.Memory,
		time:    h.params.Time,
		threads: h.params.Threads,
		salt:    make([]byte, h.params.SaltLen),
	}
	rand.Read(out.salt) // Never fails (crypto/rand.Read documentation).
	key, err := h.compute(ctx, password, out, h.params.KeyLen)
	if err != nil {
		return "", err
	}
	out.key = key
	return out.String(), nil
}

// Verify reports whether password matches the stored PHC string, and, if
// it does, whether the string was made with parameters other than h's
// Params (cost, salt length or hash length), in which case the caller
// should replace it with Hash(ctx, password). needsRehash is false
// whenever ok is false.
//
// Verify accepts only a canonical "$argon2id$v=19$m=…,t=…,p=…$salt$hash"
// string and otherwise returns ErrMalformedHash or ErrUnsupportedHash
// without hashing. A stored hash may use less memory (down to the Argon2
// minimum of 8 KiB per thread) or a shorter salt (down to 8 bytes) than
// New accepts, so hashes from older settings or from other
// implementations still verify and can be upgraded. Other limits are those
// of Params, and a stored memory cost above maxConcurrent × Params.Memory,
// the Hasher's memory budget, is refused. A stored hash that needs k times
// Params.Memory occupies k slots while it is computed, so the budget holds
// whatever the database contains.
//
// Like Hash, Verify returns ErrPasswordTooLong for a password over
// MaxBytes and ctx.Err() if ctx is done before the slots it needs free.
func (h *Hasher) Verify(ctx context.Context, password, phcString string) (ok, needsRehash bool, err error) {
	if err := checkLength(password); err != nil {
		return false, false, err
	}
	stored, err := parsePHC(phcString)
	if err != nil {
		return false, false, err
	}
	key, err := h.compute(ctx, password, stored, uint32(len(stored.key)))
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(key, stored.key) == 1
	return ok, ok && stored.params() != h.params, nil
}

// VerifyDummy does the work of Verify against a hash made with h's
// current Params, and discards the result. The login path calls it when
// no account has the given identifier, so that an unknown identifier costs
// the same time, memory and slot as a wrong password and the response does
// not reveal which accounts exist (see the package documentation). The
// hash is random, drawn by New, and matches no known password.
//
// Stored hashes made with older Params still take their own time until
// they are upgraded by a login, which then answers needsRehash.
//
// VerifyDummy returns only the errors of Verify that depend on the
// request: ErrPasswordTooLong and ctx.Err().
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

// compute derives the keyLen-byte Argon2id key of password with the costs
// and salt of p, holding as many slots as its memory needs.
func (h *Hasher) compute(ctx context.Context, password string, p phc, keyLen uint32) ([]byte, error) {
	// weight is the number of slots: p.memory / h.params.Memory, rounded up.
	weight := (uint64(p.memory) + uint64(h.params.Memory) - 1) / uint64(h.params.Memory)
	if weight > uint64(cap(h.slots)) {
		return nil, fmt.Errorf("%w: m=%d KiB exceeds the memory budget of %d KiB",
			ErrUnsupportedHash, p.memory, uint64(cap(h.slots))*uint64(h.params.Memory))
	}
	if err := h.acquire(ctx, int(weight)); err != nil {
		return nil, err
	}
	defer h.release(int(weight))
	return h.derive([]byte(password), p.salt, p.time, p.memory, p.threads, keyLen), nil
}

// OnSaturated sets f, which the Hasher calls with true when it becomes
// saturated, as many computations waiting for slots as it runs at once
// (a full round queued behind the running one), and with false when no
// computation waits any more. The calls alternate, starting with true,
// and one runs at a time. A server uses it to spend memory differently
// during a login burst; set it before the Hasher is first used.
func (h *Hasher) OnSaturated(f func(saturated bool)) {
	h.sat.f = f
}

// wait counts a computation that starts (d = 1) or stops (d = -1) waiting
// for slots, for OnSaturated.
func (h *Hasher) wait(d int) {
	if h.sat.f == nil {
		return
	}
	h.sat.mu.Lock()
	defer h.sat.mu.Unlock()
	h.sat.waiting += d
	switch {
	case !h.sat.on && h.sat.waiting >= cap(h.slots):
		h.sat.on = true
		h.sat.f(true)
	case h.sat.on && h.sat.waiting == 0:
		h.sat.on = false
		h.sat.f(false)
	}
}

// acquire takes n slots, waiting until they are free. If ctx is done
// first, it gives back the slots it took and returns ctx.Err().
func (h *Hasher) acquire(ctx context.Context, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// A computation counts as waiting (for OnSaturated) from the first
	// slot or turn it cannot take at once.
	waiting := false
	defer func() {
		if waiting {
			h.wait(-1)
		}
	}()
	take := func(c chan struct{}) bool {
		select {
		case c <- struct{}{}:
			return true
		default:
		}
		if !waiting {
			waiting = true
			h.wait(1)
		}
		select {
		case c <- struct{}{}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !take(h.turn) {
		return ctx.Err()
	}
	defer func() { <-h.turn }()
	for i := range n {
		if !take(h.slots) {
			h.release(i)
			return ctx.Err()
		}
	}
	return nil
}

// release gives back n slots.
func (h *Hasher) release(n int) {
	for range n {
		<-h.slots
	}
}
