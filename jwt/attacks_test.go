package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latch-auth/latch/jose"
)

// documentedKinds are the Err… sentinels this package documents, by name:
// every error Parse returns must match one of them, so that a caller of
// this package never needs jose's names. TestDocumentedKinds keeps the map
// equal to the package's declarations.
var documentedKinds = map[string]error{
	"ErrMalformed":         ErrMalformed,
	"ErrTooLarge":          ErrTooLarge,
	"ErrSignature":         ErrSignature,
	"ErrAlgorithmMismatch": ErrAlgorithmMismatch,
	"ErrUnknownKey":        ErrUnknownKey,
	"ErrUnsupported":       ErrUnsupported,
	"ErrExpired":           ErrExpired,
	"ErrNotYetValid":       ErrNotYetValid,
	"ErrIssuedInFuture":    ErrIssuedInFuture,
	"ErrTooOld":            ErrTooOld,
	"ErrMissingClaim":      ErrMissingClaim,
	"ErrIssuer":            ErrIssuer,
	"ErrAudience":          ErrAudience,
	"ErrType":              ErrType,
	"ErrCritical":          ErrCritical,
	"ErrDecryption":        ErrDecryption,
	"ErrEncrypted":         ErrEncrypted,
	"ErrNotEncrypted":      ErrNotEncrypted,
}

// jwtKindOverrides are the vectors jwt refuses with a kind of its own
// rather than the jose kind the vector names: a JWE is not a malformed
// JWS to a validator, but an encrypted token it has no key for.
var jwtKindOverrides = map[string]error{
	"segments/five segments (JWE shape)": ErrEncrypted,
}

// joseKinds maps each of jose's documented kinds to the kind of this
// package a caller sees it as; "" marks one Parse cannot return.
var joseKinds = map[string]string{
	"ErrMalformed":            "ErrMalformed",
	"ErrNonCanonical":         "ErrMalformed", // also matches ErrMalformed
	"ErrDuplicateMember":      "ErrMalformed", // also matches ErrMalformed
	"ErrTooLarge":             "ErrTooLarge",
	"ErrUnsupportedAlgorithm": "ErrUnsupported",
	"ErrAlgorithmMismatch":    "ErrAlgorithmMismatch",
	"ErrUnknownKey":           "ErrUnknownKey",
	"ErrSignature":            "ErrSignature",
	"ErrCritical":             "ErrCritical",
	"ErrInvalidKey":           "", // key construction only, never verification
}

// declaredErrors returns the exported Err… variables declared in a file.
func declaredErrors(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				if strings.HasPrefix(n.Name, "Err") {
					names = append(names, n.Name)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// TestDocumentedKinds: the kinds above are exactly the ones declared, and
// every kind of jose that Parse can return has its name here.
func TestDocumentedKinds(t *testing.T) {
	if got, want := declaredErrors(t, "jwt.go"), slices.Sorted(maps.Keys(documentedKinds)); !slices.Equal(got, want) {
		t.Errorf("jwt.go declares %v; the test's documentedKinds lists %v", got, want)
	}
	joseErrs := map[string]error{
		"ErrMalformed": jose.ErrMalformed, "ErrNonCanonical": jose.ErrNonCanonical,
		"ErrDuplicateMember": jose.ErrDuplicateMember, "ErrTooLarge": jose.ErrTooLarge,
		"ErrUnsupportedAlgorithm": jose.ErrUnsupportedAlgorithm, "ErrAlgorithmMismatch": jose.ErrAlgorithmMismatch,
		"ErrUnknownKey": jose.ErrUnknownKey, "ErrSignature": jose.ErrSignature,
		"ErrCritical": jose.ErrCritical, "ErrInvalidKey": jose.ErrInvalidKey,
	}
	for _, name := range declaredErrors(t, filepath.Join("..", "jose", "errors.go")) {
		mirror, ok := joseKinds[name]
		switch {
		case !ok:
			t.Errorf("jose.%s: no entry in joseKinds; say which jwt kind a caller sees it as", name)
		case mirror == "":
		case documentedKinds[mirror] == nil:
			t.Errorf("jose.%s surfaces through Parse, but jwt has no %s", name, mirror)
		case name == "ErrNonCanonical" || name == "ErrDuplicateMember":
			// Refinements: the errors that match them match ErrMalformed
			// too (jose's attack table checks it).
		case !errors.Is(joseErrs[name], documentedKinds[mirror]):
			t.Errorf("errors.Is(jose.%s, jwt.%s) = false", name, mirror)
		}
	}
}

// rfcKey reads the JWK of one of jose's RFC vectors, as a verification key
// with the given key ID.
func rfcKey(t *testing.T, file, kid string) *jose.Key {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "jose", "testdata", "vectors", file))
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Key json.RawMessage }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	k, err := jose.ParseJWK(v.Key, "")
	if err != nil {
		t.Fatal(err)
	}
	if !k.IsSymmetric() {
		if k, err = k.Public(); err != nil {
			t.Fatal(err)
		}
	}
	return k.WithKeyID(kid)
}

// TestAttackVectorsThroughParse walks jose's table of crafted attack
// tokens (jose/testdata/attacks) through Validator.Parse: each must be
// refused with an error that matches exactly one of this package's
// documented kinds, the one that mirrors the jose kind the vector names.
func TestAttackVectorsThroughParse(t *testing.T) {
	keys := map[string]*jose.Key{
		"rfc7515-a1": rfcKey(t, "rfc7515-a1-hs256.json", "rfc7515-a1"),
		"rfc7515-a2": rfcKey(t, "rfc7515-a2-rs256.json", "rfc7515-a2"),
		"rfc7515-a3": rfcKey(t, "rfc7515-a3-es256.json", "rfc7515-a3"),
	}
	files, err := filepath.Glob(filepath.Join("..", "jose", "testdata", "attacks", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in jose/testdata/attacks: %v", err)
	}
	n := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Vectors []struct {
				Name, Token string
				Keys, Want  []string
			}
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, vec := range f.Vectors {
			n++
			name := strings.TrimSuffix(filepath.Base(file), ".json") + "/" + vec.Name
			t.Run(name, func(t *testing.T) {
				var set []*jose.Key
				for _, k := range vec.Keys {
					set = append(set, keys[k])
				}
				ks, err := jose.NewKeySet(set...)
				if err != nil {
					t.Fatal(err)
				}
				v, err := NewValidator(ks, testIssuer, testAudience, ValidatorOptions{Now: fixedNow})
				if err != nil {
					t.Fatal(err)
				}
				c, err := v.Parse(vec.Token)
				if err == nil {
					t.Fatalf("Parse(%.60q) = %+v, nil; want a rejection", vec.Token, c)
				}
				var matched []string
				for kind, sentinel := range documentedKinds {
					if errors.Is(err, sentinel) {
						matched = append(matched, kind)
					}
				}
				if len(matched) != 1 {
					t.Errorf("Parse(%.60q) = %v, matching jwt kinds %v; want exactly one", vec.Token, err, matched)
				}
				if want, ok := jwtKindOverrides[name]; ok {
					if !errors.Is(err, want) {
						t.Errorf("Parse(%.60q) = %v, want %v", vec.Token, err, want)
					}
					return
				}
				for _, w := range vec.Want {
					mirror := joseKinds[w]
					if mirror != "" && !errors.Is(err, documentedKinds[mirror]) {
						t.Errorf("Parse(%.60q) = %v, want jwt.%s (jose.%s)", vec.Token, err, mirror, w)
					}
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no attack vectors")
	}
}
