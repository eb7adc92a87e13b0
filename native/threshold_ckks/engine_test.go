package main

import (
	"math/rand"
	"testing"
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
	for name, l := range map[string]layout{"poly": polyLayout, "polyQP": polyQPLayout, "ciphertext": ciphertextLayout, "public key": pkLayout} {
		t.Logf("%s: %d fixed bytes of %d", name, len(l.fixed), len(l.ref))
		if len(l.ref) == 0 || len(l.fixed) == 0 || len(l.fixed) > 512 {
			t.Fatalf("%s: %d fixed bytes of %d", name, len(l.fixed), len(l.ref))
		}
	}
}
