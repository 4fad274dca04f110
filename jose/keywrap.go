package jose

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// kwIV is the default initial value of RFC 3394 §2.2.3.1.
var kwIV = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

var errKeyUnwrap = errors.New("jose: key unwrap failed")

// keyWrap wraps cek (a multiple of 8 bytes, at least 16) under kek with the
// AES Key Wrap algorithm of RFC 3394 §2.2.1.
func keyWrap(kek, cek []byte) ([]byte, error) {
	if len(cek)%8 != 0 || len(cek) < 16 {
		return nil, errKeyUnwrap
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(cek) / 8
	out := make([]byte, 8+len(cek))
	copy(out, kwIV[:])
	copy(out[8:], cek)
	var b [16]byte
	for j := range 6 {
		for i := 1; i <= n; i++ {
			copy(b[:8], out[:8])
			copy(b[8:], out[8*i:8*i+8])
			block.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(out[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(out[8*i:8*i+8], b[8:])
		}
	}
	return out, nil
}

// keyUnwrap reverses keyWrap (RFC 3394 §2.2.2) and checks the integrity
// value in constant time. Every failure is errKeyUnwrap.
func keyUnwrap(kek, wrapped []byte) ([]byte, error) {
	if len(wrapped)%8 != 0 || len(wrapped) < 24 {
		return nil, errKeyUnwrap
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, errKeyUnwrap
	}
	n := len(wrapped)/8 - 1
	r := make([]byte, len(wrapped))
	copy(r, wrapped)
	var b [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(r[:8])^t)
			copy(b[8:], r[8*i:8*i+8])
			block.Decrypt(b[:], b[:])
			copy(r[:8], b[:8])
			copy(r[8*i:8*i+8], b[8:])
		}
	}
	if subtle.ConstantTimeCompare(r[:8], kwIV[:]) != 1 {
		clear(r)
		return nil, errKeyUnwrap
	}
	return r[8:], nil
}
