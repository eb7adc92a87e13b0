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
	size := packedPolySize()
	out := make([]byte, len(polys)*size)
	_ = parallel(len(polys), func(_, first, last int) error {
		for i := first; i < last; i++ {
			ringQ.Reduce(polys[i], polys[i])
			packPoly(out[i*size:(i+1)*size], polys[i])
		}
		return nil
	})
	return out
}

// unpackPolys reads count packed polynomials, each with every coefficient below q.
func unpackPolys(data []byte, count int, what string) ([]ring.Poly, error) {
	size := packedPolySize()
	if len(data) != count*size {
		return nil, malformed("%s: %d bytes, expected %d polynomials of %d", what, len(data), count, size)
	}
	polys := make([]ring.Poly, count)
	err := parallel(count, func(_, first, last int) error {
		for i := first; i < last; i++ {
			polys[i] = ring.NewPoly(1<<LogN, 0)
			if err := unpackPoly(data[i*size:(i+1)*size], polys[i], what); err != nil {
				return err
			}
		}
		return nil
	})
	return polys, err
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
