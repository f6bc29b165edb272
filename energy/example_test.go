package energy_test

import (
	"fmt"

	"github.com/quartz-snn/quartz/energy"
)

// The shipped LeNet-5 converted with Quartz at Tmax 16 (quartz eval, means
// per sample on the MNIST test set, rounded).
func ExampleEstimateAll() {
	a := energy.Activity{SynapticOps: 243116, NeuronUpdates: 139328, IdleUpdates: 298882,
		Spikes: 5402, Steps: 81, Neurons: 5410}
	est, err := energy.EstimateAll(energy.DefaultProfiles(), a, 225840)
	if err != nil {
		panic(err)
	}
	b, c, l := est["bitwidth"], est["cmos45"], est["loihi"]
	fmt.Printf("bit-width: SNN %.3g, ANN %.3g bit-ops (%.0f× less)\n", b.Dynamic, b.ANNDynamic, b.Ratio())
	fmt.Printf("45 nm: SNN %.3g nJ, ANN %.3g nJ\n", c.Dynamic*1e9, c.ANNDynamic*1e9)
	fmt.Printf("Loihi: %.3g µJ dynamic + %.3g µJ static on %d cores in %.3g ms, EDP %.3g µJ·s\n",
		l.Dynamic*1e6, l.Static*1e6, l.Cores, l.LatencyS*1e3, l.EDP*1e6)
	// Output:
	// bit-width: SNN 7.09e+06, ANN 2.31e+08 bit-ops (33× less)
	// 45 nm: SNN 19.1 nJ, ANN 1.04e+03 nJ
	// Loihi: 32.6 µJ dynamic + 22.2 µJ static on 11 cores in 4.37 ms, EDP 0.24 µJ·s
}
