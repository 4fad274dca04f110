package interop

import (
	"bytes"
	"crypto"
	"encoding/json"
	"reflect"
	"testing"

	josev4 "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// jwkPeer is a library's JWK type seen through the operations the JWK
// tests need. A parsed key is the library's own type (jwk.Key,
// josev4.JSONWebKey), which its sign and verify accept directly.
type jwkPeer struct {
	name string
	// parse reads a JWK latch wrote.
	parse func(data []byte) (any, error)
	// thumbprint is the RFC 7638 SHA-256 thumbprint of a parsed key; ok
	// is false when the library cannot compute one for this key type.
	thumbprint func(key any) (tp []byte, ok bool, err error)
	// export writes raw key material as the library's JWK with "kid" and
	// "alg" set: the public key, or the secret for HMAC; and the private
	// key.
	export func(f *fixture, kid string) (public, private []byte, err error)
	peer   peer
}

var jwkPeers = []jwkPeer{
	{
		name:  "jwx",
		parse: func(data []byte) (any, error) { return jwk.ParseKey(data) },
		thumbprint: func(key any) ([]byte, bool, error) {
			tp, err := key.(jwk.Key).Thumbprint(crypto.SHA256)
			return tp, true, err
		},
		export: func(f *fixture, kid string) ([]byte, []byte, error) {
			k, err := jwxKey(f, kid)
			if err != nil {
				return nil, nil, err
			}
			priv, err := json.Marshal(k)
			if err != nil || f.signer.IsSymmetric() {
				return priv, priv, err
			}
			pk, err := k.PublicKey()
			if err != nil {
				return nil, nil, err
			}
			pub, err := json.Marshal(pk)
			return pub, priv, err
		},
		peer: peers[1],
	},
	{
		name: "go-jose",
		parse: func(data []byte) (any, error) {
			var k josev4.JSONWebKey
			err := k.UnmarshalJSON(data)
			return k, err
		},
		thumbprint: func(key any) ([]byte, bool, error) {
			k := key.(josev4.JSONWebKey)
			if _, ok := k.Key.([]byte); ok {
				return nil, false, nil // go-jose has no thumbprint for "oct" keys
			}
			tp, err := k.Thumbprint(crypto.SHA256)
			return tp, true, err
		},
		export: func(f *fixture, kid string) ([]byte, []byte, error) {
			k := josev4.JSONWebKey{Key: f.priv, KeyID: kid, Algorithm: string(f.alg), Use: "sig"}
			priv, err := k.MarshalJSON()
			if err != nil || f.signer.IsSymmetric() {
				return priv, priv, err
			}
			pub, err := k.Public().MarshalJSON()
			return pub, priv, err
		},
		peer: peers[2],
	},
}

// jwxKey imports f's raw key into jwx with "kid" and "alg".
func jwxKey(f *fixture, kid string) (jwk.Key, error) {
	k, err := jwk.Import(f.priv)
	if err != nil {
		return nil, err
	}
	if err := k.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	if err := k.Set(jwk.AlgorithmKey, jwxAlg(f.alg)); err != nil {
		return nil, err
	}
	return k, nil
}

// TestLatchJWKsInPeers: a peer reads latch's JWKs, signs with the private
// one (latch verifies, finding the key by the kid the peer took from the
// JWK), verifies latch's token with the public one, and computes the same
// thumbprint.
func TestLatchJWKsInPeers(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		f := newFixture(t, alg)
		v := f.validator(t)
		for _, p := range jwkPeers {
			t.Run(string(alg)+"/"+p.name, func(t *testing.T) {
				privJWK, err := f.signer.PrivateJWK()
				if err != nil {
					t.Fatalf("%v.PrivateJWK() error: %v", f.signer, err)
				}
				privKey, err := p.parse(privJWK)
				if err != nil {
					t.Fatalf("%s parse(latch private JWK) error: %v\nJWK: %s", p.name, err, privJWK)
				}
				want := newAccessClaims(t)
				token, err := p.peer.sign(alg, privKey, "", want)
				if err != nil {
					t.Fatalf("%s sign(%s) with latch private JWK error: %v", p.name, alg, err)
				}
				hdr, _, err := jose.Verify(token, f.trusted, jose.VerifyOptions{})
				if err != nil {
					t.Fatalf("jose.Verify(%s token signed with latch JWK) error: %v", p.name, err)
				}
				if hdr.KeyID != f.signer.KeyID() {
					t.Errorf("jose.Verify(%s token signed with latch JWK) kid = %q, want %q", p.name, hdr.KeyID, f.signer.KeyID())
				}
				if got, err := latchParse(v, token); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("Validator.Parse(%s token signed with latch JWK) = %+v, %v, want %+v", p.name, got, err, want)
				}

				checkThumbprint(t, p, privKey, f.signer)

				if f.signer.IsSymmetric() {
					if pub, err := f.signer.PublicJWK(); err == nil {
						t.Errorf("%v.PublicJWK() = %s, want error", f.signer, pub)
					}
					return
				}
				pubJWK, err := f.signer.PublicJWK()
				if err != nil {
					t.Fatalf("%v.PublicJWK() error: %v", f.signer, err)
				}
				pubKey, err := p.parse(pubJWK)
				if err != nil {
					t.Fatalf("%s parse(latch public JWK) error: %v\nJWK: %s", p.name, err, pubJWK)
				}
				latchToken, err := latchSign(f.signer, want)
				if err != nil {
					t.Fatalf("jwt.Sign(%v) error: %v", f.signer, err)
				}
				if got, err := p.peer.verify(alg, pubKey, latchToken); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s verify(latch token, latch public JWK) = %+v, %v, want %+v", p.name, got, err, want)
				}
				checkThumbprint(t, p, pubKey, f.signer)
			})
		}
	}
}

func checkThumbprint(t *testing.T, p jwkPeer, peerKey any, key *jose.Key) {
	t.Helper()
	tp, ok, err := p.thumbprint(peerKey)
	switch {
	case err != nil:
		t.Errorf("%s thumbprint of %v error: %v", p.name, key, err)
	case ok && !bytes.Equal(tp, key.Thumbprint()):
		t.Errorf("%v.Thumbprint() = %x, %s computes %x", key, key.Thumbprint(), p.name, tp)
	}
}

// TestPeerJWKsInLatch: latch reads a peer's JWKs; the public one (the
// secret for HMAC) verifies the peer's token, and latch signs with the
// private one a token the peer verifies with its own key.
func TestPeerJWKsInLatch(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		f := newFixture(t, alg)
		for _, p := range jwkPeers {
			t.Run(string(alg)+"/"+p.name, func(t *testing.T) {
				kid := p.name + "-" + string(alg) + "-2025"
				pubJWK, privJWK, err := p.export(f, kid)
				if err != nil {
					t.Fatalf("%s export JWK error: %v", p.name, err)
				}
				pub, err := jose.ParseJWK(pubJWK, alg)
				if err != nil {
					t.Fatalf("jose.ParseJWK(%s JWK %s, %s) error: %v", p.name, pubJWK, alg, err)
				}
				if pub.KeyID() != kid || pub.Algorithm() != alg || !bytes.Equal(pub.Thumbprint(), f.signer.Thumbprint()) {
					t.Errorf("jose.ParseJWK(%s JWK, %s) = kid %q alg %s thumbprint %x, want %q %s %x",
						p.name, alg, pub.KeyID(), pub.Algorithm(), pub.Thumbprint(), kid, alg, f.signer.Thumbprint())
				}
				keys, err := jose.NewKeySet(pub)
				if err != nil {
					t.Fatalf("jose.NewKeySet: %v", err)
				}
				v, err := jwt.NewValidator(keys, issuer, audience, jwt.ValidatorOptions{Type: jwt.TypeAccessToken})
				if err != nil {
					t.Fatalf("jwt.NewValidator: %v", err)
				}
				want := newAccessClaims(t)
				token, err := p.peer.sign(alg, f.priv, kid, want)
				if err != nil {
					t.Fatalf("%s sign(%s) error: %v", p.name, alg, err)
				}
				if got, err := latchParse(v, token); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("Validator.Parse(%s token, key from %s JWK) = %+v, %v, want %+v", p.name, p.name, got, err, want)
				}

				// The private JWK, read with the algorithm coming from its
				// "alg" member alone.
				priv, err := jose.ParseJWK(privJWK, "")
				if err != nil {
					t.Fatalf("jose.ParseJWK(%s private JWK, \"\") error: %v", p.name, err)
				}
				if !priv.IsPrivate() || priv.KeyID() != kid || priv.Algorithm() != alg {
					t.Errorf("jose.ParseJWK(%s private JWK, \"\") = %v, want private %s key %q", p.name, priv, alg, kid)
				}
				latchToken, err := latchSign(priv, want)
				if err != nil {
					t.Fatalf("jwt.Sign(%v) error: %v", priv, err)
				}
				if got, err := p.peer.verify(alg, f.pub, latchToken); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s verify(token latch signed with %s private JWK) = %+v, %v, want %+v", p.name, p.name, got, err, want)
				}
			})
		}
	}
}

// setAlgs are algorithms with distinct key material, so their default key
// IDs (thumbprints) differ and they can share a latch KeySet.
var setAlgs = []jose.Algorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// TestJWXJWKSetInLatch: an identity provider running jwx publishes its
// signing keys next to an encryption key; latch reads the set, skips the
// encryption key, and verifies a token from each signing key.
func TestJWXJWKSetInLatch(t *testing.T) {
	set := jwk.NewSet()
	fixtures := make(map[string]*fixture)
	for _, alg := range setAlgs {
		f := newFixture(t, alg)
		kid := "jwx-" + string(alg)
		k, err := jwxKey(f, kid)
		if err != nil {
			t.Fatalf("jwx key %s: %v", alg, err)
		}
		pk, err := k.PublicKey()
		if err != nil {
			t.Fatalf("jwx public key %s: %v", alg, err)
		}
		if err := set.AddKey(pk); err != nil {
			t.Fatalf("jwx AddKey: %v", err)
		}
		fixtures[kid] = f
	}
	rsaPriv, err := rsaKey()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := jwk.Import(&rsaPriv.PublicKey)
	if err != nil {
		t.Fatalf("jwx Import: %v", err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: "jwx-enc", jwk.KeyUsageKey: "enc", jwk.AlgorithmKey: jwa.RSA_OAEP_256()} {
		if err := enc.Set(name, v); err != nil {
			t.Fatalf("jwx Set(%s): %v", name, err)
		}
	}
	if err := set.AddKey(enc); err != nil {
		t.Fatalf("jwx AddKey: %v", err)
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatalf("json.Marshal(jwx set): %v", err)
	}
	keys, err := jose.ParseJWKSet(data)
	if err != nil {
		t.Fatalf("jose.ParseJWKSet(jwx set) error: %v\nset: %s", err, data)
	}
	if keys.Len() != len(setAlgs) {
		t.Errorf("jose.ParseJWKSet(jwx set).Len() = %d, want %d", keys.Len(), len(setAlgs))
	}
	v, err := jwt.NewValidator(keys, issuer, audience, jwt.ValidatorOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatalf("jwt.NewValidator: %v", err)
	}
	for kid, f := range fixtures {
		t.Run(kid, func(t *testing.T) {
			if k := keys.Lookup(kid); k == nil || k.Algorithm() != f.alg || !bytes.Equal(k.Thumbprint(), f.signer.Thumbprint()) {
				t.Fatalf("jose.ParseJWKSet(jwx set).Lookup(%q) = %v, want %s key with thumbprint %x", kid, k, f.alg, f.signer.Thumbprint())
			}
			want := newAccessClaims(t)
			token, err := jwxSign(f.alg, f.priv, kid, want)
			if err != nil {
				t.Fatalf("jwx sign(%s) error: %v", f.alg, err)
			}
			if got, err := latchParse(v, token); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Validator.Parse(jwx %s token, jwx JWKS) = %+v, %v, want %+v", f.alg, got, err, want)
			}
		})
	}
}

// TestLatchJWKSInPeers: latch's published JWKS is what a resource server
// running a peer fetches; the peer finds each key by kid and verifies
// latch's tokens with it.
func TestLatchJWKSInPeers(t *testing.T) {
	var signers []*jose.Key
	var public []*jose.Key
	for _, alg := range setAlgs {
		f := newFixture(t, alg)
		pub, err := f.signer.Public()
		if err != nil {
			t.Fatalf("%v.Public(): %v", f.signer, err)
		}
		signers = append(signers, f.signer)
		public = append(public, pub)
	}
	set, err := jose.NewKeySet(public...)
	if err != nil {
		t.Fatalf("jose.NewKeySet: %v", err)
	}
	data, err := set.PublicJWKS()
	if err != nil {
		t.Fatalf("PublicJWKS() error: %v", err)
	}

	jwxSet, err := jwk.Parse(data)
	if err != nil {
		t.Fatalf("jwx jwk.Parse(latch JWKS) error: %v\nJWKS: %s", err, data)
	}
	var joseSet josev4.JSONWebKeySet
	if err := json.Unmarshal(data, &joseSet); err != nil {
		t.Fatalf("go-jose unmarshal(latch JWKS) error: %v\nJWKS: %s", err, data)
	}
	for _, signer := range signers {
		t.Run(string(signer.Algorithm()), func(t *testing.T) {
			want := newAccessClaims(t)
			token, err := latchSign(signer, want)
			if err != nil {
				t.Fatalf("jwt.Sign(%v) error: %v", signer, err)
			}

			// jwx: WithKeySet requires a kid match and an "alg" on the key.
			tok, err := jwxjwt.Parse([]byte(token), jwxjwt.WithKeySet(jwxSet), jwxjwt.WithIssuer(issuer), jwxjwt.WithAudience(audience))
			if err != nil {
				t.Errorf("jwx Parse(latch %s token, WithKeySet(latch JWKS)) error: %v", signer.Algorithm(), err)
			} else if got, err := jwxClaims(tok); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("jwx claims(latch %s token) = %+v, %v, want %+v", signer.Algorithm(), got, err, want)
			}
			jk, ok := jwxSet.LookupKeyID(signer.KeyID())
			if !ok {
				t.Fatalf("jwx LookupKeyID(%q) in latch JWKS: not found", signer.KeyID())
			}
			checkThumbprint(t, jwkPeers[0], jk, signer)

			// go-jose: the resource server looks the key up by kid.
			found := joseSet.Key(signer.KeyID())
			if len(found) != 1 {
				t.Fatalf("go-jose JSONWebKeySet.Key(%q) = %d keys, want 1", signer.KeyID(), len(found))
			}
			if found[0].Algorithm != string(signer.Algorithm()) {
				t.Errorf("go-jose key %q alg = %q, want %s", signer.KeyID(), found[0].Algorithm, signer.Algorithm())
			}
			if got, err := goJoseVerify(signer.Algorithm(), found[0], token); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("go-jose verify(latch %s token, key from latch JWKS) = %+v, %v, want %+v", signer.Algorithm(), got, err, want)
			}
			checkThumbprint(t, jwkPeers[1], found[0], signer)
		})
	}
}

// TestPEMWithJWX: PEM written by latch reads in jwx and the other way
// round, to the same key (equal thumbprints) that signs and verifies.
func TestPEMWithJWX(t *testing.T) {
	for _, alg := range setAlgs {
		f := newFixture(t, alg)
		v := f.validator(t)
		t.Run(string(alg), func(t *testing.T) {
			// latch -> jwx: jwx signs with the private key it read.
			latchPEM, err := f.signer.MarshalPEM()
			if err != nil {
				t.Fatalf("%v.MarshalPEM() error: %v", f.signer, err)
			}
			jk, err := jwk.ParseKey(latchPEM, jwk.WithPEM(true))
			if err != nil {
				t.Fatalf("jwx ParseKey(latch PEM) error: %v", err)
			}
			checkThumbprint(t, jwkPeers[0], jk, f.signer)
			want := newAccessClaims(t)
			token, err := jwxSign(alg, jk, "", want)
			if err != nil {
				t.Fatalf("jwx sign(%s) with latch PEM key error: %v", alg, err)
			}
			if got, err := latchParse(v, token); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Validator.Parse(jwx token signed with latch PEM key) = %+v, %v, want %+v", got, err, want)
			}

			// jwx -> latch: latch reads the public and the private key.
			raw, err := jwk.Import(f.priv)
			if err != nil {
				t.Fatalf("jwx Import: %v", err)
			}
			pubRaw, err := raw.PublicKey()
			if err != nil {
				t.Fatalf("jwx PublicKey: %v", err)
			}
			for _, k := range []jwk.Key{pubRaw, raw} {
				data, err := jwk.EncodePEM(k)
				if err != nil {
					t.Fatalf("jwx EncodePEM error: %v", err)
				}
				got, err := jose.ParsePEM(data, alg)
				if err != nil {
					t.Fatalf("jose.ParsePEM(jwx PEM, %s) error: %v\n%s", alg, err, data)
				}
				if got.Algorithm() != alg || !bytes.Equal(got.Thumbprint(), f.signer.Thumbprint()) {
					t.Errorf("jose.ParsePEM(jwx PEM, %s) = %v with thumbprint %x, want %s key with %x", alg, got, got.Thumbprint(), alg, f.signer.Thumbprint())
				}
			}
		})
	}
}
