package main

import (
	"math"
	"sync"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/ring/ringqp"
)

// Lattigo's deserializers allocate whatever sizes the bytes announce, so a crafted
// message could make the process allocate without bound (an out-of-memory crash cannot
// be recovered). Every object serialized by Lattigo (the key material; ciphertexts and
// decryption shares are packed by packing.go) is therefore checked against its layout:
// its exact length, and every byte that is not a coefficient (sizes, levels, metadata)
// equal to that of a well-formed object of the engine's parameters.

// layout is the serialization of one object type: a reference and which bytes are fixed
// (a few dozen: sizes, levels, metadata; the rest are coefficients).
type layout struct {
	ref   []byte
	fixed []int
}

// newLayout compares an object serialized with all coefficients 0 and with all
// coefficients 2^64-1: the bytes that agree are the structure.
func newLayout(zero, ones []byte) layout {
	l := layout{ref: zero}
	for i := range zero {
		if len(ones) != len(zero) || zero[i] == ones[i] {
			l.fixed = append(l.fixed, i)
		}
	}
	return l
}

func (l layout) check(data []byte, what string) error {
	if len(data) != len(l.ref) {
		return malformed("%s: %d bytes, expected %d", what, len(data), len(l.ref))
	}
	for _, i := range l.fixed {
		if data[i] != l.ref[i] {
			return malformed("%s: unexpected structure at byte %d", what, i)
		}
	}
	return nil
}

var (
	layoutsOnce            sync.Once
	polyQPLayout, pkLayout layout
)

func fill(polys ...ring.Poly) {
	for _, p := range polys {
		for _, row := range p.Coeffs {
			for i := range row {
				row[i] = math.MaxUint64
			}
		}
	}
}

func mustMarshal(obj interface{ MarshalBinary() ([]byte, error) }) []byte {
	data, err := obj.MarshalBinary()
	if err != nil {
		panic(err) // writing to memory cannot fail
	}
	return data
}

// layouts builds the layouts of the serialized Lattigo types (key material) once.
func layouts() {
	layoutsOnce.Do(func() {
		prm, err := Params()
		if err != nil {
			return
		}
		n := prm.N()
		q0, q1 := ringqp.NewPoly(n, 0, -1), ringqp.NewPoly(n, 0, -1)
		fill(q1.Q)
		polyQPLayout = newLayout(mustMarshal(q0), mustMarshal(q1))

		k0, k1 := rlwe.NewPublicKey(prm), rlwe.NewPublicKey(prm)
		fill(k1.Value[0].Q, k1.Value[1].Q)
		pkLayout = newLayout(mustMarshal(k0), mustMarshal(k1))
	})
}
