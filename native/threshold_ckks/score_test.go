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
	sumShares := make([][]byte, len(active))
	for m, member := range active {
		if sumShares[m], shares[m], err = ScoredDecryptionShare(secrets[member-1], pk, aggregate, active, reference, scale, bodies[3], masks); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := Combine(aggregate, sumShares, 3)
	if err != nil {
		t.Fatal(err)
	}
	for j := range reference {
		if math.Abs(sum[j]-(plain[0][j]+plain[1][j]+plain[2][j])) > 1e-5 {
			t.Fatalf("value %d of the sum decrypted to %g", j, sum[j])
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

func TestScoredSharesRefuseBodyPartsThatDoNotAddUpAndBadArguments(t *testing.T) {
	pk, secrets := testKey(t, "score-refuse")
	other, _ := testKey(t, "score-other")
	reference := []float64{0.5, -0.25, 0.125}
	input, err := Encrypt(pk, []float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	aggregate, err := Sum([][]byte{input, input})
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := ReferenceBodies(reference, 1, [][]byte{aggregate})
	if err != nil {
		t.Fatal(err)
	}
	masks := [][]byte{masksOf(t, input), masksOf(t, input)}
	active := []uint16{1, 2, 3}
	release := func(secret, key []byte, members []uint16, values []float64, scale float64, total uint64, m [][]byte) error {
		_, _, err := ScoredDecryptionShare(secret, key, aggregate, members, values, scale, total, m)
		return err
	}
	if err := release(secrets[0], pk, active, reference, 1, bodies[0], masks); err != nil {
		t.Fatal(err)
	}
	if err := release(secrets[0], pk, active, reference, 1, bodies[0]+1, masks); err == nil {
		t.Fatal("shares for body parts that do not add up to the aggregate's")
	}
	if err := release(secrets[0], other, active, reference, 1, bodies[0], masks); err == nil {
		t.Fatal("shares under another committee's key")
	}
	for _, scale := range []float64{0, -1, math.Inf(1), math.NaN(), 0x1p60} {
		if err := release(secrets[0], pk, active, reference, scale, bodies[0], masks); err == nil {
			t.Fatalf("shares at scale %g", scale)
		}
	}
	if err := release(secrets[0], pk, active, []float64{math.NaN(), 0, 0}, 1, bodies[0], masks); err == nil {
		t.Fatal("shares for a NaN reference")
	}
	if err := release(secrets[0], pk, active, reference[:2], 1, bodies[0], masks); err == nil {
		t.Fatal("shares for a reference of another length")
	}
	if err := release(secrets[0], pk, active, reference, 1, bodies[0], [][]byte{masks[0][1:]}); err == nil {
		t.Fatal("shares of truncated masks")
	}
	if err := release(secrets[0], pk, []uint16{2, 3}, reference, 1, bodies[0], masks); err == nil {
		t.Fatal("shares for a set without the member")
	}
}
