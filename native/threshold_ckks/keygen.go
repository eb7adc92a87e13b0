package main

import (
	"crypto/sha256"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/multiparty"
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/utils/sampling"
)

// A collective key has Lanes secrets s_1..s_Lanes, each the sum of the members' additive
// shares and each shared t-of-n; its public key is the common random polynomial a and
// p_k = -a*s_k + e_k for every lane (all in NTT and Montgomery form, as Lattigo keeps
// public keys). Key-generation messages carry one polynomial per lane.

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

// checkMajority refuses to make or join a key whose threshold is not a strict majority:
// two disjoint decrypting sets could then each decrypt a different sum of one round.
func (c committee) checkMajority(what string) error {
	if err := c.check(what); err != nil {
		return err
	}
	if 2*c.t <= c.n {
		return badArgument("%s: threshold %d of %d members is not a strict majority", what, c.t, c.n)
	}
	return nil
}

func (c committee) write(w *writer) {
	w.u16(c.member)
	w.u16(c.n)
	w.u16(c.t)
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

// GenerateKeyShares runs one member's part of distributed key generation: for every lane
// it samples the member's additive secret s_i,k, and it returns its public-key shares
// -a*s_i,k + e_i,k and, for every member (index j is for member j+1), one Shamir share of
// each s_i,k; then it wipes the secrets.
func GenerateKeyShares(seed []byte, c committee) (keyShare []byte, shamir [][]byte, err error) {
	if err = c.checkMajority("key generation"); err != nil {
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
	keygen := rlwe.NewKeyGenerator(prm)
	thr := multiparty.NewThresholdizer(prm)
	public := make([]ring.Poly, Lanes)
	toMember := make([][]ring.Poly, c.n)
	defer func() {
		for _, polys := range toMember {
			wipe(polys...)
		}
	}()
	for k := range public {
		sk := keygen.GenSecretKeyNew()
		share := ckg.AllocateShare()
		ckg.GenShare(sk, crp, &share)
		public[k] = share.Value.Q
		poly, err := thr.GenShamirPolynomial(int(c.t), sk)
		wipe(sk.Value.Q)
		if err != nil {
			return nil, nil, badArgument("key generation: %v", err)
		}
		for recipient := range toMember {
			out := thr.AllocateThresholdSecretShare()
			thr.GenShamirSecretShare(multiparty.ShamirPublicPoint(recipient+1), poly, &out)
			toMember[recipient] = append(toMember[recipient], out.Poly.Q)
		}
		for _, coeff := range poly.Value {
			wipe(coeff.Q)
		}
	}
	digest := seedDigest(seed)
	w := newWriter(kindKeyShare, digest)
	c.write(w)
	w.blob(packPolys(public...))
	for recipient, polys := range toMember {
		w := newWriter(kindShamirShare, digest)
		c.write(w)
		w.u16(uint16(recipient + 1))
		w.blob(packPolys(polys...))
		shamir = append(shamir, w.bytes())
	}
	return w.bytes(), shamir, nil
}

// laneMessage is a parsed key-generation message: its sender's committee and one
// polynomial per lane.
type laneMessage struct {
	committee
	recipient uint16
	lanes     []ring.Poly
}

// parseLaneMessages parses the messages of one key-generation step, one from each of the
// n members, all for one task seed and one (n, t); Shamir shares must be addressed to
// recipient (0 for public messages).
func parseLaneMessages(seed []byte, kind byte, what string, recipient uint16, messages [][]byte) ([]laneMessage, error) {
	digest := seedDigest(seed)
	var parsed []laneMessage
	seen := map[uint16]bool{}
	for _, data := range messages {
		r, h, err := newReader(data, kind, what)
		if err != nil {
			return nil, err
		}
		m := laneMessage{committee: committee{r.u16(), r.u16(), r.u16()}}
		if kind == kindShamirShare {
			m.recipient = r.u16()
		}
		body := r.blob(len(data))
		if err = r.done(); err != nil {
			return nil, err
		}
		if h.digest != digest {
			return nil, mismatch("%s from member %d belongs to another task seed", what, m.member)
		}
		if err = m.checkMajority(what); err != nil {
			return nil, err
		}
		if len(parsed) > 0 && (m.n != parsed[0].n || m.t != parsed[0].t) {
			return nil, mismatch("%s from member %d is for a %d-of-%d committee, not %d-of-%d", what, m.member, m.t, m.n, parsed[0].t, parsed[0].n)
		}
		if m.recipient != recipient {
			return nil, mismatch("%s from member %d is addressed to member %d, not %d", what, m.member, m.recipient, recipient)
		}
		if seen[m.member] {
			return nil, mismatch("two %ss from member %d", what, m.member)
		}
		seen[m.member] = true
		if m.lanes, err = unpackPolys(body, Lanes, what); err != nil {
			return nil, err
		}
		parsed = append(parsed, m)
	}
	if len(parsed) == 0 || len(parsed) != int(parsed[0].n) {
		return nil, insufficient("%d %ss, need one from each member of the committee", len(parsed), what)
	}
	return parsed, nil
}

// sumLanes adds the messages' polynomials lane by lane into the first message's.
func sumLanes(messages []laneMessage) []ring.Poly {
	prm, _ := Params()
	ringQ := prm.RingQ().AtLevel(0)
	total := messages[0].lanes
	for _, m := range messages[1:] {
		for k, p := range m.lanes {
			ringQ.Add(total[k], p, total[k])
		}
		wipe(m.lanes...)
	}
	return total
}

// CombineShamirShares adds the n Shamir shares addressed to one member into its t-of-n
// threshold secret share, one polynomial per lane.
func CombineShamirShares(seed []byte, own uint16, shares [][]byte) ([]byte, error) {
	parsed, err := parseLaneMessages(seed, kindShamirShare, "Shamir share", own, shares)
	if err != nil {
		return nil, err
	}
	total := sumLanes(parsed)
	defer wipe(total...)
	w := newWriter(kindThresholdSecret, seedDigest(seed))
	committee{own, parsed[0].n, parsed[0].t}.write(w)
	w.blob(packPolys(total...))
	return w.bytes(), nil
}

// AggregatePublicKey adds the n members' public-key shares lane by lane into the
// collective public key (a, p_1..p_Lanes). Anyone may run it.
func AggregatePublicKey(seed []byte, shares [][]byte) ([]byte, error) {
	parsed, err := parseLaneMessages(seed, kindKeyShare, "public-key share", 0, shares)
	if err != nil {
		return nil, err
	}
	crp, _, err := publicKeyCRP(seed)
	if err != nil {
		return nil, err
	}
	w := newWriter(kindPublicKey, seedDigest(seed))
	w.u16(parsed[0].n)
	w.u16(parsed[0].t)
	w.blob(packPolys(append([]ring.Poly{crp.Value.Q}, sumLanes(parsed)...)...))
	return w.bytes(), nil
}

// publicKey is a parsed collective public key.
type publicKey struct {
	mask       ring.Poly   // a
	lanes      []ring.Poly // p_k = -a*s_k + e_k
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
	polys, err := unpackPolys(body, Lanes+1, "public key")
	if err != nil {
		return nil, err
	}
	return &publicKey{
		mask: polys[0], lanes: polys[1:], seedDigest: h.digest, digest: sha256.Sum256(data), n: n, t: t,
	}, nil
}
