package jose

import (
	"fmt"
	"sync/atomic"
)

// KeySet is an immutable set of trusted keys, each with a distinct key ID.
// It is what verification selects a key from; nothing in a token can add
// to it. It is safe for concurrent use.
type KeySet struct {
	keys []*Key
	byID map[string]*Key
	memo atomic.Pointer[headerMemo] // see Verify
}

// NewKeySet returns a set of the given keys. It refuses (ErrInvalidKey):
//   - two keys with the same key ID: a lookup by kid must have one answer;
//   - HMAC secrets together with public-key (RSA, ECDSA, EdDSA) keys. Such
//     a set is ambiguous (Wycheproof's "MixedKeySet"): whether a token may
//     be authenticated by a shared secret, which every holder of the set
//     can use to mint tokens, or only by a signature, would be up to the
//     token. Keep the two kinds in separate sets.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	s := &KeySet{keys: make([]*Key, 0, len(keys)), byID: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("%w: nil key in set", ErrInvalidKey)
		}
		if _, dup := s.byID[k.kid]; dup {
			return nil, fmt.Errorf("%w: duplicate key id %q in set", ErrInvalidKey, truncate(k.kid, 64))
		}
		if len(s.keys) > 0 && s.keys[0].IsSymmetric() != k.IsSymmetric() {
			return nil, fmt.Errorf("%w: key set mixes HMAC secrets and public-key algorithms (%s key %q with %s key %q)",
				ErrInvalidKey, s.keys[0].alg, truncate(s.keys[0].kid, 64), k.alg, truncate(k.kid, 64))
		}
		s.byID[k.kid] = k
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Keys returns the keys in the order they were given.
func (s *KeySet) Keys() []*Key { return append([]*Key(nil), s.keys...) }

// Len returns the number of keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Lookup returns the key with ID kid, or nil.
func (s *KeySet) Lookup(kid string) *Key { return s.byID[kid] }

// lookupBytes is Lookup without allocating for the map key.
func (s *KeySet) lookupBytes(kid []byte) *Key { return s.byID[string(kid)] }
