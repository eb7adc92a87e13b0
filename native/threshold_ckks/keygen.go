package main

import (
	"crypto/sha256"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/multiparty"
	"github.com/tuneinsight/lattigo/v6/utils/sampling"
)

// committee is the (n, t) of a key and the member a message is from or for.
type committee struct {
	member, n, t uint16
}

func (c committee) check(what string) error {
	if c.t < 1 || c.t > c.n || c.n > maxMembers {
		return badArgument("%s: threshold %d of %d members is not 1 <= t <= n <= %d", what, c.t, c.n, maxMembers)
	}
	if c.member < 1 || c.member > c.n {
		return badArgument("%s: member %d is not in 1..%d", what, c.member, c.n)
	}
	return nil
}

// publicKeyCRP derives the common random polynomial of a task from its seed.
func publicKeyCRP(seed []byte) (multiparty.PublicKeyGenCRP, multiparty.PublicKeyGenProtocol, error) {
	prm, err := Params()
	if err != nil {
		return multiparty.PublicKeyGenCRP{}, multiparty.PublicKeyGenProtocol{}, err
	}
	crs, err := sampling.NewKeyedPRNG(crsKey(seed))
	if err != nil {
		return multiparty.PublicKeyGenCRP{}, multiparty.PublicKeyGenProtocol{}, err
	}
	ckg := multiparty.NewPublicKeyGenProtocol(prm)
	return ckg.SampleCRP(crs), ckg, nil
}

// GenerateKeyShares runs one member's part of distributed key generation: it samples
// the member's additive secret s_i, returns its public-key share -a*s_i + e_i and one
// Shamir share of s_i for every member (index j is for member j+1), then wipes s_i.
func GenerateKeyShares(seed []byte, c committee) (keyShare []byte, shamir [][]byte, err error) {
	if err = c.check("key generation"); err != nil {
		return nil, nil, err
	}
	prm, err := Params()
	if err != nil {
		return nil, nil, err
	}
	crp, ckg, err := publicKeyCRP(seed)
	if err != nil {
		return nil, nil, err
	}
	sk := rlwe.NewKeyGenerator(prm).GenSecretKeyNew()
	defer wipe(sk.Value)

	share := ckg.AllocateShare()
	ckg.GenShare(sk, crp, &share)
	digest := seedDigest(seed)
	w := newWriter(kindKeyShare, digest)
	w.u16(c.member)
	w.u16(c.n)
	w.u16(c.t)
	w.blob(marshalQP(share.Value))
	keyShare = w.bytes()

	thr := multiparty.NewThresholdizer(prm)
	poly, err := thr.GenShamirPolynomial(int(c.t), sk)
	if err != nil {
		return nil, nil, badArgument("key generation: %v", err)
	}
	defer func() {
		for _, coeff := range poly.Value {
			wipe(coeff)
		}
	}()
	out := thr.AllocateThresholdSecretShare()
	defer wipe(out.Poly)
	for recipient := uint16(1); recipient <= c.n; recipient++ {
		thr.GenShamirSecretShare(multiparty.ShamirPublicPoint(recipient), poly, &out)
		w := newWriter(kindShamirShare, digest)
		w.u16(c.member)
		w.u16(recipient)
		w.u16(c.n)
		w.u16(c.t)
		w.blob(marshalQP(out.Poly))
		shamir = append(shamir, w.bytes())
	}
	return keyShare, shamir, nil
}

// CombineShamirShares adds the n Shamir shares addressed to one member into its
// t-of-n threshold secret share.
func CombineShamirShares(seed []byte, own uint16, shares [][]byte) ([]byte, error) {
	prm, err := Params()
	if err != nil {
		return nil, err
	}
	digest := seedDigest(seed)
	thr := multiparty.NewThresholdizer(prm)
	total := thr.AllocateThresholdSecretShare()
	var first committee
	seen := map[uint16]bool{}
	for i, data := range shares {
		r, h, err := newReader(data, kindShamirShare, "Shamir share")
		if err != nil {
			return nil, err
		}
		sender, recipient, n, t := r.u16(), r.u16(), r.u16(), r.u16()
		body := r.blob(len(data))
		if err = r.done(); err != nil {
			return nil, err
		}
		if h.digest != digest {
			return nil, mismatch("Shamir share from member %d belongs to another task seed", sender)
		}
		c := committee{sender, n, t}
		if err = c.check("Shamir share"); err != nil {
			return nil, err
		}
		if i == 0 {
			first = c
		} else if n != first.n || t != first.t {
			return nil, mismatch("Shamir share from member %d is for a %d-of-%d committee, not %d-of-%d", sender, t, n, first.t, first.n)
		}
		if recipient != own {
			return nil, mismatch("Shamir share from member %d is addressed to member %d, not %d", sender, recipient, own)
		}
		if seen[sender] {
			return nil, mismatch("two Shamir shares from member %d", sender)
		}
		seen[sender] = true
		poly, err := unmarshalQP(body, "Shamir share")
		if err != nil {
			return nil, err
		}
		if err = thr.AggregateShares(total, multiparty.ShamirSecretShare{Poly: poly}, &total); err != nil {
			return nil, malformed("Shamir share: %v", err)
		}
		wipe(poly)
	}
	if len(shares) == 0 || len(seen) != int(first.n) {
		return nil, insufficient("%d Shamir shares for member %d, need one from each of the %d members", len(seen), own, first.n)
	}
	defer wipe(total.Poly)
	w := newWriter(kindThresholdSecret, digest)
	w.u16(own)
	w.u16(first.n)
	w.u16(first.t)
	w.blob(marshalQP(total.Poly))
	return w.bytes(), nil
}

// AggregatePublicKey adds the n members' public-key shares into the collective public
// key (sum of shares, common random polynomial). Anyone may run it.
func AggregatePublicKey(seed []byte, shares [][]byte) ([]byte, error) {
	prm, err := Params()
	if err != nil {
		return nil, err
	}
	crp, ckg, err := publicKeyCRP(seed)
	if err != nil {
		return nil, err
	}
	digest := seedDigest(seed)
	total := ckg.AllocateShare()
	var first committee
	seen := map[uint16]bool{}
	for i, data := range shares {
		r, h, err := newReader(data, kindKeyShare, "public-key share")
		if err != nil {
			return nil, err
		}
		c := committee{r.u16(), r.u16(), r.u16()}
		body := r.blob(len(data))
		if err = r.done(); err != nil {
			return nil, err
		}
		if h.digest != digest {
			return nil, mismatch("public-key share from member %d belongs to another task seed", c.member)
		}
		if err = c.check("public-key share"); err != nil {
			return nil, err
		}
		if i == 0 {
			first = c
		} else if c.n != first.n || c.t != first.t {
			return nil, mismatch("public-key share from member %d is for a %d-of-%d committee, not %d-of-%d", c.member, c.t, c.n, first.t, first.n)
		}
		if seen[c.member] {
			return nil, mismatch("two public-key shares from member %d", c.member)
		}
		seen[c.member] = true
		poly, err := unmarshalQP(body, "public-key share")
		if err != nil {
			return nil, err
		}
		ckg.AggregateShares(total, multiparty.PublicKeyGenShare{Value: poly}, &total)
	}
	if len(shares) == 0 || len(seen) != int(first.n) {
		return nil, insufficient("%d public-key shares, need one from each of the %d members", len(seen), first.n)
	}
	pk := rlwe.NewPublicKey(prm)
	ckg.GenPublicKey(total, crp, pk)
	body, err := pk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	w := newWriter(kindPublicKey, digest)
	w.u16(first.n)
	w.u16(first.t)
	w.blob(body)
	return w.bytes(), nil
}

// publicKey is a parsed collective public key.
type publicKey struct {
	key        *rlwe.PublicKey
	seedDigest [sha256.Size]byte
	digest     [sha256.Size]byte // binds ciphertexts and decryption shares to this key
	n, t       uint16
}

func parsePublicKey(data []byte) (*publicKey, error) {
	r, h, err := newReader(data, kindPublicKey, "public key")
	if err != nil {
		return nil, err
	}
	n, t := r.u16(), r.u16()
	body := r.blob(len(data))
	if err = r.done(); err != nil {
		return nil, err
	}
	if err = (committee{1, n, t}).check("public key"); err != nil {
		return nil, err
	}
	prm, err := Params()
	if err != nil {
		return nil, err
	}
	layouts()
	if err = pkLayout.check(body, "public key"); err != nil {
		return nil, err
	}
	pk := rlwe.NewPublicKey(prm)
	if err = pk.UnmarshalBinary(body); err != nil {
		return nil, malformed("public key: %v", err)
	}
	for _, p := range pk.Value {
		if err = checkPolyQP(p, "public key"); err != nil {
			return nil, err
		}
	}
	return &publicKey{key: pk, seedDigest: h.digest, digest: sha256.Sum256(data), n: n, t: t}, nil
}
