package normalize

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/quartz-snn/quartz/graph"
)

// A Calibration's histograms serialize (MarshalBinary, UnmarshalCalibration)
// as
//
//	magic "QZCALIB\x00" | version uint32 | payload length uint64 |
//	payload | SHA-256 of the payload (32 bytes)
//
// all little-endian. The payload holds, per normalized layer, a flag
// (pooling layers that inherit their scale have no statistics), and the
// layer histogram followed by the channel count and the channel histograms.
// A histogram is its bits, value count, zeros, NaNs, extremes (float32
// bits) and its two spans (lo, hi, then every bin count as an unsigned
// varint: empty bins take one byte). The model itself is not stored: the
// caller gives it back, and the layer count, kinds and channel counts are
// checked against it.
const (
	calibMagic   = "QZCALIB\x00"
	calibVersion = 1
	// maxCalibPayload bounds what UnmarshalCalibration accepts (a layer
	// histogram is at most ≈ 8.7 MiB of counts, ≤ 9 bytes a count).
	maxCalibPayload = 1 << 32
)

// ErrCalibrationFormat is wrapped by every error of UnmarshalCalibration on
// data that is not a valid encoding (truncated, checksum mismatch, another
// version, or histograms that do not fit the model).
var ErrCalibrationFormat = errors.New("normalize: not a valid calibration encoding")

// MarshalBinary encodes the histograms (see the format above); the model is
// not included.
func (c *Calibration) MarshalBinary() ([]byte, error) {
	var p []byte
	p = binary.AppendUvarint(p, uint64(len(c.param)))
	for t := range c.param {
		if c.fixed[t] {
			p = append(p, 0)
			continue
		}
		p = append(p, 1)
		p = c.hists[t].appendTo(p)
		p = binary.AppendUvarint(p, uint64(len(c.chans[t])))
		for i := range c.chans[t] {
			p = c.chans[t][i].appendTo(p)
		}
	}
	out := make([]byte, 0, len(calibMagic)+12+len(p)+sha256.Size)
	out = append(out, calibMagic...)
	out = binary.LittleEndian.AppendUint32(out, calibVersion)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(p)))
	out = append(out, p...)
	sum := sha256.Sum256(p)
	return append(out, sum[:]...), nil
}

func (h *hist) appendTo(p []byte) []byte {
	p = append(p, byte(h.bits))
	for _, v := range []uint64{h.n, h.zeros, h.nans} {
		p = binary.AppendUvarint(p, v)
	}
	p = binary.LittleEndian.AppendUint32(p, math.Float32bits(h.mn))
	p = binary.LittleEndian.AppendUint32(p, math.Float32bits(h.mx))
	for _, s := range []*span{&h.neg, &h.pos} {
		p = binary.AppendVarint(p, int64(s.lo))
		p = binary.AppendVarint(p, int64(s.hi))
		for _, c := range s.counts {
			p = binary.AppendUvarint(p, c)
		}
	}
	return p
}

// decoder reads a payload, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCalibrationFormat, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *decoder) byte1() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) float32() float32 {
	if d.err != nil || len(d.b) < 4 {
		d.fail("truncated")
		return 0
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}

func (d *decoder) hist(bits uint) hist {
	h := makeHist(bits)
	if b := d.byte1(); uint(b) != bits {
		d.fail("histogram of %d bits, want %d", b, bits)
		return h
	}
	h.n, h.zeros, h.nans = d.uvarint(), d.uvarint(), d.uvarint()
	h.mn, h.mx = d.float32(), d.float32()
	var total uint64
	for _, s := range []*span{&h.neg, &h.pos} {
		lo, hi := d.varint(), d.varint()
		if d.err != nil {
			return h
		}
		s.lo, s.hi = int32(lo), int32(hi)
		if lo > hi {
			if lo != 1 || hi != 0 {
				d.fail("bad empty span %d…%d", lo, hi)
			}
			continue
		}
		// Binades are key>>23 of one sign: 256 of them.
		if lo < 0 || hi > 511 || hi-lo >= 256 {
			d.fail("span %d…%d out of range", lo, hi)
			return h
		}
		nb := int(hi-lo+1) << bits
		if nb > len(d.b) { // every count takes at least one byte
			d.fail("truncated")
			return h
		}
		s.counts = make([]uint64, nb)
		for i := range s.counts {
			s.counts[i] = d.uvarint()
			total += s.counts[i]
		}
	}
	if d.err == nil && total+h.zeros+h.nans != h.n {
		d.fail("histogram counts %d values, header says %d", total+h.zeros+h.nans, h.n)
	}
	return h
}

// UnmarshalCalibration decodes data written by MarshalBinary for the
// simplified model m (the same model the calibration was measured on:
// the caller keys stored calibrations by it). It checks the checksum, the
// version and that the histograms fit m's normalized layers; every
// failure wraps ErrCalibrationFormat. The Calibration keeps a reference
// to m.
func UnmarshalCalibration(m *graph.Model, data []byte) (*Calibration, error) {
	head := len(calibMagic) + 12
	if len(data) < head+sha256.Size || !bytes.Equal(data[:len(calibMagic)], []byte(calibMagic)) {
		return nil, fmt.Errorf("%w: bad header", ErrCalibrationFormat)
	}
	if v := binary.LittleEndian.Uint32(data[len(calibMagic):]); v != calibVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCalibrationFormat, v, calibVersion)
	}
	n := binary.LittleEndian.Uint64(data[len(calibMagic)+4:])
	if n > maxCalibPayload || uint64(len(data)) != uint64(head)+n+sha256.Size {
		return nil, fmt.Errorf("%w: payload of %d bytes in %d", ErrCalibrationFormat, n, len(data))
	}
	p := data[head : head+int(n)]
	if sum := sha256.Sum256(p); !bytes.Equal(sum[:], data[head+int(n):]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCalibrationFormat)
	}
	c, err := newCalibration(m)
	if err != nil {
		return nil, err
	}
	param, act := c.param, c.act
	d := &decoder{b: p}
	if k := d.uvarint(); d.err == nil && k != uint64(len(param)) {
		return nil, fmt.Errorf("%w: %d layers, the model has %d normalized layers", ErrCalibrationFormat, k, len(param))
	}
	for t, pi := range param {
		op := m.Nodes[pi].Op
		c.fixed[t] = op == graph.AvgPool || op == graph.GlobalAvgPool
		flag := d.byte1()
		if d.err != nil {
			break
		}
		if (flag == 0) != c.fixed[t] || flag > 1 {
			d.fail("layer %d: statistics flag %d does not fit the model", t, flag)
			break
		}
		if c.fixed[t] {
			continue
		}
		h := d.hist(layerBits)
		c.hists[t] = &h
		ch, hw := channels(m.Nodes[act[t]].OutShape)
		if k := d.uvarint(); d.err == nil && k != uint64(ch) {
			d.fail("layer %d: %d channels, the model has %d", t, k, ch)
		}
		if d.err != nil {
			break
		}
		c.chans[t] = make([]hist, ch)
		for i := range c.chans[t] {
			c.chans[t][i] = d.hist(chanBits)
		}
		c.hw[t] = hw
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}
