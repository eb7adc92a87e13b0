package main

import (
	"crypto/rand"
	"math"
	"math/bits"
	randv2 "math/rand/v2"
	"runtime"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
)

// Contribution scores under the committee's key: the scalar <w, g> of a committed
// encrypted vector w and the round's public reference g, and nothing else of w.
//
// With G_c the plaintext of chunk c of g (encoded at a scale gamma, NTT form), the
// pointwise product (body_c + mask_c * s_k) * G_c is the NTT form of m_c * G_c, whose
// constant coefficient is N^-1 times the sum of its NTT coordinates and equals
// 2^LogScale * gamma * <w_c, g_c> / N plus noise. Summed over the chunks,
//
//	S = N^-1 * sum_c sum_j (body_c[j] + mask_c[j] * s_k[j]) * G_c[j]   (mod q)
//
// is a public body part, which anyone holding the bodies computes (ReferenceBodies),
// plus a part linear in the lane secrets, of which each decrypting member releases its
// flooded share from the masks alone (ScoredDecryptionShare). Only this one coefficient is
// decrypted: the others of m_c * G_c are 4095 more combinations of w's values.

// maxReferenceMagnitude bounds scale * |g| so that encoded references stay far below q.
const maxReferenceMagnitude = 0x1p45

// referenceEncoding encodes the reference chunk by chunk at the given scale: each
// chunk's plaintext in NTT form, and the squared norm of all their (centred)
// coefficients, which sets the flooding of a member's share.
func referenceEncoding(reference []float64, scale float64) ([]ring.Poly, float64, error) {
	if !(scale > 0) || math.IsInf(scale, 0) {
		return nil, 0, badArgument("reference scale %g is not a positive number", scale)
	}
	for i, v := range reference {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v)*scale > maxReferenceMagnitude {
			return nil, 0, badArgument("reference value %d is %g; at scale %g it must be finite and within 2^45", i, v, scale)
		}
	}
	prm, _ := Params()
	ringQ := prm.RingQ().AtLevel(0)
	slots := prm.MaxSlots()
	chunks := chunkCount(uint64(len(reference)))
	encoded := make([]ring.Poly, chunks)
	norms := make([]float64, chunks)
	q := prm.Q()[0]
	err := parallel(chunks, func(_, first, last int) error {
		encoder := ckks.NewEncoder(prm)
		pt := ckks.NewPlaintext(prm, 0)
		pt.Scale = rlwe.NewScale(scale)
		pt.IsNTT = false
		values := make([]float64, slots)
		for c := first; c < last; c++ {
			clear(values)
			copy(values, reference[min(c*slots, len(reference)):min((c+1)*slots, len(reference))])
			if err := encoder.Encode(values, pt); err != nil {
				return err
			}
			for _, x := range pt.Value.Coeffs[0] {
				centred := float64(x)
				if x > q/2 {
					centred = -float64(q - x)
				}
				norms[c] += centred * centred
			}
			encoded[c] = ringQ.NewPoly()
			ringQ.NTT(pt.Value, encoded[c])
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	total := 0.0
	for _, n := range norms {
		total += n
	}
	return encoded, total, nil
}

// ReferenceBodies returns the body part of each vector's reference scalar,
// N^-1 * sum_c <body_c, G_c> mod q. The aggregator computes it for every input and a
// decrypting member for the aggregate: the inputs' parts must add up to the aggregate's.
func ReferenceBodies(reference []float64, scale float64, vectors [][]byte) ([]uint64, error) {
	encoded, _, err := referenceEncoding(reference, scale)
	if err != nil {
		return nil, err
	}
	prm, _ := Params()
	ringQ := prm.RingQ().AtLevel(0)
	out := make([]uint64, len(vectors))
	for i, data := range vectors {
		v, err := parseVector(data)
		if err != nil {
			return nil, err
		}
		if out[i], err = bodyPart(ringQ, v, encoded, len(reference)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bodyPart is N^-1 * sum_c <body_c, G_c> mod q, for a vector of the reference's length
// (values) and the reference's encoding.
func bodyPart(ringQ *ring.Ring, v *vector, encoded []ring.Poly, values int) (uint64, error) {
	if v.numValues != uint64(values) {
		return 0, mismatch("a vector of %d values and a reference of %d", v.numValues, values)
	}
	return constantCoefficient(ringQ, v.chunks(), func(c int) (ring.Poly, ring.Poly) {
		return v.polys[bodyIndex(c)], encoded[c]
	}), nil
}

// ScoredDecryptionShare is a decrypting member's release for a scored round: its
// decryption share of the aggregate (DecryptionShare) and its share of each input's
// reference scalar, computed from the input's masks only (one packed polynomial per
// group of Lanes chunks). Before any share is made, the aggregate's body part must equal
// bodyTotal, the inputs' body parts added up: the reference scalars are then those of
// the summed inputs. Each reference share is flooded with Gaussian noise of standard
// deviation 2^SmudgingLogSigma times the norm of the encoded reference: the scalar's
// noise is the ciphertext noise weighted by the reference, and the flooding keeps the
// ratio decryption shares of sums have.
func ScoredDecryptionShare(secretData, pkData, ctData []byte, active []uint16, reference []float64, scale float64, bodyTotal uint64, masks [][]byte) ([]byte, []uint64, error) {
	secret, pk, ct, err := memberInputs(secretData, pkData, ctData)
	if err != nil {
		return nil, nil, err
	}
	defer wipe(secret.lanes...)
	encoded, normSq, err := referenceEncoding(reference, scale)
	if err != nil {
		return nil, nil, err
	}
	prm, _ := Params()
	whole, err := bodyPart(prm.RingQ().AtLevel(0), ct, encoded, len(reference))
	if err != nil {
		return nil, nil, err
	}
	if whole != bodyTotal {
		return nil, nil, refused("the inputs' body parts do not add up to the aggregate's: a scalar was computed from something other than the committed inputs and reference")
	}
	additive, err := additiveSecrets(secret, active)
	if err != nil {
		return nil, nil, err
	}
	defer wipeKeys(additive)
	shares, err := referenceShares(additive, encoded, normSq, masks)
	if err != nil {
		return nil, nil, err
	}
	share, err := keySwitchShare(pk, ct, ctData, secret.member, active, additive)
	return share, shares, err
}

// referenceShares is a member's flooded share of each input's reference scalar.
func referenceShares(additive []*rlwe.SecretKey, encoded []ring.Poly, normSq float64, masks [][]byte) ([]uint64, error) {
	prm, _ := Params()
	q := prm.Q()[0]
	sigma := math.Exp2(SmudgingLogSigma) * math.Sqrt(normSq)
	if 6*sigma >= float64(q)/8 {
		return nil, badArgument("the reference's scale leaves no room for the flooding noise")
	}
	ringQ := prm.RingQ().AtLevel(0)
	chunks := len(encoded)
	groups := (chunks + Lanes - 1) / Lanes
	// Per group g, H_g = sum over its chunks of G_c * s_k: the member's secret weighted
	// by the reference, the same for every input.
	weighted := make([]ring.Poly, groups)
	_ = parallel(groups, func(_, first, last int) error {
		product := ringQ.NewPoly()
		for g := first; g < last; g++ {
			weighted[g] = ringQ.NewPoly()
			for c := g * Lanes; c < min((g+1)*Lanes, chunks); c++ {
				ringQ.MulCoeffsMontgomery(encoded[c], additive[c%Lanes].Value.Q, product)
				ringQ.Add(weighted[g], product, weighted[g])
			}
		}
		return nil
	})
	defer wipe(weighted...)
	flooding, err := newFlooding(sigma)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, len(masks))
	for i, data := range masks {
		polys, err := unpackPolys(data, groups, "masks")
		if err != nil {
			return nil, err
		}
		share := constantCoefficient(ringQ, groups, func(g int) (ring.Poly, ring.Poly) {
			return polys[g], weighted[g]
		})
		out[i] = addMod(share, flooding.sample(q), q)
	}
	return out, nil
}

// constantCoefficient is N^-1 * sum over terms t of <a_t, b_t> mod q, for NTT forms.
func constantCoefficient(ringQ *ring.Ring, terms int, pair func(int) (ring.Poly, ring.Poly)) uint64 {
	q := ringQ.SubRings[0].Modulus
	partial := make([]uint64, runtime.NumCPU())
	_ = parallel(terms, func(w, first, last int) error {
		acc := ringQ.NewPoly()
		for t := first; t < last; t++ {
			a, b := pair(t)
			ringQ.MulCoeffsBarrettThenAdd(a, b, acc)
		}
		sum := uint64(0)
		for _, x := range acc.Coeffs[0] {
			sum = addMod(sum, x%q, q)
		}
		partial[w] = sum
		return nil
	})
	total := uint64(0)
	for _, p := range partial {
		total = addMod(total, p, q)
	}
	return mulMod(total, ring.ModExp(uint64(ringQ.N()), q-2, q), q)
}

func addMod(a, b, q uint64) uint64 {
	s := a + b
	if s >= q {
		s -= q
	}
	return s
}

func mulMod(a, b, q uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	_, rem := bits.Div64(hi, lo, q)
	return rem
}

// flooding samples rounded Gaussian noise of a given deviation, cut at 6 deviations,
// from a ChaCha8 stream seeded by the system's randomness.
type flooding struct {
	sigma float64
	rng   *randv2.Rand
}

func newFlooding(sigma float64) (*flooding, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	return &flooding{sigma: sigma, rng: randv2.New(randv2.NewChaCha8(seed))}, nil
}

// sample returns the noise as a residue modulo q.
func (f *flooding) sample(q uint64) uint64 {
	for {
		x := math.Round(f.rng.NormFloat64() * f.sigma)
		if math.Abs(x) > 6*f.sigma {
			continue
		}
		if x < 0 {
			return (q - uint64(-x)%q) % q
		}
		return uint64(x) % q
	}
}
