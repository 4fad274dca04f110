package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/latch-auth/latch/jose"
)

// algFlag is an --alg value, checked when the flag is parsed so that an
// unknown algorithm or "none" is a usage error.
type algFlag struct{ alg jose.Algorithm }

func (f *algFlag) String() string { return string(f.alg) }

func (f *algFlag) Set(s string) error {
	alg, err := jose.ParseAlgorithm(s)
	if err != nil {
		return errors.New(errorText(err))
	}
	f.alg = alg
	return nil
}

// keyFlags are the flags of every command that reads a key file: where it
// is, and which of its keys to use.
//
// --alg is required for PEM, which does not say its algorithm; for a JWK it
// must match the key's "alg" (and names the algorithm of an RSA or oct JWK
// without one); from a JWK Set it keeps the keys of that algorithm. --kid
// keeps the key with that ID, or names a PEM key, which has no ID of its
// own (the default is its RFC 7638 thumbprint).
type keyFlags struct {
	file string
	alg  algFlag
	kid  string
}

// addKeyFlags defines --alg and --kid on fs, and --key when fileFlag is
// set (otherwise the caller sets file from an argument).
func addKeyFlags(fs *flag.FlagSet, fileFlag bool) *keyFlags {
	k := new(keyFlags)
	if fileFlag {
		fs.StringVar(&k.file, "key", "", "key `FILE`: a JWK, a JWK Set or a PEM key (required)")
	}
	fs.Var(&k.alg, "alg", "algorithm `ALG` of a PEM key (required for PEM); for a JWK or JWK Set, use only a key of ALG")
	fs.StringVar(&k.kid, "kid", "", "use only the key with key ID `KID`; for a PEM key, its key ID (default: thumbprint)")
	return k
}

// keySet loads the --key file as the set of keys to verify with.
func (k *keyFlags) keySet(e *env, c *command) (*jose.KeySet, error) {
	kf, err := k.load(e, c)
	if err != nil {
		return nil, err
	}
	return kf.set, nil
}

// signingKey loads the --key file and returns its one private key (after
// --alg and --kid have selected).
func (k *keyFlags) signingKey(e *env, c *command) (*jose.Key, error) {
	kf, err := k.load(e, c)
	if err != nil {
		return nil, err
	}
	var found []*jose.Key
	for _, key := range kf.set.Keys() {
		if key.IsPrivate() {
			found = append(found, key)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("%s holds no private key or secret: signing needs one", keyLabel(k.file))
	}
	return nil, fmt.Errorf("%s holds %d private keys: choose one with --kid", keyLabel(k.file), len(found))
}

// load reads and parses the key file and applies --alg and --kid.
func (k *keyFlags) load(e *env, c *command) (keyFile, error) {
	if err := required(c, "key", k.file); err != nil {
		return keyFile{}, err
	}
	data, err := e.readInput(k.file, "key", maxKeySize)
	if err != nil {
		return keyFile{}, err
	}
	kf, err := parseKeyFile(data, k.alg.alg, k.kid)
	switch {
	case errors.Is(err, errPEMNeedsAlg):
		return keyFile{}, usagef(c, "%s is PEM: --alg is required", keyLabel(k.file))
	case err != nil:
		return keyFile{}, fmt.Errorf("%s: %w", keyLabel(k.file), err)
	}
	return kf, nil
}

// keyLabel names the key input name in errors.
func keyLabel(name string) string {
	if name == "-" {
		return "key from standard input"
	}
	return "key file " + name
}

// keyFile is the content of a key file.
type keyFile struct {
	set   *jose.KeySet
	isSet bool // the file is a JWK Set, not one JWK or PEM key
}

var errPEMNeedsAlg = errors.New("a PEM key needs --alg")

// parseKeyFile reads a JWK Set, a JWK or a PEM key and keeps the keys that
// match alg and kid (see keyFlags).
func parseKeyFile(data []byte, alg jose.Algorithm, kid string) (keyFile, error) {
	var (
		kf  keyFile
		key *jose.Key
		err error
	)
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return keyFile{}, errors.New("empty")
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN ")):
		if alg == "" {
			return keyFile{}, errPEMNeedsAlg
		}
		if key, err = jose.ParsePEM(data, alg); err == nil && kid != "" {
			key = key.WithKeyID(kid)
		}
	case !bytes.HasPrefix(trimmed, []byte("{")):
		return keyFile{}, errors.New("not a JWK, JWK Set or PEM key")
	case !isJWKSet(trimmed):
		key, err = jose.ParseJWK(data, alg)
	default:
		kf.isSet = true
		kf.set, err = jose.ParseJWKSet(data)
	}
	if err != nil {
		return keyFile{}, err
	}
	if key != nil {
		kf.set, err = jose.NewKeySet(key)
		if err != nil {
			return keyFile{}, err
		}
	}
	if kf.set, err = selectKeys(kf.set, alg, kid); err != nil {
		return keyFile{}, err
	}
	return kf, nil
}

// isJWKSet reports whether the JSON object data has a "keys" member. The
// JWK and JWK Set parsers check the rest strictly.
func isJWKSet(data []byte) bool {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.Keys != nil
}

// selectKeys returns the keys of set pinned to alg and with ID kid; empty
// values match every key. No key left is an error.
func selectKeys(set *jose.KeySet, alg jose.Algorithm, kid string) (*jose.KeySet, error) {
	var keep []*jose.Key
	for _, k := range set.Keys() {
		if (alg == "" || k.Algorithm() == alg) && (kid == "" || k.KeyID() == kid) {
			keep = append(keep, k)
		}
	}
	switch {
	case len(keep) > 0:
		return jose.NewKeySet(keep...)
	case set.Len() == 0:
		return nil, errors.New("the JWK Set holds no key latch can use")
	case kid != "":
		return nil, fmt.Errorf("no key with kid %q", truncate(kid, 64))
	}
	return nil, fmt.Errorf("no %s key", alg)
}

// defaultECDHAlg is the key management algorithm of an EC or X25519
// encryption key that does not say its own (a PEM key, a JWK without
// "alg") when --alg is not given. It is the CLI's choice, not jose's:
// jose.ParseEncryptionJWK and jose.ParseEncryptionPEM pick no ECDH-ES
// algorithm on their own.
const defaultECDHAlg = jose.ECDHESA256KW

// kmFlag is an --alg value of the JWE commands: a key management
// algorithm, checked when the flag is parsed.
type kmFlag struct{ alg jose.KeyManagement }

func (f *kmFlag) String() string { return string(f.alg) }

func (f *kmFlag) Set(s string) error {
	alg, err := jose.ParseKeyManagement(s)
	if err != nil {
		return errors.New(errorText(err))
	}
	f.alg = alg
	return nil
}

// encFlag is an --enc value: a content encryption algorithm.
type encFlag struct{ enc jose.ContentEncryption }

func (f *encFlag) String() string { return string(f.enc) }

func (f *encFlag) Set(s string) error {
	enc, err := jose.ParseContentEncryption(s)
	if err != nil {
		return errors.New(errorText(err))
	}
	f.enc = enc
	return nil
}

// loadEncryptionKey reads a JWE key file (the JWK or PEM key at name) and
// parses it with parseEncryptionKey.
func (e *env) loadEncryptionKey(name string, alg jose.KeyManagement, enc jose.ContentEncryption) (*jose.EncryptionKey, error) {
	data, err := e.readInput(name, "key", maxKeySize)
	if err != nil {
		return nil, err
	}
	key, err := parseEncryptionKey(data, alg, enc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyLabel(name), err)
	}
	return key, nil
}

// parseEncryptionKey reads a JWE key: a JWK (ParseEncryptionJWK; the
// algorithm is its "alg", which alg must match when both are given) or a
// PEM key (ParseEncryptionPEM: the PEM key types ParsePEM reads). A key
// that does not say its algorithm gets alg, or RSA-OAEP-256 for RSA and
// defaultECDHAlg for EC and X25519. For "dir", enc is the content
// encryption of a JWK without "alg".
func parseEncryptionKey(data []byte, alg jose.KeyManagement, enc jose.ContentEncryption) (*jose.EncryptionKey, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, errors.New("empty")
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN ")):
		return jose.ParseEncryptionPEM(trimmed, alg, defaultECDHAlg)
	case !bytes.HasPrefix(trimmed, []byte("{")):
		return nil, errors.New("not a JWK or PEM key")
	case isJWKSet(trimmed):
		return nil, errors.New("a JWK Set: give one encryption key, as a JWK")
	}
	var probe struct {
		Kty string `json:"kty"`
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return nil, fmt.Errorf("not a JWK: %v", err)
	}
	if probe.Alg == "" && alg == "" {
		switch probe.Kty {
		case "RSA":
			alg = jose.RSAOAEP256
		case "EC", "OKP":
			alg = defaultECDHAlg
		case "oct":
			return nil, errors.New(`an "oct" JWK without "alg" needs --alg`)
		}
	}
	return jose.ParseEncryptionJWK(trimmed, alg, enc)
}
