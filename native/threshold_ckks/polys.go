package main

import (
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/ring/ringqp"
)

// checkPoly refuses a polynomial that is not one element of R_q: wrong degree, wrong
// number of moduli, or a coefficient outside [0, q).
func checkPoly(p ring.Poly, what string) error {
	prm, err := Params()
	if err != nil {
		return err
	}
	if p.N() != prm.N() || p.Level() != 0 {
		return malformed("%s: polynomial of degree %d at level %d, expected %d at level 0", what, p.N(), p.Level(), prm.N())
	}
	q := prm.Q()[0]
	for _, c := range p.Coeffs[0] {
		if c >= q {
			return malformed("%s: coefficient out of range", what)
		}
	}
	return nil
}

// checkPolyQP is checkPoly for a polynomial modulo Q*P, which here has no P part.
func checkPolyQP(p ringqp.Poly, what string) error {
	if p.LevelP() >= 0 {
		return malformed("%s: unexpected special-modulus part", what)
	}
	return checkPoly(p.Q, what)
}

// marshalQP serializes a polynomial modulo Q*P.
func marshalQP(p ringqp.Poly) []byte {
	data, err := p.MarshalBinary()
	if err != nil {
		panic(err) // writing to memory cannot fail
	}
	return data
}

// unmarshalQP parses and checks a polynomial modulo Q*P.
func unmarshalQP(data []byte, what string) (ringqp.Poly, error) {
	var p ringqp.Poly
	layouts()
	if err := polyQPLayout.check(data, what); err != nil {
		return p, err
	}
	if err := p.UnmarshalBinary(data); err != nil {
		return p, malformed("%s: %v", what, err)
	}
	return p, checkPolyQP(p, what)
}

// wipe overwrites secret coefficients once they are no longer needed.
func wipe(p ringqp.Poly) {
	for _, row := range p.Q.Coeffs {
		clear(row)
	}
	for _, row := range p.P.Coeffs {
		clear(row)
	}
}
