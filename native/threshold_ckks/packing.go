package main

import (
	"encoding/binary"

	"github.com/tuneinsight/lattigo/v6/ring"
)

// Ciphertexts and decryption shares, the bulk of every round's traffic, travel as their
// coefficients packed at coeffBits bits each instead of Lattigo's 64-bit words (15 rather
// than 16 bytes per encrypted value). The engine's modulus is below 2^coeffBits, and in
// NTT form the coefficients are uniform modulo q, so nothing smaller is exact.
const coeffBits = 60

// packedPolySize is the size of one packed polynomial of the engine's ring degree.
func packedPolySize() int {
	return (1 << LogN) * coeffBits / 8
}

// packPoly writes the level-0 coefficients of p, coeffBits bits each, little-endian,
// into out: packedPolySize() zero bytes.
func packPoly(out []byte, p ring.Poly) {
	for k, c := range p.Coeffs[0] {
		bit := k * coeffBits
		// 60k mod 8 is 0 or 4, so c << shift (c < 2^60) fits in the 8 bytes read here.
		at, shift := bit/8, uint(bit%8)
		word := binary.LittleEndian.Uint64(out[at:]) | c<<shift
		binary.LittleEndian.PutUint64(out[at:], word)
	}
}

// unpackPoly reads a packed polynomial into p (level 0) and checks every coefficient
// is below q.
func unpackPoly(src []byte, p ring.Poly, what string) error {
	prm, err := Params()
	if err != nil {
		return err
	}
	if len(src) != packedPolySize() || p.N() != prm.N() {
		return malformed("%s: %d bytes, expected %d", what, len(src), packedPolySize())
	}
	q := prm.Q()[0]
	const mask = uint64(1)<<coeffBits - 1
	coeffs := p.Coeffs[0]
	for k := range coeffs {
		bit := k * coeffBits
		c := binary.LittleEndian.Uint64(src[bit/8:]) >> uint(bit%8) & mask
		if c >= q {
			return malformed("%s: coefficient out of range", what)
		}
		coeffs[k] = c
	}
	return nil
}
