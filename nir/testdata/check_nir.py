"""Independent check of NIR files written by quartz export, with h5py.

Reads each file the way nir.read does (every dataset of /node into a dict,
bytes decoded), checks that each node has exactly the fields its NIR type
takes, with the dtypes and shapes NIR expects, and runs NIR's shape
inference along the edges (Conv2d, SumPool2d and Flatten output rules;
Input/Output/neuron/Scale/Delay shapes from their parameters). Prints one
summary line per file; exits 1 on the first problem.
"""
import sys

import h5py
import numpy as np

FIELDS = {
    "Input": {"shape"},
    "Output": {"shape"},
    "Conv2d": {"weight", "bias", "stride", "padding", "dilation", "groups", "input_shape"},
    "Linear": {"weight"},
    "Affine": {"weight", "bias"},
    "SumPool2d": {"kernel_size", "stride", "padding"},
    "Flatten": {"start_dim", "end_dim", "input_type"},
    "I": {"r"},
    "IF": {"r", "v_threshold", "v_reset"},
    "Scale": {"scale"},
    "Delay": {"delay"},
}


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def todict(g):
    d = {}
    for k, v in g.items():
        if isinstance(v, h5py.Group):
            d[k] = todict(v)
        else:
            x = v[()]
            d[k] = x.decode("utf8") if isinstance(x, bytes) else x
    return d


def conv_out(shape, pad, dil, k, stride):
    return [int(np.floor((shape[i] + 2 * pad[i] - dil[i] * (k[i] - 1) - 1) / stride[i] + 1)) for i in range(2)]


def check(path):
    with h5py.File(path, "r") as f:
        version = f["version"][()].decode("utf8")
        g = todict(f["node"])
    if g["type"] != "NIRGraph":
        fail("graph type " + g["type"])
    edges = [(a.decode("utf8"), b.decode("utf8")) for a, b in g["edges"]]
    nodes = g["nodes"]
    types = {}
    for name, n in nodes.items():
        t = n["type"]
        types[t] = types.get(t, 0) + 1
        want = FIELDS.get(t)
        if want is None:
            fail(f"{name}: unknown type {t}")
        got = set(n) - {"type", "metadata"}
        if got != want:
            fail(f"{name} ({t}): fields {sorted(got)}, want {sorted(want)}")
        for k in got:
            v = n[k]
            if k in ("shape", "stride", "padding", "dilation", "kernel_size", "input_shape", "input_type", "groups", "start_dim", "end_dim"):
                if np.asarray(v).dtype != np.int64:
                    fail(f"{name}.{k}: dtype {np.asarray(v).dtype}, want int64")
            elif np.asarray(v).dtype != np.float32:
                fail(f"{name}.{k}: dtype {np.asarray(v).dtype}, want float32")
        for k, v in n.get("metadata", {}).items():
            if isinstance(v, dict):
                fail(f"{name}.metadata.{k}: nested group")
        if t in ("IF",):
            if not (n["r"].shape == n["v_threshold"].shape == n["v_reset"].shape):
                fail(f"{name}: parameter shapes differ")
    # NIR shape inference along the edges.
    out = {}
    inp = {}
    for name, n in nodes.items():
        t = n["type"]
        if t == "Input":
            out[name] = list(n["shape"])
        elif t in ("I", "IF"):
            inp[name] = out[name] = list(n["r"].shape)
        elif t == "Scale":
            inp[name] = out[name] = list(n["scale"].shape)
        elif t == "Delay":
            inp[name] = out[name] = list(n["delay"].shape)
        elif t == "Output":
            inp[name] = list(n["shape"])
        elif t in ("Linear", "Affine"):
            inp[name] = [n["weight"].shape[1]]
            out[name] = [n["weight"].shape[0]]
        elif t == "Conv2d":
            w = n["weight"]
            inp[name] = [w.shape[1] * n["groups"], *n["input_shape"]]
            out[name] = [w.shape[0], *conv_out(n["input_shape"], n["padding"], n["dilation"], w.shape[2:], n["stride"])]
        elif t == "Flatten":
            inp[name] = list(n["input_type"])
            if n["start_dim"] != 0 or n["end_dim"] != -1:
                fail(f"{name}: flatten dims")
            out[name] = [int(np.prod(n["input_type"]))]
    pending = list(edges)
    for _ in range(len(edges) + 1):
        rest = []
        for a, b in pending:
            if a not in nodes or b not in nodes:
                fail(f"edge {a}->{b}: unknown node")
            if a not in out:
                rest.append((a, b))
                continue
            if nodes[b]["type"] == "SumPool2d":
                n = nodes[b]
                inp[b] = out[a]
                out[b] = [out[a][0], *conv_out(out[a][1:], n["padding"], [1, 1], n["kernel_size"], n["stride"])]
            if [int(x) for x in inp[b]] != [int(x) for x in out[a]]:
                fail(f"edge {a}->{b}: type mismatch {out[a]} -> {inp[b]}")
        pending = rest
    if pending:
        fail(f"edges never reached: {pending}")
    summary = " ".join(f"{k}={types[k]}" for k in sorted(types))
    print(f"ok {path.split('/')[-1]} version={version} nodes={len(nodes)} edges={len(edges)} {summary}")


for p in sys.argv[1:]:
    check(p)
