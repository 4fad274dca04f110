package jose

import (
	"bytes"
	"errors"
	"sync"

	"github.com/latch-auth/latch/internal/strictjson"
)

// curveOrders holds each curve's group order n as fixed-size big-endian
// bytes, for range checks on signature scalars.
var curveOrders = sync.OnceValue(func() map[Algorithm][]byte {
	m := make(map[Algorithm][]byte, 3)
	for _, alg := range []Algorithm{ES256, ES384, ES512} {
		m[alg] = alg.curve().Params().N.FillBytes(make([]byte, ecByteSize(alg)))
	}
	return m
})

func curveOrder(alg Algorithm) []byte { return curveOrders()[alg] }

// scalarInRange reports whether the big-endian x (as long as order) is in
// [1, order-1].
func scalarInRange(x, order []byte) bool {
	zero := true
	for _, b := range x {
		if b != 0 {
			zero = false
			break
		}
	}
	return !zero && bytes.Compare(x, order) < 0
}

// appendDERSignature encodes r and s as the ASN.1 SEQUENCE of two INTEGERs
// that crypto/ecdsa verifies.
func appendDERSignature(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	rl, sl := intLen(r), intLen(s)
	body := 2 + rl + 2 + sl
	dst = append(dst, 0x30)
	if body >= 0x80 {
		dst = append(dst, 0x81)
	}
	dst = append(dst, byte(body))
	dst = appendDERInt(dst, r)
	return appendDERInt(dst, s)
}

func trimZeros(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func intLen(b []byte) int {
	if b[0]&0x80 != 0 {
		return len(b) + 1
	}
	return len(b)
}

func appendDERInt(dst, b []byte) []byte {
	dst = append(dst, 0x02, byte(intLen(b)))
	if b[0]&0x80 != 0 {
		dst = append(dst, 0)
	}
	return append(dst, b...)
}

func strictjsonDuplicate(err error) bool {
	return errors.Is(err, strictjson.ErrDuplicateName)
}
