#!/usr/bin/python3
"""Write the .npy/.npz fixtures of internal/npy and dataset with NumPy.

Run from the repository root with Debian's NumPy (python3-numpy):

    /usr/bin/python3 tools/make_npy_fixtures.py

It writes internal/npy/testdata/: arrays saved by numpy.save and
numpy.savez[_compressed], and beside each array NAME.npy the raw bytes of
its elements as NAME.bin (C order, little-endian), which the Go tests
compare with what they read, bit for bit. The values are fixed by a seed
and include -0.0, a subnormal, the largest float32 and an infinity.
"""

import os

import numpy as np

OUT = "internal/npy/testdata"


def raw(name, a):
    """Save a with numpy.save and its little-endian element bytes."""
    np.save(os.path.join(OUT, name + ".npy"), a)
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(21)
    x = rng.standard_normal((6, 1, 4, 4)).astype(np.float32)
    x.flat[0] = -0.0
    x.flat[1] = np.float32(1e-45)  # the smallest subnormal
    x.flat[2] = np.finfo(np.float32).max
    x.flat[3] = np.inf
    y = np.array([3, 1, 4, 1, 5, 9], dtype=np.int64)
    u8 = rng.integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)  # NHWC

    raw("f32_nchw", x)
    raw("i64_labels", y)
    raw("u8_nhwc", u8)
    raw("f64", rng.standard_normal((2, 3)))
    raw("f32_big", x.astype(">f4"))
    raw("i32_labels", y.astype(np.int32))
    raw("u8_labels", y.astype(np.uint8))
    raw("scalar", np.array(7.5, dtype=np.float32))
    # Format version 2.0 (4-byte header length).
    with open(os.path.join(OUT, "v2.npy"), "wb") as f:
        np.lib.format.write_array(f, x, version=(2, 0))

    np.savez(os.path.join(OUT, "xy.npz"), x=x, y=y)
    np.savez_compressed(os.path.join(OUT, "named.npz"), images=u8, labels=y.astype(np.int64))


if __name__ == "__main__":
    main()
