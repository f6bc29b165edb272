#!/usr/bin/python3
"""Decode CIFAR-10 JPEG test images with PIL (libjpeg) into an .npz.

Run from the repository root with Debian's python3-pil and python3-numpy:

    /usr/bin/python3 tools/pil_cifar_npz.py ARCHIVE.tar.gz OUT.npz [N]

ARCHIVE is laid out as [top/]test/<class>/<file>.jpg (as
../shared/data/cifar10-jpeg/cifar10-jpeg-q75.tar.gz). The first N test
images (default all) are taken in quartz's order for image folders:
round-robin over the sorted class names, files sorted by name within a
class. Writes x (uint8 N×3×32×32, read by quartz as x/255 like its own
decoder's pixels) and y (int64 labels). Comparing `quartz eval --data
npz:OUT.npz` with `--data cifar10:ARCHIVE` shows what Go's JPEG decoder
changes (README, "Exactly your pipeline's pixels").
"""

import io
import sys
import tarfile

import numpy as np
from PIL import Image


def main():
    archive, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
    members = {}
    with tarfile.open(archive, "r:gz") as tf:
        for m in tf:
            parts = m.name.split("/")
            if not m.isfile() or "test" not in parts[:-2]:
                continue
            cls = parts[-2]
            members.setdefault(cls, {})[parts[-1]] = tf.extractfile(m).read()
    classes = sorted(members)
    files = {c: sorted(members[c]) for c in classes}
    order = []
    for i in range(max(len(f) for f in files.values())):
        for k, c in enumerate(classes):
            if i < len(files[c]):
                order.append((k, members[c][files[c][i]]))
    if limit:
        order = order[:limit]
    x = np.zeros((len(order), 3, 32, 32), dtype=np.uint8)
    y = np.zeros(len(order), dtype=np.int64)
    for i, (k, data) in enumerate(order):
        img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        x[i] = img.transpose(2, 0, 1)
        y[i] = k
    np.savez(out, x=x, y=y)
    print(f"wrote {out}: {len(order)} images, classes {classes}")


if __name__ == "__main__":
    main()
