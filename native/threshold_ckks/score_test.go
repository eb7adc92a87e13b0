package main

import (
	"math"
	"math/rand"
	"testing"
)

// masksOf packs the masks of an encrypted vector, as a member receives them.
func masksOf(t *testing.T, data []byte) []byte {
	t.Helper()
	v, err := parseVector(data)
	if err != nil {
		t.Fatal(err)
	}
	chunks := v.chunks()
	var masks []byte
	for c := 0; c < chunks; c += Lanes {
		masks = append(masks, packPolys(v.polys[maskIndex(c)])...)
	}
	return masks
}

// decodeScalar is what the aggregator does with a body part and the members' shares.
func decodeScalar(body uint64, shares []uint64, scale float64) float64 {
	prm, _ := Params()
	q := prm.Q()[0]
	total := body
	for _, s := range shares {
		total = addMod(total, s, q)
	}
	centred := float64(total)
	if total > q/2 {
		centred = -float64(q - total)
	}
	return centred * float64(prm.N()) / (math.Exp2(LogScale) * scale)
}

func TestReferenceScalarIsTheInnerProductAndBodiesAddUp(t *testing.T) {
	pk, secrets := testKey(t, "score")
	rng := rand.New(rand.NewSource(7))
	const size = 40*4096 + 123 // two groups, the second partial and its last chunk too
	reference := make([]float64, size)
	for i := range reference {
		reference[i] = rng.NormFloat64() * 0.01
	}
	inputs := make([][]byte, 3)
	plain := make([][]float64, 3)
	for i := range inputs {
		plain[i] = make([]float64, size)
		for j := range plain[i] {
			plain[i][j] = rng.NormFloat64()*0.05 + 2*reference[j]
		}
		var err error
		if inputs[i], err = Encrypt(pk, plain[i]); err != nil {
			t.Fatal(err)
		}
	}
	aggregate, err := Sum(inputs)
	if err != nil {
		t.Fatal(err)
	}
	scale := 0x1p15 // scale * |<w, g>| must stay below 2^21
	bodies, err := ReferenceBodies(reference, scale, append(append([][]byte{}, inputs...), aggregate))
	if err != nil {
		t.Fatal(err)
	}
	q := func() uint64 { prm, _ := Params(); return prm.Q()[0] }()
	if addMod(addMod(bodies[0], bodies[1], q), bodies[2], q) != bodies[3] {
		t.Fatal("the inputs' body parts do not add up to the aggregate's")
	}
	masks := [][]byte{masksOf(t, inputs[0]), masksOf(t, inputs[1]), masksOf(t, inputs[2])}
	active := []uint16{1, 3, 4}
	shares := make([][]uint64, len(active))
	for m, member := range active {
		if shares[m], err = ReferenceShares(secrets[member-1], pk, reference, scale, active, masks); err != nil {
			t.Fatal(err)
		}
	}
	for i := range inputs {
		exact, normW, normG := 0.0, 0.0, 0.0
		for j := range reference {
			exact += plain[i][j] * reference[j]
			normW += plain[i][j] * plain[i][j]
			normG += reference[j] * reference[j]
		}
		// The error is the reference's rounding at this scale against w's encoding.
		tolerance := 1e-3 * math.Sqrt(normW*normG)
		got := decodeScalar(bodies[i], []uint64{shares[0][i], shares[1][i], shares[2][i]}, scale)
		if math.Abs(got-exact) > tolerance {
			t.Fatalf("input %d: decrypted %.6g, inner product %.6g", i, got, exact)
		}
	}
}

func TestReferenceSharesRefuseAnotherKeyAndBadReferences(t *testing.T) {
	pk, secrets := testKey(t, "score-refuse")
	other, _ := testKey(t, "score-other")
	reference := []float64{1, 2, 3}
	masks := [][]byte{make([]byte, packedPolySize())}
	if _, err := ReferenceShares(secrets[0], other, reference, 1, []uint16{1, 2, 3}, masks); err == nil {
		t.Fatal("a share under another committee's key")
	}
	for _, scale := range []float64{0, -1, math.Inf(1), math.NaN(), 0x1p60} {
		if _, err := ReferenceShares(secrets[0], pk, reference, scale, []uint16{1, 2, 3}, masks); err == nil {
			t.Fatalf("a share at scale %g", scale)
		}
	}
	if _, err := ReferenceShares(secrets[0], pk, []float64{math.NaN()}, 1, []uint16{1, 2, 3}, masks); err == nil {
		t.Fatal("a share for a NaN reference")
	}
	if _, err := ReferenceShares(secrets[0], pk, reference, 1, []uint16{1, 2, 3}, [][]byte{masks[0][1:]}); err == nil {
		t.Fatal("a share of truncated masks")
	}
	if _, err := ReferenceShares(secrets[0], pk, reference, 1, []uint16{2, 3}, masks); err == nil {
		t.Fatal("a share for a set without the member")
	}
}
