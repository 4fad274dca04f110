package jose

import (
	"encoding/binary"
	"math/big"
	"math/bits"
)

// The ROCA fingerprint (CVE-2017-15361; Nemec, Sys, Svenda, Klinec and
// Matyas, "The Return of Coppersmith's Attack: Practical Factorization of
// Widely Used RSA Moduli", ACM CCS 2017). Infineon's RSALib generated the
// primes of millions of smart-card and TPM keys as p = k*M + (65537^a mod
// M), M a primorial, and such a modulus can be factored in CPU-days to
// -years. Both primes, and so the modulus, are then powers of 65537 modulo
// M: the modulus lies in the subgroup of (Z/MZ)* that 65537 generates.
//
// The published test (the authors' detection tool, in its discrete-log
// form, as badkeys also uses it) checks exactly that membership for M the
// product of the odd primes up to 167, where 65537 has order L =
// 2454106387091158800 (about 2^61). By the Chinese remainder theorem it
// comes down to small numbers: for every prime r the modulus's residue
// must be a power 65537^x_r mod r (a table lookup), and the exponents must
// agree, x_r = x_s mod gcd(ord_r, ord_s) for every pair, so that one x
// fits them all. A modulus from any other generator passes with
// probability about L/M, 2^-157: there are no false positives in
// practice, and none of the vulnerable keys escapes it.

// rocaPrimes are the odd primes up to 167.
var rocaPrimes = [...]uint64{
	3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
	73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151,
	157, 163, 167,
}

// rocaTables holds, for each of rocaPrimes r, the order of 65537 modulo r,
// the discrete logarithm base 65537 of every residue (noLog for those
// outside the subgroup), and the gcd of its order with every other's.
var rocaTables = func() (t struct {
	order [len(rocaPrimes)]uint8
	log   [len(rocaPrimes)][168]uint8
	gcd   [len(rocaPrimes)][len(rocaPrimes)]uint8
}) {
	for i, r := range rocaPrimes {
		for x := range t.log[i] {
			t.log[i][x] = noLog
		}
		e := uint8(0)
		for x := uint64(1); ; e++ {
			t.log[i][x] = e
			if x = x * 65537 % r; x == 1 {
				break
			}
		}
		t.order[i] = e + 1
	}
	for i := range rocaPrimes {
		for j := range rocaPrimes {
			a, b := t.order[i], t.order[j]
			for b != 0 {
				a, b = b, a%b
			}
			t.gcd[i][j] = a
		}
	}
	return
}()

// noLog marks a residue that is no power of 65537.
const noLog = 0xFF

// rocaGroup is a run of rocaPrimes whose product m is below 2^63.
type rocaGroup struct{ m, first, n uint64 }

// rocaGroups splits rocaPrimes into products below 2^63, so that the
// modulus is reduced once per group rather than once per prime.
var rocaGroups = func() (groups []rocaGroup) {
	for i := 0; i < len(rocaPrimes); {
		g := rocaGroup{m: 1, first: uint64(i)}
		for i < len(rocaPrimes) {
			hi, lo := bits.Mul64(g.m, rocaPrimes[i])
			if hi != 0 || lo >= 1<<63 {
				break
			}
			g.m = lo
			g.n++
			i++
		}
		groups = append(groups, g)
	}
	return
}()

// hasROCAFingerprint reports whether the RSA modulus n has the structure
// of a key from Infineon's vulnerable RSALib (CVE-2017-15361).
func hasROCAFingerprint(n *big.Int) bool {
	buf := n.FillBytes(make([]byte, (n.BitLen()+7)/8))
	var logs [len(rocaPrimes)]uint8
	for _, g := range rocaGroups {
		// n mod g.m, eight bytes at a time from the most significant.
		var rem uint64
		b := buf
		if head := len(b) % 8; head != 0 {
			for _, c := range b[:head] {
				rem = rem<<8 | uint64(c)
			}
			rem, b = rem%g.m, b[head:]
		}
		for ; len(b) >= 8; b = b[8:] {
			_, rem = bits.Div64(rem, binary.BigEndian.Uint64(b), g.m)
		}
		for i := g.first; i < g.first+g.n; i++ {
			l := rocaTables.log[i][rem%rocaPrimes[i]]
			if l == noLog {
				return false // nearly every modulus stops at the first primes
			}
			logs[i] = l
		}
	}
	for i := range logs {
		for j := i + 1; j < len(logs); j++ {
			if d := rocaTables.gcd[i][j]; logs[i]%d != logs[j]%d {
				return false
			}
		}
	}
	return true
}
