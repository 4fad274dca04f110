package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Limits on a stored hash, checked by parsePHC before anything is computed.
// They follow the Argon2 constraints of RFC 9106 §3.1 where those are
// tighter (m >= 8*p), and otherwise bound the work one stored string can
// demand. Verify additionally refuses a memory cost above the Hasher's
// memory budget.
const (
	maxStoredTime    = maxTime
	maxStoredThreads = maxThreads
	maxStoredMemory  = maxMemory
	minStoredSalt    = 8 // RFC 9106 §3.1 and the reference implementation's minimum.
	maxStoredSalt    = 64
	minStoredKey     = 16
	maxStoredKey     = 64
	// maxPHCLen exceeds the longest string the limits above allow
	// ("$argon2id$v=19$m=4194304,t=20,p=16$" plus 86 + 1 + 86 characters).
	maxPHCLen = 256
)

// b64 is the encoding the PHC string format, the Argon2 reference
// implementation, libsodium and passlib use: the standard alphabet without
// padding. Strict rejects non-zero trailing bits, so every byte string has
// exactly one encoding.
var b64 = base64.RawStdEncoding.Strict()

// phc is a parsed "$argon2id$v=19$m=…,t=…,p=…$salt$hash" string.
type phc struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// params reports the cost parameters the hash was made with, comparable
// with a Hasher's Params.
func (h phc) params() Params {
	return Params{
		Memory:  h.memory,
		Time:    h.time,
		Threads: h.threads,
		SaltLen: uint32(len(h.salt)),
		KeyLen:  uint32(len(h.key)),
	}
}

// String encodes h in the PHC string format, as the Argon2 reference
// implementation's argon2_encode_string does.
func (h phc) String() string {
	var b strings.Builder
	b.Grow(maxPHCLen)
	b.WriteString("$argon2id$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(h.memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(h.time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(h.threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.key))
	return b.String()
}

// parsePHC parses a canonical Argon2id v=19 PHC string, so that
// parsePHC(s).String() == s for every s it accepts. It refuses, with
// ErrMalformedHash, anything else in that shape, and, with
// ErrUnsupportedHash, other algorithms and versions and parameters outside
// the stored-hash limits. Errors never quote the input.
func parsePHC(s string) (phc, error) {
	if len(s) > maxPHCLen {
		return phc{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxPHCLen)
	}
	fields := strings.Split(s, "$")
	if len(fields) < 2 || fields[0] != "" {
		return phc{}, fmt.Errorf("%w: not a PHC string", ErrMalformedHash)
	}
	if fields[1] != "argon2id" {
		return phc{}, fmt.Errorf("%w: algorithm is not argon2id", ErrUnsupportedHash)
	}
	if len(fields) != 6 {
		return phc{}, fmt.Errorf("%w: want 5 fields, got %d", ErrMalformedHash, len(fields)-1)
	}
	version, ok := strings.CutPrefix(fields[2], "v=")
	if !ok {
		return phc{}, fmt.Errorf("%w: missing version", ErrMalformedHash)
	}
	v, ok := parseDecimal(version)
	if !ok {
		return phc{}, fmt.Errorf("%w: bad version", ErrMalformedHash)
	}
	if v != 19 {
		return phc{}, fmt.Errorf("%w: version %d, want 19", ErrUnsupportedHash, v)
	}

	var h phc
	m, t, p, ok := parseCosts(fields[3])
	if !ok {
		return phc{}, fmt.Errorf("%w: parameters are not m=<int>,t=<int>,p=<int>", ErrMalformedHash)
	}
	salt, ok := decodeB64(fields[4])
	if !ok {
		return phc{}, fmt.Errorf("%w: bad salt encoding", ErrMalformedHash)
	}
	key, ok := decodeB64(fields[5])
	if !ok {
		return phc{}, fmt.Errorf("%w: bad hash encoding", ErrMalformedHash)
	}
	switch {
	case t < 1 || t > maxStoredTime:
		return phc{}, fmt.Errorf("%w: t=%d outside [1, %d]", ErrUnsupportedHash, t, maxStoredTime)
	case p < 1 || p > maxStoredThreads:
		return phc{}, fmt.Errorf("%w: p=%d outside [1, %d]", ErrUnsupportedHash, p, maxStoredThreads)
	case m < 8*p || m > maxStoredMemory:
		return phc{}, fmt.Errorf("%w: m=%d outside [8*p, %d]", ErrUnsupportedHash, m, maxStoredMemory)
	case len(salt) < minStoredSalt || len(salt) > maxStoredSalt:
		return phc{}, fmt.Errorf("%w: salt of %d bytes outside [%d, %d]", ErrUnsupportedHash, len(salt), minStoredSalt, maxStoredSalt)
	case len(key) < minStoredKey || len(key) > maxStoredKey:
		return phc{}, fmt.Errorf("%w: hash of %d bytes outside [%d, %d]", ErrUnsupportedHash, len(key), minStoredKey, maxStoredKey)
	}
	h.memory, h.time, h.threads = m, t, uint8(p)
	h.salt, h.key = salt, key
	return h, nil
}

// parseCosts parses exactly "m=<m>,t=<t>,p=<p>", the order the reference
// implementation writes. The optional PHC "keyid" and "data" parameters
// are refused.
func parseCosts(s string) (m, t, p uint32, ok bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var out [3]uint32
	for i, name := range [3]string{"m=", "t=", "p="} {
		digits, found := strings.CutPrefix(parts[i], name)
		if !found {
			return 0, 0, 0, false
		}
		if out[i], found = parseDecimal(digits); !found {
			return 0, 0, 0, false
		}
	}
	return out[0], out[1], out[2], true
}

// parseDecimal parses a canonical unsigned decimal that fits in 32 bits:
// digits only, no sign, no leading zero (PHC string format, "Decimal
// Encoding").
func parseDecimal(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}

// decodeB64 decodes standard base64 without padding, refusing padding,
// the URL alphabet, non-zero trailing bits and the CR and LF bytes the
// decoder would otherwise skip.
func decodeB64(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodedLen(len(b)) != len(s) {
		return nil, false
	}
	return b, true
}
