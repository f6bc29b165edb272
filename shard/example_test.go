package shard_test

import (
	"fmt"

	"github.com/quartz-snn/quartz/shard"
)

// Four shards of 10 samples: contiguous slices that cover them once.
func ExampleSpec_Range() {
	for i := 0; i < 4; i++ {
		sp, err := shard.Parse(fmt.Sprintf("%d/4", i))
		if err != nil {
			panic(err)
		}
		lo, hi := sp.Range(10)
		fmt.Printf("%s: samples %d..%d in %s\n", sp, lo, hi-1, sp.FileName())
	}
	// Output:
	// 0/4: samples 0..1 in part-0-of-4.json
	// 1/4: samples 2..4 in part-1-of-4.json
	// 2/4: samples 5..6 in part-2-of-4.json
	// 3/4: samples 7..9 in part-3-of-4.json
}

// Check names what is wrong with a set of parts.
func ExampleCheck() {
	id := shard.Identity{Kind: "eval", Model: "m.onnx", ModelSHA256: "sha256:ab", Data: "mnist-test", Samples: 10000, Config: "tmax=16"}
	parts := []shard.Header{shard.NewHeader(shard.Spec{Index: 0, Count: 3}, id), shard.NewHeader(shard.Spec{Index: 2, Count: 3}, id)}
	_, err := shard.Check([]string{"a.json", "b.json"}, parts)
	fmt.Println(err)
	// Output:
	// shard 1/3 missing (run it again with --shard and merge when every part is there; its file is part-1-of-3.json)
}
