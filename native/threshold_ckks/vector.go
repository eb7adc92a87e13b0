package main

import (
	"crypto/sha256"
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
)

// MaxAbsValue bounds each encrypted value; the caller must also keep every decrypted sum
// below it (values wrap at about +-2^(LogQ-LogScale-1) = +-512).
const MaxAbsValue = 256.0

// maxChunks bounds an encrypted vector at 2^32 values.
const maxChunks = 1 << 20

// vector is a parsed encrypted vector: chunks of one ciphertext per params.MaxSlots() values.
type vector struct {
	keyDigest [sha256.Size]byte
	numValues uint64
	chunks    []*rlwe.Ciphertext
}

// freshMetaData is the metadata every chunk must carry: level 0, default scale, NTT form.
func freshMetaData(prm ckks.Parameters) *rlwe.MetaData {
	return ckks.NewCiphertext(prm, 1, 0).MetaData
}

// Encrypt encodes values at the default scale and encrypts them under the collective
// public key, MaxSlots values per ciphertext.
func Encrypt(pkData []byte, values []float64) ([]byte, error) {
	pk, err := parsePublicKey(pkData)
	if err != nil {
		return nil, err
	}
	prm, _ := Params()
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > MaxAbsValue {
			return nil, badArgument("value %d is %g; values must be finite and within +-%g", i, v, MaxAbsValue)
		}
	}
	slots := prm.MaxSlots()
	encoder := ckks.NewEncoder(prm)
	encryptor := rlwe.NewEncryptor(prm, pk.key)
	out := &vector{keyDigest: pk.digest, numValues: uint64(len(values))}
	chunk := make([]float64, slots)
	meta := freshMetaData(prm)
	for start := 0; start < max(len(values), 1); start += slots {
		clear(chunk)
		copy(chunk, values[start:min(start+slots, len(values))])
		pt := ckks.NewPlaintext(prm, 0)
		if err = encoder.Encode(chunk, pt); err != nil {
			return nil, err
		}
		ct, err := encryptor.EncryptNew(pt)
		if err != nil {
			return nil, err
		}
		if !ct.MetaData.Equal(meta) {
			return nil, fmt.Errorf("encryption produced a ciphertext at another level or scale")
		}
		out.chunks = append(out.chunks, ct)
	}
	return out.marshal()
}

func (v *vector) marshal() ([]byte, error) {
	w := newWriter(kindCiphertext, v.keyDigest)
	w.u64(v.numValues)
	w.u32(uint32(len(v.chunks)))
	body := make([]byte, 0, 2*packedPolySize())
	for _, ct := range v.chunks {
		body = packPoly(packPoly(body[:0], ct.Value[0]), ct.Value[1])
		w.blob(body)
	}
	return w.bytes(), nil
}

// parseVector parses an encrypted vector: every chunk is two packed polynomials with
// coefficients in range, taken as a fresh ciphertext at level 0 and the default scale.
func parseVector(data []byte) (*vector, error) {
	prm, err := Params()
	if err != nil {
		return nil, err
	}
	r, h, err := newReader(data, kindCiphertext, "ciphertext")
	if err != nil {
		return nil, err
	}
	v := &vector{keyDigest: h.digest, numValues: r.u64()}
	count := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	slots := uint64(prm.MaxSlots())
	expected := max((v.numValues+slots-1)/slots, 1)
	if count > maxChunks || uint64(count) != expected {
		return nil, malformed("ciphertext: %d chunks for %d values, expected %d", count, v.numValues, expected)
	}
	size := packedPolySize()
	for i := uint32(0); i < count; i++ {
		body := r.blob(len(data))
		if r.err != nil {
			return nil, r.err
		}
		if len(body) != 2*size {
			return nil, malformed("ciphertext chunk %d: %d bytes, expected %d", i, len(body), 2*size)
		}
		// Chunks carry no metadata: every one is fresh, at level 0 and the default scale.
		ct := ckks.NewCiphertext(prm, 1, 0)
		for j, p := range ct.Value {
			if err = unpackPoly(body[j*size:(j+1)*size], p, "ciphertext chunk"); err != nil {
				return nil, err
			}
		}
		v.chunks = append(v.chunks, ct)
	}
	if err = r.done(); err != nil {
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
		for i, ct := range total.chunks {
			for j := range ct.Value {
				ringQ.Add(ct.Value[j], v.chunks[i].Value[j], ct.Value[j])
			}
		}
	}
	return total.marshal()
}
