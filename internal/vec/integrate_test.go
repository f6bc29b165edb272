package vec_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/quartz-snn/quartz/internal/vec"
)

// scalarIntegrate is the reference: Integrate's contract as a plain loop.
// float32(dt*ic) rounds the product even where the compiler would fuse.
func scalarIntegrate(u, cur, row []float32, e []int32, dt, theta float32) int {
	for c, ic := range cur {
		un := u[c] + float32(dt*ic)
		if un >= theta && e[c] < 0 {
			return c
		}
		u[c] = un
		cur[c] = ic + row[c]
		row[c] = 0
	}
	return len(cur)
}

type lifState struct {
	u, cur, row []float32
	e           []int32
}

func (s lifState) clone() lifState {
	return lifState{
		append([]float32(nil), s.u...), append([]float32(nil), s.cur...),
		append([]float32(nil), s.row...), append([]int32(nil), s.e...),
	}
}

// diff returns a description of the first difference in bits, or "".
func (s lifState) diff(o lifState) string {
	for _, p := range []struct {
		name string
		a, b []float32
	}{{"u", s.u, o.u}, {"cur", s.cur, o.cur}, {"row", s.row, o.row}} {
		for i := range p.a {
			if math.Float32bits(p.a[i]) != math.Float32bits(p.b[i]) && !(isNaN(p.a[i]) && isNaN(p.b[i])) {
				return fmt.Sprintf("%s[%d] = %v, want %v", p.name, i, p.a[i], p.b[i])
			}
		}
	}
	for i := range s.e {
		if s.e[i] != o.e[i] {
			return fmt.Sprintf("e[%d] = %d, want %d", i, s.e[i], o.e[i])
		}
	}
	return ""
}

// lifValue is mostly a value near the threshold's scale: a third of the
// time on a grid of quarters (so that un = theta exactly happens), now and
// then anything randFloat draws.
func lifValue(rng *rand.Rand, scale float32) float32 {
	switch rng.IntN(10) {
	case 0:
		return randFloat(rng)
	case 1, 2, 3:
		return float32(rng.IntN(17)-8) / 4 * scale
	}
	return (rng.Float32()*2 - 1) * scale
}

func randState(rng *rand.Rand, n, off int) lifState {
	mk := func(scale float32) []float32 {
		x := make([]float32, off+n+3)
		for i := range x {
			x[i] = lifValue(rng, scale)
		}
		return x[off : off+n+rng.IntN(3)]
	}
	s := lifState{u: mk(2), cur: mk(1)[:n], row: mk(1)}
	s.e = make([]int32, n+rng.IntN(3))
	for i := range s.e {
		if rng.IntN(2) == 0 {
			s.e[i] = -1 - rng.Int32N(3)
		} else {
			s.e[i] = rng.Int32N(100)
		}
	}
	return s
}

// TestIntegrateExact compares one call of Integrate with the scalar loop,
// bit for bit, on every length 0..300: return value and all four slices,
// including the channels at and after a crossing, which must be untouched.
func TestIntegrateExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, mode := range []string{"default", "noAVX"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "noAVX" {
				defer vec.DisableAVX()()
			}
			stops := 0
			for n := 0; n <= 300; n++ {
				for _, off := range []int{0, 1, 5} {
					// theta from "every channel crosses" to "none does".
					for _, theta := range []float32{-1, 0.5, 2, 5, 1e30} {
						dt := float32(1 + rng.IntN(5))
						if rng.IntN(4) == 0 {
							dt = rng.Float32() * 8
						}
						s := randState(rng, n, off)
						want := s.clone()
						wc := scalarIntegrate(want.u, want.cur, want.row, want.e, dt, theta)
						gc := vec.Integrate(s.u, s.cur, s.row, s.e, dt, theta)
						if gc != wc {
							t.Fatalf("n=%d off=%d theta=%v dt=%v: returned %d, want %d", n, off, theta, dt, gc, wc)
						}
						if d := s.diff(want); d != "" {
							t.Fatalf("n=%d off=%d theta=%v dt=%v: %s differs", n, off, theta, dt, d)
						}
						if wc < n {
							stops++
						}
					}
				}
			}
			t.Logf("%d calls stopped at a crossing", stops)
		})
	}
}

// TestIntegrateDriver runs Integrate as the simulator does, handling each
// crossing and calling again on the rest, and compares the end state with
// the scalar loop's.
func TestIntegrateDriver(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	step := func(s lifState, dt, theta float32, integ func(u, cur, row []float32, e []int32, dt, theta float32) int) {
		n := len(s.cur)
		for c := 0; c < n; {
			c += integ(s.u[c:], s.cur[c:n], s.row[c:], s.e[c:], dt, theta)
			if c == n {
				break
			}
			ic := s.cur[c]
			s.u[c] += float32(dt * ic)
			s.cur[c] = ic + s.row[c]
			s.row[c] = 0
			s.e[c] = int32(1000 + c)
			c++
		}
	}
	for n := 0; n <= 300; n += 1 + n/16 {
		for _, theta := range []float32{0.5, 2, 5} {
			s := randState(rng, n, rng.IntN(4))
			want := s.clone()
			for it := 0; it < 4; it++ {
				dt := float32(1 + rng.IntN(3))
				step(s, dt, theta, vec.Integrate)
				step(want, dt, theta, scalarIntegrate)
				if d := s.diff(want); d != "" {
					t.Fatalf("n=%d theta=%v step %d: %s differs", n, theta, it, d)
				}
				for i := range s.row[:n] {
					s.row[i] = lifValue(rng, 1)
					want.row[i] = s.row[i]
				}
			}
		}
	}
}

func TestIntegrateShortPanics(t *testing.T) {
	n := 20
	f := make([]float32, n)
	e := make([]int32, n)
	for i, call := range []func(){
		func() { vec.Integrate(f[:n-1], f, f, e, 1, 1) },
		func() { vec.Integrate(f, f, f[:n-1], e, 1, 1) },
		func() { vec.Integrate(f, f, f, e[:n-1], 1, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d: no panic", i)
				}
			}()
			call()
		}()
	}
}
