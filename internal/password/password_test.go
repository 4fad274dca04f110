package password

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/argon2"
)

// fastParams keep tests that only count computations quick under -race.
var fastParams = Params{Memory: minMemory, Time: 1}

// call records the arguments of one Argon2id computation.
type call struct {
	time, memory    uint32
	threads         uint8
	saltLen, keyLen int
}

// recorder wraps a Hasher's derive to observe its computations.
type recorder struct {
	mu          sync.Mutex
	calls       []call
	running     int    // computations in progress
	maxRunning  int    // most computations ever in progress at once
	memory      uint64 // KiB of the computations in progress
	maxMemory   uint64
	beforeStart func() // if set, runs inside the slot before computing
}

// instrument replaces h's derive with one that records into a new
// recorder, then runs argon2.IDKey.
func instrument(h *Hasher) *recorder {
	r := &recorder{}
	h.derive = func(password, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
		r.mu.Lock()
		r.calls = append(r.calls, call{t, m, p, len(salt), int(keyLen)})
		r.running++
		r.maxRunning = max(r.maxRunning, r.running)
		r.memory += uint64(m)
		r.maxMemory = max(r.maxMemory, r.memory)
		before := r.beforeStart
		r.mu.Unlock()
		if before != nil {
			before()
		}
		defer func() {
			r.mu.Lock()
			r.running--
			r.memory -= uint64(m)
			r.mu.Unlock()
		}()
		return argon2.IDKey(password, salt, t, m, p, keyLen)
	}
	return r
}

func (r *recorder) snapshot() (calls []call, maxRunning int, maxMemory uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...), r.maxRunning, r.maxMemory
}

func newHasher(t testing.TB, p Params, maxConcurrent int) *Hasher {
	t.Helper()
	h, err := New(p, maxConcurrent)
	if err != nil {
		t.Fatalf("New(%+v, %d) = %v", p, maxConcurrent, err)
	}
	return h
}

func TestNew(t *testing.T) {
	tests := []struct {
		name          string
		params        Params
		maxConcurrent int
		want          Params // when wantErr is nil
		wantErr       error
	}{
		{
			name: "zero_value_is_owasp_default",
			want: Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		},
		{
			name:   "zero_fields_take_defaults",
			params: Params{Memory: 65536, Threads: 4},
			want:   Params{Memory: 65536, Time: 2, Threads: 4, SaltLen: 16, KeyLen: 32},
		},
		{
			name:   "upper_bounds",
			params: Params{Memory: 4 << 20, Time: 20, Threads: 16, SaltLen: 64, KeyLen: 64},
			want:   Params{Memory: 4 << 20, Time: 20, Threads: 16, SaltLen: 64, KeyLen: 64},
		},
		{name: "memory_below_8MiB", params: Params{Memory: 8191}, wantErr: ErrInvalidParams},
		{name: "memory_above_4GiB", params: Params{Memory: 4<<20 + 1}, wantErr: ErrInvalidParams},
		{name: "time_above_20", params: Params{Time: 21}, wantErr: ErrInvalidParams},
		{name: "threads_above_16", params: Params{Threads: 17}, wantErr: ErrInvalidParams},
		{name: "salt_below_16", params: Params{SaltLen: 8}, wantErr: ErrInvalidParams},
		{name: "salt_above_64", params: Params{SaltLen: 65}, wantErr: ErrInvalidParams},
		{name: "key_below_16", params: Params{KeyLen: 15}, wantErr: ErrInvalidParams},
		{name: "key_above_64", params: Params{KeyLen: 65}, wantErr: ErrInvalidParams},
		{name: "negative_concurrency", maxConcurrent: -1, wantErr: ErrInvalidParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.params, tt.maxConcurrent)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New(%+v, %d) error = %v, want %v", tt.params, tt.maxConcurrent, err, tt.wantErr)
			}
			if err != nil {
				if h != nil {
					t.Errorf("New(%+v, %d) = %v, want nil with error", tt.params, tt.maxConcurrent, h)
				}
				return
			}
			if got := h.Params(); got != tt.want {
				t.Errorf("New(%+v, %d).Params() = %+v, want %+v", tt.params, tt.maxConcurrent, got, tt.want)
			}
		})
	}
}

func TestMemoryBudget(t *testing.T) {
	tests := []struct {
		name          string
		params        Params
		maxConcurrent int
		want          int64
	}{
		{name: "default_params_one_slot", maxConcurrent: 1, want: 19 << 20},
		{name: "default_params_four_slots", maxConcurrent: 4, want: 4 * 19 << 20},
		{name: "64MiB_two_slots", params: Params{Memory: 65536}, maxConcurrent: 2, want: 128 << 20},
		{name: "zero_is_one_slot_per_cpu", maxConcurrent: 0, want: int64(runtime.NumCPU()) * 19 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHasher(t, tt.params, tt.maxConcurrent)
			if got := h.MemoryBudget(); got != tt.want {
				t.Errorf("New(%+v, %d).MemoryBudget() = %d, want %d", tt.params, tt.maxConcurrent, got, tt.want)
			}
		})
	}
}

func TestHashVerify(t *testing.T) {
	h := newHasher(t, Params{}, 0)
	tests := []struct {
		name     string
		password string
	}{
		{name: "ascii", password: "correct horse battery staple"},
		{name: "unicode", password: "pässwörd 🔑 パスワード"},
		{name: "single_byte", password: "x"},
		{name: "max_bytes", password: strings.Repeat("a", MaxBytes)},
		{name: "invalid_utf8_still_hashes", password: "\xff\xfe password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			phc, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatalf("Hash() = %v", err)
			}
			if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(phc, want) {
				t.Errorf("Hash() = %q, want prefix %q", phc, want)
			}
			t.Run("round_trip", func(t *testing.T) {
				ok, rehash, err := h.Verify(ctx, tt.password, phc)
				if !ok || rehash || err != nil {
					t.Errorf("Verify(password, Hash(password)) = %v, %v, %v, want true, false, nil", ok, rehash, err)
				}
			})
			t.Run("wrong_password", func(t *testing.T) {
				wrong := "!" + tt.password[1:] // same length, first byte changed
				ok, rehash, err := h.Verify(ctx, wrong, phc)
				if ok || rehash || err != nil {
					t.Errorf("Verify(wrong, Hash(password)) = %v, %v, %v, want false, false, nil", ok, rehash, err)
				}
			})
			t.Run("fresh_salt", func(t *testing.T) {
				again, err := h.Hash(ctx, tt.password)
				if err != nil {
					t.Fatalf("Hash() = %v", err)
				}
				if again == phc {
					t.Errorf("Hash() twice = %q both times, want different salts", phc)
				}
			})
		})
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	const pw = "correct horse battery staple"
	old := newHasher(t, fastParams, 0)
	phc, err := old.Hash(t.Context(), pw)
	if err != nil {
		t.Fatalf("Hash() = %v", err)
	}
	tests := []struct {
		name       string
		current    Params
		password   string
		wantOK     bool
		wantRehash bool
	}{
		{name: "same_params", current: fastParams, password: pw, wantOK: true},
		{name: "more_memory", current: Params{Memory: 2 * minMemory, Time: 1}, password: pw, wantOK: true, wantRehash: true},
		{name: "more_time", current: Params{Memory: minMemory, Time: 3}, password: pw, wantOK: true, wantRehash: true},
		{name: "more_threads", current: Params{Memory: minMemory, Time: 1, Threads: 2}, password: pw, wantOK: true, wantRehash: true},
		{name: "longer_salt", current: Params{Memory: minMemory, Time: 1, SaltLen: 32}, password: pw, wantOK: true, wantRehash: true},
		{name: "longer_key", current: Params{Memory: minMemory, Time: 1, KeyLen: 64}, password: pw, wantOK: true, wantRehash: true},
		{name: "wrong_password_never_asks_rehash", current: Params{Memory: 2 * minMemory, Time: 1}, password: "wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHasher(t, tt.current, 2)
			ok, rehash, err := h.Verify(t.Context(), tt.password, phc)
			if ok != tt.wantOK || rehash != tt.wantRehash || err != nil {
				t.Errorf("Verify() with %+v = %v, %v, %v, want %v, %v, nil", h.Params(), ok, rehash, err, tt.wantOK, tt.wantRehash)
			}
		})
	}
}

// vectorFile is the layout of testdata/vectors.json.
type vectorFile struct {
	Vectors []struct {
		Name        string `json:"name"`
		Source      string `json:"source"`
		Password    string `json:"password"`
		PHC         string `json:"phc"`
		NeedsRehash bool   `json:"needs_rehash"`
	} `json:"vectors"`
}

// rejectedFile is the layout of testdata/rejected.json.
type rejectedFile struct {
	Vectors []struct {
		Name string `json:"name"`
		PHC  string `json:"phc"`
		Kind string `json:"kind"`
	} `json:"vectors"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestReferenceVectors verifies hashes made by the Argon2 reference
// implementation.
func TestReferenceVectors(t *testing.T) {
	var file vectorFile
	readJSON(t, "testdata/vectors.json", &file)
	if len(file.Vectors) == 0 {
		t.Fatal("testdata/vectors.json has no vectors")
	}
	// The 64 MiB vector needs four 19 MiB slots.
	h := newHasher(t, Params{}, 4)
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), v.Password, v.PHC)
			if !ok || rehash != v.NeedsRehash || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, %v, want true, %v, nil", v.Password, v.PHC, ok, rehash, err, v.NeedsRehash)
			}
			ok, rehash, err = h.Verify(t.Context(), v.Password+" ", v.PHC)
			if ok || rehash || err != nil {
				t.Errorf("Verify(wrong, %q) = %v, %v, %v, want false, false, nil", v.PHC, ok, rehash, err)
			}
			parsed, err := parsePHC(v.PHC)
			if err != nil {
				t.Fatalf("parsePHC(%q) = %v", v.PHC, err)
			}
			if got := parsed.String(); got != v.PHC {
				t.Errorf("parsePHC(%q).String() = %q, want the input", v.PHC, got)
			}
		})
	}
}

// A base of edits: the owasp_default_params reference vector.
const (
	refSalt = "bGF0Y2gtdmVjdG9yLTAwMQ"
	refKey  = "rA+pWM16jqiuJ0xR2nlAtiM01mckW/d2RiBhunR4s/E"
	refPHC  = "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt + "$" + refKey
)

func TestVerifyRejects(t *testing.T) {
	tests := []struct {
		name string
		phc  string
		want error
	}{
		{name: "empty", phc: "", want: ErrMalformedHash},
		{name: "no_leading_dollar", phc: refPHC[1:], want: ErrMalformedHash},
		{name: "bcrypt", phc: "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", want: ErrUnsupportedHash},
		{name: "argon2i", phc: "$argon2i$v=19$m=19456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "argon2d", phc: "$argon2d$v=19$m=19456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "upper_case_variant", phc: "$ARGON2ID$v=19$m=19456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "version_16", phc: "$argon2id$v=16$m=19456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "version_missing", phc: "$argon2id$m=19456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "version_leading_zero", phc: "$argon2id$v=019$m=19456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "version_hex", phc: "$argon2id$v=0x13$m=19456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "hash_missing", phc: "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt, want: ErrMalformedHash},
		{name: "hash_empty", phc: "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt + "$", want: ErrUnsupportedHash},
		{name: "salt_empty", phc: "$argon2id$v=19$m=19456,t=2,p=1$$" + refKey, want: ErrUnsupportedHash},
		{name: "extra_field", phc: refPHC + "$AAAA", want: ErrMalformedHash},
		{name: "trailing_dollar", phc: refPHC + "$", want: ErrMalformedHash},
		{name: "params_missing_p", phc: "$argon2id$v=19$m=19456,t=2$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "params_reordered", phc: "$argon2id$v=19$t=2,m=19456,p=1$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "params_extra_keyid", phc: "$argon2id$v=19$m=19456,t=2,p=1,keyid=AAAA$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "params_space", phc: "$argon2id$v=19$m=19456, t=2,p=1$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "params_plus_sign", phc: "$argon2id$v=19$m=+19456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "params_leading_zero", phc: "$argon2id$v=19$m=019456,t=2,p=1$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "params_overflow_uint32", phc: "$argon2id$v=19$m=4294967296,t=2,p=1$" + refSalt + "$" + refKey, want: ErrMalformedHash},
		{name: "memory_4GiB", phc: "$argon2id$v=19$m=4194304,t=2,p=1$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "memory_over_budget", phc: "$argon2id$v=19$m=65536,t=2,p=1$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "memory_below_8_per_lane", phc: "$argon2id$v=19$m=31,t=2,p=4$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "time_zero", phc: "$argon2id$v=19$m=19456,t=0,p=1$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "time_21", phc: "$argon2id$v=19$m=19456,t=21,p=1$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "threads_zero", phc: "$argon2id$v=19$m=19456,t=2,p=0$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "threads_255", phc: "$argon2id$v=19$m=19456,t=2,p=255$" + refSalt + "$" + refKey, want: ErrUnsupportedHash},
		{name: "salt_impossible_base64_length", phc: "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhb$" + refKey, want: ErrMalformedHash},
		{name: "salt_7_bytes", phc: "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbA$" + refKey, want: ErrUnsupportedHash},
		{name: "hash_15_bytes", phc: "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt + "$" + refKey[:20], want: ErrUnsupportedHash},
		{name: "salt_padded", phc: "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt + "==$" + refKey, want: ErrMalformedHash},
		{name: "hash_url_alphabet", phc: "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt + "$" + strings.ReplaceAll(refKey, "/", "_"), want: ErrMalformedHash},
		{name: "hash_nonzero_trailing_bits", phc: "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt + "$" + refKey[:len(refKey)-1] + "F", want: ErrMalformedHash},
		{name: "hash_line_break", phc: "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt + "$" + refKey[:20] + "\n" + refKey[20:], want: ErrMalformedHash},
		{name: "hash_carriage_return", phc: "$argon2id$v=19$m=19456,t=2,p=1$" + refSalt + "$" + refKey[:20] + "\r" + refKey[20:], want: ErrMalformedHash},
		{name: "too_long", phc: refPHC + strings.Repeat("A", 300), want: ErrMalformedHash},
	}

	var file rejectedFile
	readJSON(t, "testdata/rejected.json", &file)
	kinds := map[string]error{"malformed": ErrMalformedHash, "unsupported": ErrUnsupportedHash}
	for _, v := range file.Vectors {
		kind, ok := kinds[v.Kind]
		if !ok {
			t.Fatalf("testdata/rejected.json: %s: unknown kind %q", v.Name, v.Kind)
		}
		tests = append(tests, struct {
			name string
			phc  string
			want error
		}{"testdata/" + v.Name, v.PHC, kind})
	}

	h := newHasher(t, Params{}, 2)
	rec := instrument(h)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const pw = "password"
			ok, rehash, err := h.Verify(t.Context(), pw, tt.phc)
			if ok || rehash || !errors.Is(err, tt.want) {
				t.Errorf("Verify(%q, %q) = %v, %v, %v, want false, false, %v", pw, tt.phc, ok, rehash, err, tt.want)
			}
			for _, other := range []error{ErrMalformedHash, ErrUnsupportedHash} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("Verify(%q) error %v also matches %v", tt.phc, err, other)
				}
			}
			if err != nil && strings.Contains(err.Error(), refKey[:8]) {
				t.Errorf("Verify(%q) error %q quotes the stored hash", tt.phc, err)
			}
		})
	}
	if calls, _, _ := rec.snapshot(); len(calls) != 0 {
		t.Errorf("Verify computed Argon2 %d times for rejected hashes, want 0: %+v", len(calls), calls)
	}
}

func TestVerifyMemoryBudget(t *testing.T) {
	const (
		pw  = "password"
		phc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	)
	tests := []struct {
		name          string
		maxConcurrent int
		wantOK        bool
		wantErr       error
	}{
		// 65536 KiB needs ceil(65536 / 19456) = 4 slots of the default 19 MiB.
		{name: "three_slots_too_few", maxConcurrent: 3, wantErr: ErrUnsupportedHash},
		{name: "four_slots_enough", maxConcurrent: 4, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHasher(t, Params{}, tt.maxConcurrent)
			rec := instrument(h)
			ok, _, err := h.Verify(t.Context(), pw, phc)
			if ok != tt.wantOK || !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify() with %d slots = %v, %v, want %v, %v", tt.maxConcurrent, ok, err, tt.wantOK, tt.wantErr)
			}
			calls, _, _ := rec.snapshot()
			if want := map[bool]int{true: 1, false: 0}[tt.wantOK]; len(calls) != want {
				t.Errorf("Verify() with %d slots computed %d times, want %d", tt.maxConcurrent, len(calls), want)
			}
		})
	}
}

func TestPasswordLength(t *testing.T) {
	h := newHasher(t, fastParams, 1)
	rec := instrument(h)
	phc, err := h.Hash(t.Context(), "password")
	if err != nil {
		t.Fatalf("Hash() = %v", err)
	}
	long := strings.Repeat("secret-", MaxBytes/7+1)
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{name: "hash_empty", run: func() error { _, err := h.Hash(t.Context(), ""); return err }, want: ErrWeakPassword},
		{name: "hash_too_long", run: func() error { _, err := h.Hash(t.Context(), long); return err }, want: ErrPasswordTooLong},
		{name: "verify_too_long", run: func() error { _, _, err := h.Verify(t.Context(), long, phc); return err }, want: ErrPasswordTooLong},
		{name: "verify_dummy_too_long", run: func() error { return h.VerifyDummy(t.Context(), long) }, want: ErrPasswordTooLong},
	}
	before, _, _ := rec.snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
	if after, _, _ := rec.snapshot(); len(after) != len(before) {
		t.Errorf("refused passwords were hashed %d times, want 0", len(after)-len(before))
	}
}

// TestConcurrencyBound checks that no more than maxConcurrent slots'
// worth of Argon2 memory is ever in use, with Hash using one slot each
// and Verify of a twice-as-large stored hash using two.
func TestConcurrencyBound(t *testing.T) {
	const maxConcurrent = 2
	big := newHasher(t, Params{Memory: 2 * fastParams.Memory, Time: 1}, 1)
	bigPHC, err := big.Hash(t.Context(), "password")
	if err != nil {
		t.Fatalf("Hash() = %v", err)
	}

	tests := []struct {
		name      string
		hashes    int
		verifies  int
		wantCalls int
	}{
		{name: "20_hashes", hashes: 20, wantCalls: 20},
		{name: "hashes_and_double_memory_verifies", hashes: 10, verifies: 10, wantCalls: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHasher(t, fastParams, maxConcurrent)
			rec := instrument(h)
			// Let concurrent callers pile up while a computation runs.
			rec.beforeStart = func() { time.Sleep(2 * time.Millisecond) }
			var wg sync.WaitGroup
			errs := make(chan error, tt.hashes+tt.verifies)
			for range tt.hashes {
				wg.Go(func() {
					_, err := h.Hash(t.Context(), "password")
					errs <- err
				})
			}
			for range tt.verifies {
				wg.Go(func() {
					ok, _, err := h.Verify(t.Context(), "password", bigPHC)
					if err == nil && !ok {
						err = errors.New("Verify(password, bigPHC) = false, want true")
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			calls, maxRunning, maxMemory := rec.snapshot()
			if len(calls) != tt.wantCalls {
				t.Errorf("Argon2 ran %d times, want %d", len(calls), tt.wantCalls)
			}
			if maxRunning > maxConcurrent {
				t.Errorf("%d computations ran at once, want at most %d", maxRunning, maxConcurrent)
			}
			if budget := uint64(maxConcurrent) * uint64(fastParams.Memory); maxMemory > budget {
				t.Errorf("%d KiB of Argon2 memory in use at once, want at most %d", maxMemory, budget)
			}
			t.Logf("at most %d computations, %d KiB at once", maxRunning, maxMemory)
		})
	}
}

// blockSlots fills every slot of h with a Hash that waits until the test
// ends or release is called.
func blockSlots(t *testing.T, h *Hasher, rec *recorder, n int) (release func()) {
	t.Helper()
	entered := make(chan struct{}, n)
	unblock := make(chan struct{})
	rec.mu.Lock()
	rec.beforeStart = func() {
		entered <- struct{}{}
		<-unblock
	}
	rec.mu.Unlock()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "password"); err != nil {
				t.Errorf("blocking Hash() = %v", err)
			}
		})
	}
	for range n {
		<-entered
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			rec.mu.Lock()
			rec.beforeStart = nil
			rec.mu.Unlock()
			close(unblock)
			wg.Wait()
		})
	}
	t.Cleanup(release)
	return release
}

func TestContextWhileWaiting(t *testing.T) {
	tests := []struct {
		name string
		// ctx returns the context of the waiting call and a function that
		// ends it.
		ctx  func(t *testing.T) (context.Context, context.CancelFunc)
		want error
		// wantAfter is how long the call waits, on the bubble's clock.
		wantAfter time.Duration
	}{
		{
			name: "canceled",
			ctx: func(t *testing.T) (context.Context, context.CancelFunc) {
				return context.WithCancel(t.Context())
			},
			want: context.Canceled,
		},
		{
			name: "deadline",
			ctx: func(t *testing.T) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				return ctx, func() { <-ctx.Done(); cancel() }
			},
			want:      context.DeadlineExceeded,
			wantAfter: 100 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHasher(t, fastParams, 1)
				rec := instrument(h)
				phc, err := h.Hash(t.Context(), "password")
				if err != nil {
					t.Fatalf("Hash() = %v", err)
				}
				blockSlots(t, h, rec, 1)

				calls := []struct {
					name string
					run  func(ctx context.Context) error
				}{
					{"Hash", func(ctx context.Context) error { _, err := h.Hash(ctx, "password"); return err }},
					{"Verify", func(ctx context.Context) error { _, _, err := h.Verify(ctx, "password", phc); return err }},
					{"VerifyDummy", func(ctx context.Context) error { return h.VerifyDummy(ctx, "password") }},
				}
				for _, c := range calls {
					ctx, end := tt.ctx(t)
					done := make(chan error, 1)
					start := time.Now()
					go func() { done <- c.run(ctx) }()
					synctest.Wait()
					select {
					case err := <-done:
						t.Fatalf("%s returned %v while every slot was taken", c.name, err)
					default:
					}
					end()
					if err := <-done; err != tt.want {
						t.Errorf("%s(ended ctx while waiting) = %v, want %v", c.name, err, tt.want)
					}
					if d := time.Since(start); d != tt.wantAfter {
						t.Errorf("%s waited %v, want %v", c.name, d, tt.wantAfter)
					}
				}
			})
		})
	}
}

func TestContextDoneBeforeCall(t *testing.T) {
	h := newHasher(t, fastParams, 1)
	rec := instrument(h)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.Hash(ctx, "password"); err != context.Canceled {
		t.Errorf("Hash(canceled ctx) = %v, want %v", err, context.Canceled)
	}
	if err := h.VerifyDummy(ctx, "password"); err != context.Canceled {
		t.Errorf("VerifyDummy(canceled ctx) = %v, want %v", err, context.Canceled)
	}
	if calls, _, _ := rec.snapshot(); len(calls) != 0 {
		t.Errorf("Argon2 ran %d times with a canceled context, want 0", len(calls))
	}
}

// TestCanceledWaiterGivesBackSlots cancels a Verify that needs two slots
// while it holds one, then checks that both slots are free again.
func TestCanceledWaiterGivesBackSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		big := newHasher(t, Params{Memory: 2 * fastParams.Memory, Time: 1}, 1)
		bigPHC, err := big.Hash(t.Context(), "password")
		if err != nil {
			t.Fatalf("Hash() = %v", err)
		}
		h := newHasher(t, fastParams, 2)
		rec := instrument(h)
		release := blockSlots(t, h, rec, 1)

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, _, err := h.Verify(ctx, "password", bigPHC)
			done <- err
		}()
		synctest.Wait() // it takes the free slot and waits for the second
		if got := len(h.slots); got != 2 {
			t.Errorf("%d slots taken while Verify waits for its second, want 2", got)
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Fatalf("Verify(canceled while waiting) = %v, want %v", err, context.Canceled)
		}
		release()
		if got := len(h.slots); got != 0 {
			t.Fatalf("%d slots still taken after every call returned, want 0", got)
		}
		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if ok, _, err := h.Verify(ctx, "password", bigPHC); !ok || err != nil {
			t.Errorf("Verify(password, bigPHC) after cancellation = %v, %v, want true, nil", ok, err)
		}
	})
}

// TestVerifyDummy checks that VerifyDummy does the same Argon2 work as a
// Verify of a hash made with the current Params, and that the dummy hash
// matches nothing. Timing itself is too noisy to assert.
func TestVerifyDummy(t *testing.T) {
	tests := []struct {
		name   string
		params Params
	}{
		{name: "default", params: Params{}},
		{name: "custom", params: Params{Memory: minMemory, Time: 3, Threads: 2, SaltLen: 32, KeyLen: 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const pw = "correct horse battery staple"
			h := newHasher(t, tt.params, 1)
			phc, err := h.Hash(t.Context(), pw)
			if err != nil {
				t.Fatalf("Hash() = %v", err)
			}
			rec := instrument(h)
			if _, _, err := h.Verify(t.Context(), "wrong password", phc); err != nil {
				t.Fatalf("Verify() = %v", err)
			}
			if err := h.VerifyDummy(t.Context(), "wrong password"); err != nil {
				t.Fatalf("VerifyDummy() = %v", err)
			}
			calls, _, _ := rec.snapshot()
			if len(calls) != 2 {
				t.Fatalf("Verify and VerifyDummy ran Argon2 %d times, want 2", len(calls))
			}
			if real, dummy := calls[0], calls[1]; dummy != real {
				t.Errorf("VerifyDummy computed %+v, want the same as Verify: %+v", dummy, real)
			}
			p := h.Params()
			want := call{p.Time, p.Memory, p.Threads, int(p.SaltLen), int(p.KeyLen)}
			if calls[1] != want {
				t.Errorf("VerifyDummy computed %+v, want Params %+v", calls[1], want)
			}
			for _, pw := range []string{pw, "", "password"} {
				if ok, _, err := h.Verify(t.Context(), pw, h.dummy); ok || err != nil {
					t.Errorf("Verify(%q, dummy) = %v, %v, want false, nil", pw, ok, err)
				}
			}
		})
	}
}

// BenchmarkHash measures one Argon2id hash with the default Params on one
// core: hashes per second per core is 1e9 / (ns/op).
func BenchmarkHash(b *testing.B) {
	h := newHasher(b, Params{}, 1)
	ctx := b.Context()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOnSaturated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHasher(t, fastParams, 2)
		gate := make(chan struct{})
		h.derive = func(_, _ []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
			<-gate
			return make([]byte, keyLen)
		}
		var (
			mu    sync.Mutex
			calls []bool
		)
		h.OnSaturated(func(saturated bool) {
			mu.Lock()
			calls = append(calls, saturated)
			mu.Unlock()
		})
		got := func() string {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return fmt.Sprint(calls)
		}
		done := make(chan error, 5)
		hash := func() {
			go func() {
				_, err := h.Hash(t.Context(), "password")
				done <- err
			}()
		}
		// Two computations take the two slots at once: none waits.
		hash()
		hash()
		if c := got(); c != "[]" {
			t.Fatalf("calls with every computation running = %s, want []", c)
		}
		// One waits: not yet a full round queued.
		hash()
		if c := got(); c != "[]" {
			t.Fatalf("calls with 1 of 2 waiting = %s, want []", c)
		}
		// Two wait, as many as run at once: saturated.
		hash()
		hash()
		if c := got(); c != "[true]" {
			t.Fatalf("calls with 3 waiting = %s, want [true]", c)
		}
		// Two finish and two waiting ones start: one still waits.
		gate <- struct{}{}
		gate <- struct{}{}
		if c := got(); c != "[true]" {
			t.Fatalf("calls with 1 still waiting = %s, want [true]", c)
		}
		// The last one starts: no one waits.
		gate <- struct{}{}
		if c := got(); c != "[true false]" {
			t.Fatalf("calls once no one waits = %s, want [true false]", c)
		}
		close(gate)
		for range 5 {
			if err := <-done; err != nil {
				t.Errorf("Hash() = %v", err)
			}
		}
		if c := got(); c != "[true false]" {
			t.Errorf("calls at the end = %s, want [true false]", c)
		}
	})
}
