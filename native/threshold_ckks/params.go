// Package main builds libthreshold_ckks, the t-of-n threshold CKKS engine of fl-app,
// as a C shared library (go build -buildmode=c-shared) called from Python through ctypes.
//
// Lattigo v6 multiparty protocols (Mouchet et al., "Multiparty Homomorphic Encryption
// from Ring-Learning-with-Errors", PETS 2021; "An Efficient Threshold Access-Structure for
// RLWE-Based Multiparty Homomorphic Encryption", 2022): collective public-key generation
// from a common random string, Shamir thresholdization of the members' additive secret
// shares, and collective key switching to the zero key with noise flooding for threshold
// decryption. No function ever reconstructs the collective secret key.
package main

import (
	"fmt"
	"math"
	"sync"

	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
)

const (
	// LogN is log2 of the ring degree: 4096 coefficients, 4096 real slots per ciphertext
	// over the conjugate-invariant ring Z[X+X^-1]/(X^8192+1).
	LogN = 12
	// LogQ is the bit size of the single ciphertext modulus: aggregation needs additions
	// only, so there is one level and no special modulus P.
	LogQ = 60
	// LogScale is log2 of the encoding scale: values wrap at +-q/(2*2^50) = +-512.
	LogScale = 50
	// SmudgingLogSigma is log2 of the standard deviation of the flooding noise each
	// member adds to its decryption share.
	SmudgingLogSigma = 22
	// Lanes is the number of secrets in a collective key. An encryption shares one mask
	// polynomial (u*a + e) among Lanes ciphertexts, each of which adds its values under
	// the public key of its own secret (u*p_k + e_k + m_k): Lanes + 1 polynomials carry
	// Lanes * 4096 values instead of 2 * Lanes, at the security of the same ring (the
	// mask and the Lanes bodies are RLWE samples of the one ephemeral secret u; Peikert,
	// Vaikuntanathan and Waters, "A Framework for Efficient and Composable Oblivious
	// Transfer", CRYPTO 2008, section 7).
	Lanes = 32
	// maxLogQP128 is the largest total modulus (bits) for 128-bit classical security with
	// ternary secrets at ring degree 2^LogN (Homomorphic Encryption Standard, Albrecht et
	// al. 2018, table 1). Lattigo v6 does not check security itself, so the engine does.
	maxLogQP128 = 109
	// ParameterSetName names the fixed parameter set; it is part of every message.
	ParameterSetName = "fl-app/threshold-ckks/ci-n4096-q60-s50-f22-l32"
)

var (
	paramsOnce sync.Once
	params     ckks.Parameters
	paramsErr  error
)

// Params returns the engine's fixed CKKS parameters, built and checked once.
func Params() (ckks.Parameters, error) {
	paramsOnce.Do(func() {
		params, paramsErr = ckks.NewParametersFromLiteral(ckks.ParametersLiteral{
			LogN:            LogN,
			LogQ:            []int{LogQ},
			RingType:        ring.ConjugateInvariant,
			LogDefaultScale: LogScale,
		})
		if paramsErr == nil {
			paramsErr = checkSecurity(params)
		}
	})
	return params, paramsErr
}

// checkSecurity refuses parameters above the 128-bit bound of the HE Standard. The
// conjugate-invariant ring with N coefficients is a lattice of dimension N, so the bound
// of ring degree N applies.
func checkSecurity(p ckks.Parameters) error {
	if p.LogN() != LogN {
		return fmt.Errorf("ring degree 2^%d has no 128-bit bound in this engine", p.LogN())
	}
	if logQP := p.LogQP(); logQP > maxLogQP128 {
		return fmt.Errorf("total modulus of %.1f bits exceeds the 128-bit bound of %d bits", logQP, maxLogQP128)
	}
	if _, ternary := p.Xs().(ring.Ternary); !ternary {
		return fmt.Errorf("secret distribution is not ternary")
	}
	return nil
}

// smudgingNoise is the flooding distribution of decryption shares.
func smudgingNoise() ring.DiscreteGaussian {
	sigma := math.Exp2(SmudgingLogSigma)
	return ring.DiscreteGaussian{Sigma: sigma, Bound: 6 * sigma}
}
