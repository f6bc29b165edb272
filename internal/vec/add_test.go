package vec_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/quartz-snn/quartz/internal/vec"
	"golang.org/x/sys/cpu"
)

// scalarAdd is the reference: the plain loop that vec.Add replaces.
func scalarAdd(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// randFloat draws from a mix of magnitudes and signs: ordinary values,
// subnormals, huge values (whose sums overflow to ±Inf), exact zeros of
// both signs, and now and then Inf or NaN.
func randFloat(rng *rand.Rand) float32 {
	sign := float32(1)
	if rng.IntN(2) == 0 {
		sign = -1
	}
	switch rng.IntN(16) {
	case 0: // subnormal
		return sign * math.Float32frombits(1+rng.Uint32N(1<<23-1))
	case 1: // smallest normals and around them
		return sign * math.Float32frombits(1<<23+rng.Uint32N(1<<24))
	case 2: // huge
		return sign * math.MaxFloat32 * (0.5 + rng.Float32()/2)
	case 3:
		return sign * 0
	case 4:
		switch rng.IntN(4) {
		case 0:
			return float32(math.Inf(1))
		case 1:
			return float32(math.Inf(-1))
		case 2:
			return float32(math.NaN())
		default: // a NaN with another payload
			return math.Float32frombits(0x7fc00000 | rng.Uint32N(1<<22))
		}
	case 5: // any bit pattern
		return math.Float32frombits(rng.Uint32())
	default: // ordinary, over many binades
		return sign * rng.Float32() * float32(math.Ldexp(1, rng.IntN(40)-20))
	}
}

func isNaN(x float32) bool { return x != x }

type impl struct {
	name string
	add  func(dst, src []float32)
}

// impls are the ways to add: Add as built, Add as on a CPU without AVX
// (the assembly's jump to the Go loop), and the Go loop itself.
func impls() []impl {
	noAVX := func(dst, src []float32) {
		defer vec.DisableAVX()()
		vec.Add(dst, src)
	}
	return []impl{{"Add", vec.Add}, {"Add-noAVX", noAVX}, {"go", vec.AddGo}}
}

// TestAddExact checks, for every length 0..300 and several misalignments of
// dst and src, that Add gives bit for bit the scalar loop's result and
// leaves dst alone outside [0, len(src)).
func TestAddExact(t *testing.T) {
	t.Logf("Add uses AVX: %v", vec.UsesAVX())
	const pad = 8
	rng := rand.New(rand.NewPCG(1, 2))
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			fails, nanPairs := 0, 0
			for n := 0; n <= 300; n++ {
				for _, off := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {3, 5}, {7, 2}, {4, 4}} {
					// Extra elements past the end of dst: the room len(dst) > len(src) allows.
					extra := rng.IntN(3)
					dbuf := make([]float32, off[0]+n+extra+pad)
					sbuf := make([]float32, off[1]+n+pad)
					for i := range dbuf {
						dbuf[i] = randFloat(rng)
					}
					for i := range sbuf {
						sbuf[i] = randFloat(rng)
					}
					dst := dbuf[off[0] : off[0]+n+extra]
					src := sbuf[off[1] : off[1]+n]
					orig := append([]float32(nil), dbuf...)
					want := append([]float32(nil), dbuf...)
					scalarAdd(want[off[0]:off[0]+n], src)
					srcCopy := append([]float32(nil), sbuf...)

					im.add(dst, src)

					for i := range dbuf {
						g, w := dbuf[i], want[i]
						if math.Float32bits(g) == math.Float32bits(w) {
							continue
						}
						// Two NaN operands: either payload is a correct sum.
						j := i - off[0]
						if j >= 0 && j < n && isNaN(g) && isNaN(orig[i]) && isNaN(src[j]) {
							nanPairs++
							continue
						}
						t.Errorf("n=%d off=%v: dbuf[%d] = %#08x (%v), want %#08x (%v)",
							n, off, i, math.Float32bits(g), g, math.Float32bits(w), w)
						if fails++; fails > 10 {
							t.Fatal("too many failures")
						}
						break
					}
					for i := range sbuf {
						if math.Float32bits(sbuf[i]) != math.Float32bits(srcCopy[i]) {
							t.Fatalf("n=%d off=%v: src[%d] changed", n, off, i)
						}
					}
				}
			}
			t.Logf("%d sums of two NaNs differ from the scalar loop only in which NaN (allowed)", nanPairs)
		})
	}
}

// TestAddNaNOperands pins down the case TestAddExact lets through: both
// operands NaN gives a NaN.
func TestAddNaNOperands(t *testing.T) {
	for _, im := range impls() {
		for n := 1; n <= 40; n++ {
			dst := make([]float32, n)
			src := make([]float32, n)
			for i := range dst {
				dst[i] = math.Float32frombits(0x7fc00001)
				src[i] = math.Float32frombits(0xffc00002)
			}
			im.add(dst, src)
			for i, v := range dst {
				if !isNaN(v) {
					t.Fatalf("%s n=%d: dst[%d] = %v, want NaN", im.name, n, i, v)
				}
			}
		}
	}
}

func TestAddShortDstPanics(t *testing.T) {
	for _, im := range impls()[:2] {
		for _, c := range [][2]int{{0, 1}, {3, 4}, {31, 32}, {100, 300}} {
			t.Run(fmt.Sprintf("%s/%d<%d", im.name, c[0], c[1]), func(t *testing.T) {
				// Room in cap(dst) must not hide a short len(dst).
				dst := make([]float32, c[0], c[1]+8)
				src := make([]float32, c[1])
				defer func() {
					if recover() == nil {
						t.Fatal("no panic")
					}
				}()
				im.add(dst, src)
			})
		}
	}
}

// TestAVXSelected checks which implementation the build picked, so a build
// where the assembly silently went missing (or leaked into purego) fails.
func TestAVXSelected(t *testing.T) {
	want := runtime.GOARCH == "amd64" && !puregoBuild && cpu.X86.HasAVX
	if got := vec.UsesAVX(); got != want {
		t.Fatalf("Add uses AVX: %v; want %v", got, want)
	}
}

func TestAddAllocs(t *testing.T) {
	dst, src := make([]float32, 100), make([]float32, 100)
	if a := testing.AllocsPerRun(10, func() { vec.Add(dst, src) }); a != 0 {
		t.Fatalf("Add allocates %v times", a)
	}
}
