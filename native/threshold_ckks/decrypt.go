package main

import (
	"crypto/sha256"
	"slices"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/multiparty"
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
)

// thresholdSecret is a member's parsed t-of-n secret share, one polynomial per lane.
type thresholdSecret struct {
	seedDigest [sha256.Size]byte
	committee
	lanes []ring.Poly
}

func parseThresholdSecret(data []byte) (*thresholdSecret, error) {
	r, h, err := newReader(data, kindThresholdSecret, "threshold secret")
	if err != nil {
		return nil, err
	}
	c := committee{r.u16(), r.u16(), r.u16()}
	body := r.blob(len(data))
	if err = r.done(); err != nil {
		return nil, err
	}
	if err = c.check("threshold secret"); err != nil {
		return nil, err
	}
	lanes, err := unpackPolys(body, Lanes, "threshold secret")
	if err != nil {
		return nil, err
	}
	return &thresholdSecret{seedDigest: h.digest, committee: c, lanes: lanes}, nil
}

// checkActive checks the decrypting members: distinct, sorted, within 1..n, at least t,
// and including the member itself (own = 0 skips that check).
func checkActive(active []uint16, own, n, t uint16) error {
	if len(active) < int(t) {
		return insufficient("%d decrypting members, the key needs %d", len(active), t)
	}
	for i, p := range active {
		if p < 1 || p > n || (i > 0 && p <= active[i-1]) {
			return badArgument("decrypting members must be distinct, sorted and in 1..%d", n)
		}
	}
	if own != 0 && !slices.Contains(active, own) {
		return badArgument("member %d is not among the decrypting members", own)
	}
	return nil
}

// DecryptionShare computes a member's share for decrypting one encrypted vector with the
// given decrypting members: the member turns its Shamir share into an additive share for
// that set (Lagrange coefficient at 0) and key-switches every chunk to the zero key,
// flooding its share with Gaussian noise of standard deviation 2^SmudgingLogSigma.
func DecryptionShare(secretData, pkData, ctData []byte, active []uint16) ([]byte, error) {
	secret, pk, ct, err := memberInputs(secretData, pkData, ctData)
	if err != nil {
		return nil, err
	}
	defer wipe(secret.lanes...)
	additive, err := additiveSecrets(secret, active)
	if err != nil {
		return nil, err
	}
	defer wipeKeys(additive)
	return keySwitchShare(pk, ct, ctData, secret.member, active, additive)
}

// keySwitchShare key-switches every chunk of ct to the zero key with the member's
// additive secrets, flooding each share.
func keySwitchShare(pk *publicKey, ct *vector, ctData []byte, member uint16, active []uint16, additive []*rlwe.SecretKey) ([]byte, error) {
	prm, _ := Params()
	cks, err := multiparty.NewKeySwitchProtocol(prm, smudgingNoise())
	if err != nil {
		return nil, err
	}
	zero := rlwe.NewSecretKey(prm)
	w := newWriter(kindDecryptionShare, pk.digest)
	w.digest(sha256.Sum256(ctData))
	w.u16(member)
	w.u16(uint16(len(active)))
	for _, p := range active {
		w.u16(p)
	}
	w.u32(uint32(ct.chunks()))
	shares := make([]ring.Poly, ct.chunks())
	_ = parallel(len(shares), func(_, first, last int) error {
		mine := cks.ShallowCopy() // its own flooding sampler and buffers
		for c := first; c < last; c++ {
			share := mine.AllocateShare(0)
			mine.GenShare(additive[c%Lanes], zero, ct.ciphertext(c), &share)
			shares[c] = share.Value
		}
		return nil
	})
	w.raw(packPolys(shares...))
	return w.bytes(), nil
}

// memberInputs parses what a decrypting member starts from: its secret share, the
// public key that share belongs to, and a ciphertext under that key.
func memberInputs(secretData, pkData, ctData []byte) (*thresholdSecret, *publicKey, *vector, error) {
	secret, err := parseThresholdSecret(secretData)
	if err != nil {
		return nil, nil, nil, err
	}
	pk, err := parsePublicKey(pkData)
	if err == nil && (pk.seedDigest != secret.seedDigest || pk.n != secret.n) {
		err = mismatch("the public key is not the one this member's secret share belongs to")
	}
	var ct *vector
	if err == nil {
		ct, err = parseVector(ctData)
	}
	if err == nil && ct.keyDigest != pk.digest {
		err = mismatch("the ciphertext is not under this committee's public key")
	}
	if err != nil {
		wipe(secret.lanes...)
		return nil, nil, nil, err
	}
	return secret, pk, ct, nil
}

// additiveSecrets turns a member's Shamir shares (one per lane) into additive shares
// for the decrypting set: its Lagrange coefficient at 0 applied.
func additiveSecrets(secret *thresholdSecret, active []uint16) ([]*rlwe.SecretKey, error) {
	if err := checkActive(active, secret.member, secret.n, secret.t); err != nil {
		return nil, err
	}
	prm, _ := Params()
	points := make([]multiparty.ShamirPublicPoint, len(active))
	for i, p := range active {
		points[i] = multiparty.ShamirPublicPoint(p)
	}
	own := multiparty.ShamirPublicPoint(secret.member)
	combiner := multiparty.NewCombiner(*prm.GetRLWEParameters(), own, points, len(points))
	additive := make([]*rlwe.SecretKey, Lanes)
	for k, lane := range secret.lanes {
		additive[k] = rlwe.NewSecretKey(prm)
		if err := combiner.GenAdditiveShare(points, own, multiparty.ShamirSecretShare{Poly: asQP(lane)}, additive[k]); err != nil {
			wipeKeys(additive[:k+1])
			return nil, insufficient("decryption share: %v", err)
		}
	}
	return additive, nil
}

// wipeKeys overwrites additive secrets once the shares are made.
func wipeKeys(keys []*rlwe.SecretKey) {
	for _, sk := range keys {
		wipe(sk.Value.Q)
	}
}

// decryptionShare is a parsed decryption share.
type decryptionShare struct {
	member uint16
	active []uint16
	chunks []multiparty.KeySwitchShare
}

func parseDecryptionShare(data []byte, keyDigest, ctDigest [sha256.Size]byte, chunks int) (*decryptionShare, error) {
	r, h, err := newReader(data, kindDecryptionShare, "decryption share")
	if err != nil {
		return nil, err
	}
	forCt := r.digest()
	s := &decryptionShare{member: r.u16()}
	count := r.u16()
	for i := uint16(0); i < count && r.err == nil && i < maxMembers; i++ {
		s.active = append(s.active, r.u16())
	}
	if r.u32() != uint32(chunks) && r.err == nil {
		return nil, mismatch("decryption share of member %d has the wrong number of chunks", s.member)
	}
	if r.err != nil {
		return nil, r.err
	}
	polys, err := unpackPolys(r.rest(), chunks, "decryption share")
	if err != nil {
		return nil, err
	}
	for _, poly := range polys {
		s.chunks = append(s.chunks, multiparty.KeySwitchShare{Value: poly})
	}
	if h.digest != keyDigest || forCt != ctDigest {
		return nil, mismatch("decryption share of member %d is for another ciphertext or key", s.member)
	}
	return s, nil
}

// Combine adds the decryption shares of every decrypting member to the ciphertext and
// decodes the result. It needs one share from each member of the (common) decrypting
// set, and at least minShares of them. The aggregator runs it; minShares is a guard for
// honest callers, the threshold itself is enforced by the key sharing.
func Combine(ctData []byte, shares [][]byte, minShares int) ([]float64, error) {
	ct, err := parseVector(ctData)
	if err != nil {
		return nil, err
	}
	if len(shares) < max(minShares, 1) {
		return nil, insufficient("%d decryption shares, need at least %d", len(shares), minShares)
	}
	ctDigest := sha256.Sum256(ctData)
	parsed := make([]*decryptionShare, len(shares))
	for i, data := range shares {
		if parsed[i], err = parseDecryptionShare(data, ct.keyDigest, ctDigest, ct.chunks()); err != nil {
			return nil, err
		}
	}
	active := parsed[0].active
	if err = checkActive(active, 0, maxMembers, uint16(max(minShares, 1))); err != nil {
		return nil, err
	}
	seen := map[uint16]bool{}
	for _, s := range parsed {
		if !slices.Equal(s.active, active) {
			return nil, mismatch("decryption shares were made for different sets of decrypting members")
		}
		if seen[s.member] || !slices.Contains(active, s.member) {
			return nil, mismatch("decryption share of member %d is repeated or not in the decrypting set", s.member)
		}
		seen[s.member] = true
	}
	if len(seen) != len(active) {
		return nil, insufficient("%d of the %d decrypting members sent a share", len(seen), len(active))
	}
	prm, _ := Params()
	cks, err := multiparty.NewKeySwitchProtocol(prm, smudgingNoise())
	if err != nil {
		return nil, err
	}
	slots := prm.MaxSlots()
	out := make([]float64, ct.chunks()*slots)
	err = parallel(ct.chunks(), func(_, first, last int) error {
		decryptor := rlwe.NewDecryptor(prm, rlwe.NewSecretKey(prm))
		encoder := ckks.NewEncoder(prm)
		total := cks.AllocateShare(0)
		for i := first; i < last; i++ {
			chunk := ct.ciphertext(i)
			total.Value.Copy(parsed[0].chunks[i].Value)
			for _, s := range parsed[1:] {
				if err := cks.AggregateShares(total, s.chunks[i], &total); err != nil {
					return malformed("decryption share: %v", err)
				}
			}
			cks.KeySwitch(chunk, total, chunk)
			if err := encoder.Decode(decryptor.DecryptNew(chunk), out[i*slots:(i+1)*slots]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out[:ct.numValues], nil
}
