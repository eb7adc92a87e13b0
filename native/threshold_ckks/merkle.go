package main

import (
	"crypto/sha256"
)

// The Merkle tree a participant commits to over its encrypted vector, and that committee
// members spot-check (strategy/threshold/spot_check.py, which verifies openings): leaves
// of leafCoeffs packed coefficients in message order, hashed as in RFC 6962 (0x00 before
// a leaf, 0x01 before two child hashes), an odd last node carried up a level unchanged.
const leafCoeffs = 64

const leafBytes = leafCoeffs * coeffBits / 8

// VectorTree parses an encrypted vector (refusing any coefficient at or above q) and
// returns the levels of its Merkle tree, leaf hashes first and the root last, each level
// its 32-byte hashes concatenated. Leaves are hashed on every core.
func VectorTree(data []byte) ([][]byte, error) {
	v, err := parseVector(data)
	if err != nil {
		return nil, err
	}
	body := data[len(data)-len(v.polys)*packedPolySize():]
	count := len(body) / leafBytes
	level := make([]byte, count*sha256.Size)
	_ = parallel(count, func(_, first, last int) error {
		buf := make([]byte, 1+leafBytes)
		for i := first; i < last; i++ {
			copy(buf[1:], body[i*leafBytes:(i+1)*leafBytes])
			sum := sha256.Sum256(buf)
			copy(level[i*sha256.Size:], sum[:])
		}
		return nil
	})
	levels := [][]byte{level}
	var pair [1 + 2*sha256.Size]byte
	pair[0] = 1
	for len(level) > sha256.Size {
		nodes := len(level) / sha256.Size
		next := make([]byte, 0, (nodes+1)/2*sha256.Size)
		for i := 0; i+1 < nodes; i += 2 {
			copy(pair[1:], level[i*sha256.Size:(i+2)*sha256.Size])
			sum := sha256.Sum256(pair[:])
			next = append(next, sum[:]...)
		}
		if nodes%2 == 1 {
			next = append(next, level[(nodes-1)*sha256.Size:]...)
		}
		level = next
		levels = append(levels, level)
	}
	return levels, nil
}
