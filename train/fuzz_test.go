package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// FuzzParseState checks that corrupt checkpoint state files give errors,
// never a panic or a huge allocation. Each input is also tried with a
// valid checksum appended, so that the parser behind the checksum is
// exercised too.
func FuzzParseState(f *testing.F) {
	v1 := func(hdr string, vals ...float32) []byte {
		var b bytes.Buffer
		b.WriteString(stateMagicV1)
		binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
		b.WriteString(hdr)
		binary.Write(&b, binary.LittleEndian, vals)
		return b.Bytes()
	}
	f.Add(v1(`{"epoch":2,"config":{"epochs":4},"net_steps":10,"opt_step":10,"buffer_lens":[2,1]}`, 1, 2, 3))
	f.Add(v1(`{"epoch":2,"config":{"epochs":4},"buffer_lens":[1],"swa_models":2,"swa_lens":[2]}`, 1, 2, 3))
	f.Add([]byte(stateMagicV1 + "\xff\xff\xff\xff"))
	good, err := encodeState(stateHeader{Epoch: 2, Config: Config{Epochs: 4}, BufferLens: []int{2, 1}, ModelLen: 3}, []byte("abc"), [][]float32{{1, 2}, {3}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-sha256.Size]) // the body, to which the checksum is appended
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(data []byte) {
			h, model, bufs, err := parseState(data)
			if err != nil {
				return
			}
			if len(bufs) != len(h.BufferLens)+len(h.SWALens) {
				t.Fatalf("%d buffers for %d+%d lengths", len(bufs), len(h.BufferLens), len(h.SWALens))
			}
			if model != nil && len(model) != h.ModelLen {
				t.Fatalf("model of %d bytes, header says %d", len(model), h.ModelLen)
			}
		}
		check(data)
		sum := sha256.Sum256(data)
		check(append(data[:len(data):len(data)], sum[:]...))
	})
}
