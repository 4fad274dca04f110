package jose

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rocaGenerator is 65537, the generator of RSALib's primes, and rocaOrder
// its published order modulo rocaM, the product of the odd primes up to
// 167.
var (
	rocaGenerator = big.NewInt(65537)
	rocaOrder, _  = new(big.Int).SetString("2454106387091158800", 10)
	rocaM         = func() *big.Int {
		m := big.NewInt(1)
		for _, r := range rocaPrimes {
			m.Mul(m, new(big.Int).SetUint64(r))
		}
		return m
	}()
)

// rocaReference decides membership of n mod rocaM in the subgroup that
// 65537 generates the slow, independent way (big numbers, Pohlig-Hellman
// per prime power of the order, as badkeys does): n^L = 1, and for each
// prime power q^e of L, n^(L/q^e) is a power of 65537^(L/q^e).
func rocaReference(n *big.Int) bool {
	if new(big.Int).Exp(n, rocaOrder, rocaM).Cmp(big.NewInt(1)) != 0 {
		return false
	}
	for _, pe := range []int64{16, 81, 25, 7, 11, 13, 17, 23, 29, 37, 41, 53, 83} {
		e := new(big.Int).Div(rocaOrder, big.NewInt(pe))
		g := new(big.Int).Exp(rocaGenerator, e, rocaM)
		h := new(big.Int).Exp(n, e, rocaM)
		x, found := big.NewInt(1), false
		for range pe {
			if x.Cmp(h) == 0 {
				found = true
				break
			}
			x.Mul(x, g).Mod(x, rocaM)
		}
		if !found {
			return false
		}
	}
	return true
}

// rocaModulus returns a modulus built as RSALib builds its keys: the
// product of two numbers k*M + (65537^a mod M) of about half the bits each
// (primality does not matter to the fingerprint), odd and of exactly bits
// bits.
func rocaModulus(t testing.TB, rng *mrand.Rand, bits int) *big.Int {
	t.Helper()
	m2 := new(big.Int).Lsh(rocaM, 1) // with 2, so that the factors are odd
	factor := func(size int) *big.Int {
		a := new(big.Int).SetUint64(rng.Uint64())
		k, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(size-m2.BitLen())))
		if err != nil {
			t.Fatal(err)
		}
		f := new(big.Int).Mul(k, m2)
		return f.Add(f, new(big.Int).Exp(rocaGenerator, a, m2))
	}
	for {
		n := new(big.Int).Mul(factor((bits+2)/2), factor((bits+1)/2))
		if n.BitLen() == bits {
			return n
		}
	}
}

// randomOdd returns a random odd number of exactly bits bits.
func randomOdd(bits int) *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	n.SetBit(n, bits-1, 1)
	return n.SetBit(n, 0, 1)
}

// TestROCAFingerprintMatchesReference compares the table-driven test with
// the big-number reference on moduli of RSALib's form, on moduli one
// residue away from that form (which only the consistency of the
// exponents across primes can tell apart), and on random moduli.
func TestROCAFingerprintMatchesReference(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	var flagged, near int
	for i := range 300 {
		bits := []int{2048, 2049, 3072, 4096}[i%4]
		n := rocaModulus(t, rng, bits)
		if !rocaReference(n) || !hasROCAFingerprint(n) {
			t.Fatalf("RSALib-form %d-bit modulus: reference %v, hasROCAFingerprint %v; want true", bits, rocaReference(n), hasROCAFingerprint(n))
		}
		flagged++
		// Change the residue modulo one prime only: add a multiple of M/r.
		r := rocaPrimes[rng.IntN(len(rocaPrimes))]
		step := new(big.Int).Div(rocaM, new(big.Int).SetUint64(r))
		step.Mul(step, big.NewInt(2*int64(1+rng.IntN(int(r)-1)))) // even: n stays odd
		m := new(big.Int).Add(n, step)
		if got, want := hasROCAFingerprint(m), rocaReference(m); got != want {
			t.Fatalf("modulus one residue (mod %d) from RSALib's form: hasROCAFingerprint = %v, reference %v", r, got, want)
		}
		if !rocaReference(m) {
			near++
		}
	}
	for range 2000 {
		n := randomOdd(2048)
		if got, want := hasROCAFingerprint(n), rocaReference(n); got || want {
			t.Fatalf("random modulus %x: hasROCAFingerprint = %v, reference %v; want false", n, got, want)
		}
	}
	if near == 0 {
		t.Error("no near miss was a non-member: the consistency check went untested")
	}
	t.Logf("%d RSALib-form moduli flagged, %d near misses refused", flagged, near)
}

// TestROCAKeysRefused: key construction refuses a modulus with the ROCA
// fingerprint, as it refuses a short one, whichever way the key comes in;
// generated keys and the RFC examples are accepted.
func TestROCAKeysRefused(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "jwk", "wycheproof-roca-rs256.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		delete(m, name)
	}
	public, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	n := new(big.Int).SetBytes(mustDecode(t, m["n"].(string)))
	rng := mrand.New(mrand.NewPCG(3, 4))
	check := func(what string, k *Key, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalidKey) || k != nil || !strings.Contains(err.Error(), "ROCA") {
			t.Errorf("%s = %v, %v; want ErrInvalidKey naming ROCA", what, k, err)
		}
	}
	k, err := ParseJWK(data, "")
	check("ParseJWK(Wycheproof ROCA private key)", k, err)
	k, err = ParseJWK(public, "")
	check("ParseJWK(Wycheproof ROCA public key)", k, err)
	set, err := ParseJWKSet([]byte(`{"keys":[` + string(public) + `]}`))
	if !errors.Is(err, ErrInvalidKey) || set != nil {
		t.Errorf("ParseJWKSet(with the Wycheproof ROCA key) = %v, %v; want ErrInvalidKey", set, err)
	}
	for _, alg := range []Algorithm{RS256, PS512} {
		k, err = NewRSAPublicKey(alg, &rsa.PublicKey{N: n, E: 65537})
		check("NewRSAPublicKey(Wycheproof ROCA modulus, "+string(alg)+")", k, err)
		k, err = NewRSAPublicKey(alg, &rsa.PublicKey{N: rocaModulus(t, rng, 2048), E: 65537})
		check("NewRSAPublicKey(RSALib-form modulus, "+string(alg)+")", k, err)
	}

	for range 4 {
		k, err := GenerateKey(RS256)
		if err != nil {
			t.Fatalf("GenerateKey(RS256) = %v", err)
		}
		if hasROCAFingerprint(k.rsaPub.N) {
			t.Errorf("generated key %v has the ROCA fingerprint", k)
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := decodeSegment(nil, s, "test")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkROCAFingerprint measures the check key construction runs on
// every RSA modulus, next to the RSA verification it protects.
//
//	go test ./jose -run '^$' -bench ROCA -count 5
func BenchmarkROCAFingerprint(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		n    *big.Int
	}{
		{"generated-2048", priv.N},
		{"random-4096", randomOdd(4096)},
		{"roca-2048", rocaModulus(b, mrand.New(mrand.NewPCG(5, 6)), 2048)}, // the slowest: every check passes
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				hasROCAFingerprint(tt.n)
			}
		})
	}
	b.Run("rsa-verify-2048", func(b *testing.B) {
		key, err := NewRSAPrivateKey(RS256, priv)
		if err != nil {
			b.Fatal(err)
		}
		sig, err := key.sign([]byte("signing input"))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := key.verify([]byte("signing input"), sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
