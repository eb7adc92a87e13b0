package main

import (
	"crypto/sha256"
	"math"
	"sync"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
	"github.com/tuneinsight/lattigo/v6/utils/sampling"
)

// MaxAbsValue bounds each encrypted value; the caller must also keep every decrypted sum
// below it (values wrap at about +-2^(LogQ-LogScale-1) = +-512).
const MaxAbsValue = 256.0

// maxChunks bounds an encrypted vector at 2^32 values.
const maxChunks = 1 << 20

// An encrypted vector holds ceil(values / 4096) chunks of 4096 values. Chunks go in
// groups of Lanes; a group is its mask u*a + e followed by one body u*p_k + e_k + m_k per
// chunk (k = 0, 1, ... within the group), where u is the group's ephemeral secret. Chunk
// k of a group with its mask is an ordinary CKKS ciphertext (body, mask) under secret
// s_k. Every polynomial is in NTT form; the message holds them packed in this order.
type vector struct {
	keyDigest [sha256.Size]byte
	numValues uint64
	polys     []ring.Poly
}

// chunkCount is the number of 4096-value chunks of a vector of numValues values.
func chunkCount(numValues uint64) int {
	slots := uint64(1) << LogN
	return int(max((numValues+slots-1)/slots, 1))
}

// polyCount is the number of polynomials of a vector of chunks chunks.
func polyCount(chunks int) int {
	return chunks + (chunks+Lanes-1)/Lanes
}

// maskIndex and bodyIndex locate a chunk's polynomials in the message.
func maskIndex(chunk int) int { return chunk / Lanes * (Lanes + 1) }
func bodyIndex(chunk int) int { return maskIndex(chunk) + 1 + chunk%Lanes }

func (v *vector) chunks() int { return chunkCount(v.numValues) }

var (
	freshOnce sync.Once
	freshMeta rlwe.MetaData
)

// ciphertext is chunk c as a fresh Lattigo ciphertext (level 0, default scale, NTT form)
// sharing the vector's polynomials: its body changes when the ciphertext's does.
func (v *vector) ciphertext(c int) *rlwe.Ciphertext {
	freshOnce.Do(func() {
		prm, _ := Params()
		freshMeta = *ckks.NewCiphertext(prm, 1, 0).MetaData
	})
	meta := freshMeta
	return &rlwe.Ciphertext{Element: rlwe.Element[ring.Poly]{
		Value: []ring.Poly{v.polys[bodyIndex(c)], v.polys[maskIndex(c)]}, MetaData: &meta,
	}}
}

// Encrypt encodes values at the default scale and encrypts them under the collective
// public key, 4096 values per chunk, one mask per group of Lanes chunks.
func Encrypt(pkData []byte, values []float64) ([]byte, error) {
	pk, err := parsePublicKey(pkData)
	if err != nil {
		return nil, err
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > MaxAbsValue {
			return nil, badArgument("value %d is %g; values must be finite and within +-%g", i, v, MaxAbsValue)
		}
	}
	prm, _ := Params()
	out := &vector{keyDigest: pk.digest, numValues: uint64(len(values))}
	chunks := out.chunks()
	out.polys = make([]ring.Poly, polyCount(chunks))
	groups := (chunks + Lanes - 1) / Lanes
	err = parallel(groups, func(_, first, last int) error {
		return encryptGroups(prm, pk, values, out, first, last)
	})
	if err != nil {
		return nil, err
	}
	return out.marshal(), nil
}

// encryptGroups encrypts the chunks of groups first..last-1 into out, with samplers and
// buffers of its own: one ephemeral secret u per group, its mask u*a + e, and for each
// chunk of the group the body u*p_k + e_k + m_k.
func encryptGroups(prm ckks.Parameters, pk *publicKey, values []float64, out *vector, first, last int) error {
	ringQ := prm.RingQ().AtLevel(0)
	prng, err := sampling.NewPRNG()
	if err != nil {
		return err
	}
	ternary, err := ring.NewSampler(prng, ringQ, prm.Xs(), false)
	if err != nil {
		return err
	}
	gaussian, err := ring.NewSampler(prng, ringQ, prm.Xe(), false)
	if err != nil {
		return err
	}
	encoder := ckks.NewEncoder(prm)
	u, noise := ringQ.NewPoly(), ringQ.NewPoly()
	defer wipe(u)
	// withNoise returns u * key + NTT(e) for a fresh Gaussian e.
	withNoise := func(key ring.Poly) ring.Poly {
		dst := ringQ.NewPoly()
		ringQ.MulCoeffsMontgomery(u, key, dst)
		gaussian.Read(noise)
		ringQ.NTT(noise, noise)
		ringQ.Add(dst, noise, dst)
		return dst
	}
	slots := prm.MaxSlots()
	chunk := make([]float64, slots)
	pt := ckks.NewPlaintext(prm, 0)
	for c := first * Lanes; c < min(last*Lanes, out.chunks()); c++ {
		if c%Lanes == 0 {
			ternary.Read(u)
			ringQ.NTT(u, u)
			out.polys[maskIndex(c)] = withNoise(pk.mask)
		}
		clear(chunk)
		copy(chunk, values[min(c*slots, len(values)):min((c+1)*slots, len(values))])
		if err = encoder.Encode(chunk, pt); err != nil {
			return err
		}
		body := withNoise(pk.lanes[c%Lanes])
		ringQ.Add(body, pt.Value, body)
		out.polys[bodyIndex(c)] = body
	}
	return nil
}

func (v *vector) marshal() []byte {
	w := newWriter(kindCiphertext, v.keyDigest)
	w.u64(v.numValues)
	w.u32(uint32(v.chunks()))
	w.raw(packPolys(v.polys...))
	return w.bytes()
}

// parseVector parses an encrypted vector: exactly the polynomials its value count needs,
// every coefficient below q.
func parseVector(data []byte) (*vector, error) {
	r, h, err := newReader(data, kindCiphertext, "ciphertext")
	if err != nil {
		return nil, err
	}
	v := &vector{keyDigest: h.digest, numValues: r.u64()}
	count := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if v.numValues > uint64(maxChunks)<<LogN || int(count) != v.chunks() {
		return nil, malformed("ciphertext: %d chunks for %d values, expected %d", count, v.numValues, v.chunks())
	}
	if v.polys, err = unpackPolys(r.rest(), polyCount(int(count)), "ciphertext"); err != nil {
		return nil, err
	}
	return v, nil
}

// Sum returns the slot-wise sum of encrypted vectors of one length under one key.
func Sum(vectors [][]byte) ([]byte, error) {
	if len(vectors) == 0 {
		return nil, badArgument("nothing to sum")
	}
	total, err := parseVector(vectors[0])
	if err != nil {
		return nil, err
	}
	prm, _ := Params()
	ringQ := prm.RingQ().AtLevel(0)
	for _, data := range vectors[1:] {
		v, err := parseVector(data)
		if err != nil {
			return nil, err
		}
		if v.keyDigest != total.keyDigest {
			return nil, mismatch("cannot add ciphertexts under different public keys")
		}
		if v.numValues != total.numValues {
			return nil, mismatch("cannot add vectors of %d and %d values", total.numValues, v.numValues)
		}
		_ = parallel(len(total.polys), func(_, first, last int) error {
			for i := first; i < last; i++ {
				ringQ.Add(total.polys[i], v.polys[i], total.polys[i])
			}
			return nil
		})
	}
	return total.marshal(), nil
}
