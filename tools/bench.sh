#!/usr/bin/env bash
# Runs the measurements behind docs/benchmarks.md. Run it on an otherwise
# idle machine; it takes about five minutes.
#
#   tools/bench.sh > bench.txt
set -euo pipefail
cd "$(dirname "$0")/.."
cpu() { grep -m1 "^$1" /proc/cpuinfo | cut -d: -f2 | xargs; }
echo "# $(date -u +%F) $(go version); CPU as /proc/cpuinfo reports it: $(cpu 'model name'), family $(cpu 'cpu family') model $(cpu 'model\s'), flags avx2=$(grep -qw avx2 /proc/cpuinfo && echo y || echo n) avx512f=$(grep -qw avx512f /proc/cpuinfo && echo y || echo n); $(nproc) cores"
go build -o /tmp/quartz-bench ./cmd/quartz
echo "## GEMM"
# go test splits -bench at every '/', so each family is its own run.
go test -run XXX -bench 'Sgemm/square/256' -benchtime 300ms -count 3 ./internal/gemm
go test -run XXX -bench 'Sgemm/lenet' -benchtime 300ms -count 3 ./internal/gemm
echo "## CNN engine"
go test -run XXX -bench 'Conv|LeNet' -benchmem -count 3 ./nn
echo "## SNN simulator"
go test -run XXX -bench 'LeNet' -benchmem -count 3 ./snn
echo "## End to end: training one LeNet-5 epoch (60k, batch 64, 2 workers)"
d=$(mktemp -d)
/usr/bin/time -f "%e s wall, %M kB max RSS" /tmp/quartz-bench train --model lenet5 --data mnist --epochs 1 --seed 1 --workers 2 -o "$d/l.onnx"
echo "## End to end: quartz eval on the 10k MNIST test set"
for t in 16 64; do
  /usr/bin/time -f "%e s wall, %M kB max RSS" /tmp/quartz-bench eval --model models/lenet5.onnx --data mnist --tmax $t --json > "$d/e$t.json"
  grep -E '"(seconds_ann|seconds_snn|snn_accuracy)"' "$d/e$t.json"
done
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "## Debian PyTorch"
  /usr/bin/python3 tools/bench_torch.py 1
  /usr/bin/python3 tools/bench_torch.py 2
fi
rm -rf "$d"
