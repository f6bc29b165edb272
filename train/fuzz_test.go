package train

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzParseState checks that corrupt checkpoint state files give errors,
// never a panic or a huge allocation.
func FuzzParseState(f *testing.F) {
	var good bytes.Buffer
	hdr := []byte(`{"epoch":2,"config":{"epochs":4},"net_steps":10,"opt_step":10,"buffer_lens":[2,1]}`)
	good.WriteString(stateMagic)
	binary.Write(&good, binary.LittleEndian, uint32(len(hdr)))
	good.Write(hdr)
	binary.Write(&good, binary.LittleEndian, []float32{1, 2, 3})
	f.Add(good.Bytes())
	var swa bytes.Buffer
	hdr = []byte(`{"epoch":2,"config":{"epochs":4},"buffer_lens":[1],"swa_models":2,"swa_lens":[2]}`)
	swa.WriteString(stateMagic)
	binary.Write(&swa, binary.LittleEndian, uint32(len(hdr)))
	swa.Write(hdr)
	binary.Write(&swa, binary.LittleEndian, []float32{1, 2, 3})
	f.Add(swa.Bytes())
	f.Add([]byte(stateMagic + "\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, bufs, err := parseState(data)
		if err != nil {
			return
		}
		if len(bufs) != len(h.BufferLens)+len(h.SWALens) {
			t.Fatalf("%d buffers for %d+%d lengths", len(bufs), len(h.BufferLens), len(h.SWALens))
		}
	})
}
