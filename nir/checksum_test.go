package nir

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/quartz-snn/quartz/internal/hdf5"
	"github.com/quartz-snn/quartz/snn"
)

// lenet reads the LeNet-5 SNN that quartz convert made from
// models/lenet5.onnx (the fixture of package cli).
func lenet(tb testing.TB) *snn.Network {
	tb.Helper()
	raw, err := os.ReadFile("../internal/cli/testdata/lenet5.snn.json.gz")
	if err != nil {
		tb.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		Network *snn.Network `json:"network"`
	}
	if err := json.Unmarshal(js, &f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Network.Validate(); err != nil {
		tb.Fatal(err)
	}
	return f.Network
}

// TestChecksum: a file carries the payload's SHA-256; a file without it
// imports with a warning, one with a wrong checksum is refused.
func TestChecksum(t *testing.T) {
	n := lenet(t)
	data, _, err := Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	root, err := hdf5.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if root.Attr(ChecksumAttr) == nil {
		t.Fatal("no checksum attribute")
	}
	unsealed := func() []byte {
		r, _ := hdf5.Read(data)
		r.DeleteAttr(ChecksumAttr)
		b, err := hdf5.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wrong := func() []byte {
		r, _ := hdf5.Read(data)
		w := r.Lookup("node/nodes/l0_conv/weight").Dataset
		w.F32[0] = -w.F32[0]
		b, err := hdf5.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name    string
		data    []byte
		warning string
		err     string
	}{
		{"sealed", data, "", ""},
		{"no checksum", unsealed(), "no quartz_sha256", ""},
		{"weight changed", wrong(), "", "checksum mismatch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			back, warnings, err := Unmarshal(c.data)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(warnings, "; "); (c.warning == "") != (got == "") || !strings.Contains(got, c.warning) {
				t.Fatalf("warnings %q, want %q", got, c.warning)
			}
			if !reflect.DeepEqual(back.Layers, n.Layers) {
				t.Fatal("imported network differs")
			}
		})
	}
}

// TestBitFlips: no single-bit flip of a file imports a network that
// differs from the exported one.
func TestBitFlips(t *testing.T) {
	n := lenet(t)
	data, _, err := Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(18, 9))
	flips := 400
	if testing.Short() {
		flips = 50
	}
	accepted := 0
	for range flips {
		bit := rng.IntN(8 * len(data))
		b := bytes.Clone(data)
		b[bit/8] ^= 1 << (bit % 8)
		back, _, err := Unmarshal(b)
		if err != nil {
			var fe *hdf5.FormatError
			var ie *ImportError
			var ve *snn.ValidationError
			if !errors.As(err, &fe) && !errors.As(err, &ie) && !errors.As(err, &ve) {
				t.Fatalf("bit %d: unexpected error type %T: %v", bit, err, err)
			}
			continue
		}
		accepted++
		if !reflect.DeepEqual(back, n) {
			t.Fatalf("bit %d (byte %d of %d): imported a different network", bit, bit/8, len(data))
		}
	}
	t.Logf("%d of %d flips imported (unchanged network)", accepted, flips)
}
