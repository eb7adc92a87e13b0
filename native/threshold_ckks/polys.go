package main

import (
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/ring/ringqp"
)

// packPolys packs polynomials of R_q one after the other (packing.go), reducing each
// first: Lattigo's lazy operations may leave coefficients in [q, 2q).
func packPolys(polys ...ring.Poly) []byte {
	prm, _ := Params()
	ringQ := prm.RingQ().AtLevel(0)
	out := make([]byte, 0, len(polys)*packedPolySize())
	for _, p := range polys {
		ringQ.Reduce(p, p)
		out = packPoly(out, p)
	}
	return out
}

// unpackPolys reads count packed polynomials, each with every coefficient below q.
func unpackPolys(data []byte, count int, what string) ([]ring.Poly, error) {
	size := packedPolySize()
	if len(data) != count*size {
		return nil, malformed("%s: %d bytes, expected %d polynomials of %d", what, len(data), count, size)
	}
	polys := make([]ring.Poly, count)
	for i := range polys {
		polys[i] = ring.NewPoly(1<<LogN, 0)
		if err := unpackPoly(data[i*size:(i+1)*size], polys[i], what); err != nil {
			return nil, err
		}
	}
	return polys, nil
}

// asQP views a polynomial of R_q as one modulo Q*P; the engine has no special modulus.
func asQP(p ring.Poly) ringqp.Poly {
	return ringqp.Poly{Q: p}
}

// wipe overwrites secret coefficients once they are no longer needed.
func wipe(polys ...ring.Poly) {
	for _, p := range polys {
		for _, row := range p.Coeffs {
			clear(row)
		}
	}
}
