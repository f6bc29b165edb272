package nir

import (
	"math/rand/v2"
	"testing"
)

// FuzzUnmarshal feeds arbitrary bytes to the NIR reader (HDF5 decoding,
// checksum, Quartz-profile import). It is seeded with the LeNet-5 SNN of
// models/lenet5.onnx exported to NIR and with small random networks.
// Whatever it accepts must be a valid network that exports to the same
// tree.
func FuzzUnmarshal(f *testing.F) {
	data, _, err := Marshal(lenet(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 4 {
		d, _, err := Marshal(randomNetwork(f, rng))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, _, err := Unmarshal(b)
		if err != nil {
			return
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("accepted an invalid network: %v", err)
		}
		if _, _, err := Marshal(n); err != nil {
			t.Fatalf("accepted network does not export: %v", err)
		}
	})
}
