package jose

import (
	"crypto/sha256"
	"encoding/binary"
)

// concatKDF derives size bytes from the shared secret z with the
// single-step KDF of NIST SP 800-56A §5.8.1 as profiled by RFC 7518
// §4.6.2: SHA-256, AlgorithmID, PartyUInfo and PartyVInfo each prefixed
// with their 32-bit big-endian length, SuppPubInfo the key length in bits,
// no SuppPrivInfo.
func concatKDF(z []byte, algID string, apu, apv []byte, size int) []byte {
	var other []byte
	other = binary.BigEndian.AppendUint32(other, uint32(len(algID)))
	other = append(other, algID...)
	other = binary.BigEndian.AppendUint32(other, uint32(len(apu)))
	other = append(other, apu...)
	other = binary.BigEndian.AppendUint32(other, uint32(len(apv)))
	other = append(other, apv...)
	other = binary.BigEndian.AppendUint32(other, uint32(size*8))
	out := make([]byte, 0, (size+sha256.Size-1)/sha256.Size*sha256.Size)
	h := sha256.New()
	for counter := uint32(1); len(out) < size; counter++ {
		h.Reset()
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], counter)
		h.Write(c[:])
		h.Write(z)
		h.Write(other)
		out = h.Sum(out)
	}
	return out[:size]
}
