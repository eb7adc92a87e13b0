package main

import (
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

func TestLayoutsFixOnlyStructure(t *testing.T) {
	layouts()
	for name, l := range map[string]layout{"polyQP": polyQPLayout, "public key": pkLayout} {
		t.Logf("%s: %d fixed bytes of %d", name, len(l.fixed), len(l.ref))
		if len(l.ref) == 0 || len(l.fixed) == 0 || len(l.fixed) > 512 {
			t.Fatalf("%s: %d fixed bytes of %d", name, len(l.fixed), len(l.ref))
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
	packed := packPoly(nil, p)
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
