package main

import (
	"math"
	"math/rand"
	"testing"

	"github.com/tuneinsight/lattigo/v6/ring"
)

// testKey runs a 3-of-5 key generation and returns the public key and the secrets.
func testKey(t testing.TB, seed string) ([]byte, [][]byte) {
	t.Helper()
	var keyShares [][]byte
	shamir := make([][][]byte, 5)
	for member := uint16(1); member <= 5; member++ {
		keyShare, toOthers, err := GenerateKeyShares([]byte(seed), committee{member, 5, 3})
		if err != nil {
			t.Fatal(err)
		}
		keyShares = append(keyShares, keyShare)
		for j, share := range toOthers {
			shamir[j] = append(shamir[j], share)
		}
	}
	secrets := make([][]byte, 5)
	for j := range shamir {
		secret, err := CombineShamirShares([]byte(seed), uint16(j+1), shamir[j])
		if err != nil {
			t.Fatal(err)
		}
		secrets[j] = secret
	}
	pk, err := AggregatePublicKey([]byte(seed), keyShares)
	if err != nil {
		t.Fatal(err)
	}
	return pk, secrets
}

func TestParametersAre128BitSecure(t *testing.T) {
	prm, err := Params()
	if err != nil {
		t.Fatal(err)
	}
	if prm.LogQP() > maxLogQP128 || prm.MaxSlots() != 1<<LogN {
		t.Fatalf("logQP %.1f, slots %d", prm.LogQP(), prm.MaxSlots())
	}
}

func BenchmarkEncrypt1M(b *testing.B) {
	pk, _ := testKey(b, "bench")
	values := make([]float64, 1<<20)
	for i := range values {
		values[i] = rand.Float64()*2 - 1
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Encrypt(pk, values); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPackedPolynomialsRoundTripAndRefuseOutOfRange(t *testing.T) {
	prm, _ := Params()
	p := ring.NewPoly(prm.N(), 0)
	q := prm.Q()[0]
	for i := range p.Coeffs[0] {
		p.Coeffs[0][i] = (uint64(i)*0x9e3779b97f4a7c15 + uint64(i)) % q
	}
	p.Coeffs[0][prm.N()-1] = q - 1
	packed := make([]byte, packedPolySize())
	packPoly(packed, p)
	if len(packed) != packedPolySize() {
		t.Fatalf("packed %d bytes", len(packed))
	}
	back := ring.NewPoly(prm.N(), 0)
	if err := unpackPoly(packed, back, "test"); err != nil || !back.Equal(&p) {
		t.Fatalf("round trip failed: %v", err)
	}
	for i := len(packed) - 8; i < len(packed); i++ {
		packed[i] = 0xff // the last coefficient becomes 2^60 - 1 > q
	}
	if err := unpackPoly(packed, back, "test"); err == nil {
		t.Fatal("a coefficient above q was accepted")
	}
}

// TestVectorsAcrossMaskGroupsDecrypt encrypts a vector of more chunks than one mask
// serves, adds two, and decrypts the sum with three of the five members.
func TestVectorsAcrossMaskGroupsDecrypt(t *testing.T) {
	pk, secrets := testKey(t, "lanes")
	numValues := (Lanes+3)<<LogN + 5
	left, right := make([]float64, numValues), make([]float64, numValues)
	for i := range left {
		left[i], right[i] = rand.Float64()*2-1, rand.Float64()*2-1
	}
	a, err := Encrypt(pk, left)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Encrypt(pk, right)
	chunks := chunkCount(uint64(numValues))
	if want := headerSize + 12 + (chunks+2)*packedPolySize(); len(a) != want {
		t.Fatalf("%d chunks took %d bytes, expected %d (two masks)", chunks, len(a), want)
	}
	sum, err := Sum([][]byte{a, b})
	if err != nil {
		t.Fatal(err)
	}
	active := []uint16{1, 3, 5}
	var shares [][]byte
	for _, member := range active {
		share, err := DecryptionShare(secrets[member-1], pk, sum, active)
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, share)
	}
	values, err := Combine(sum, shares, 3)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, v := range values {
		worst = math.Max(worst, math.Abs(v-left[i]-right[i]))
	}
	if len(values) != numValues || worst > 1e-5 {
		t.Fatalf("%d values decrypted, max error %g", len(values), worst)
	}
	if _, err = Combine(sum, shares[:2], 3); err == nil {
		t.Fatal("two shares of a 3-of-5 key decrypted")
	}
}
