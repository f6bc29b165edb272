#!/usr/bin/env bash
# Evaluates every model of ../shared/data/onnx-realworld with quartz eval
# (500 test images, Tmax 16, the manifest's preprocessing) at a few
# percentiles, and prints a Markdown table for docs/results.md: ANN and SNN
# accuracy at the default (--percentile auto, chosen on training samples)
# and at p 99 and at the best of the fixed percentiles tried (chosen on the
# same test images, so optimistic), and how far auto is from that best.
# Models that do not import or convert get one line saying why.
# Usage: tools/realworld_eval.sh [QUARTZ_BINARY] > table.md
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
q="${1:-$root/quartz}"
corpus="$root/../shared/data/onnx-realworld"
cifar="cifar10:$root/../shared/data/cifar10-jpeg/cifar10-jpeg-q75.tar.gz"
percentiles="99 99.9 99.99 100"
echo "| model | data | ANN % | SNN % (p 99) | best p | SNN % (best p) | drop (best p), pp | auto chose | SNN % (auto) | best − auto, pp |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
grep -v '^#' "$corpus/manifest.tsv" | while IFS=$'\t' read -r name data layout scale mean std extra; do
  case "$data" in
    mnist) spec=mnist ;;
    cifar10) spec="$cifar" ;;
    *) echo "| $name | $data | — | — | — | — | data set not available here | | | |"; continue ;;
  esac
  flags=()
  [ "$extra" != "-" ] && read -r -a flags <<<"$extra"
  [ "$layout" = pad32 ] && { echo "| $name | $data | — | — | — | — | input is MNIST padded to 32×32 (no such data set spec) | | | |"; continue; }
  best=""; bestacc=-1; ann=""; def=""
  for p in $percentiles; do
    out=$("$q" eval --model "$corpus/$name/model.onnx" --data "$spec" --limit 500 --tmax 16 --percentile "$p" --json "${flags[@]}" 2>/tmp/qerr) || {
      msg=$(tail -1 /tmp/qerr | sed 's/|/\\|/g' | cut -c1-160)
      echo "| $name | $data | — | — | — | — | does not convert: $msg | | | |"; continue 2; }
    read -r a s < <(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ann_accuracy"], d["snn_accuracy"])' <<<"$out")
    ann=$a
    [ "$p" = 99 ] && def=$s
    if python3 -c "import sys; sys.exit(0 if $s > $bestacc else 1)"; then best=$p; bestacc=$s; fi
  done
  drop=$(python3 -c "print(f'{$ann-$bestacc:.1f}')")
  out=$("$q" eval --model "$corpus/$name/model.onnx" --data "$spec" --limit 500 --tmax 16 --percentile auto --json "${flags[@]}" 2>/tmp/qerr) || {
    echo "| $name | $data | $ann | $def | $best | $bestacc | $drop | failed: $(tail -1 /tmp/qerr | cut -c1-100) | | |"; continue; }
  read -r chosen auto < <(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["percentile_auto"]["chosen"], d["snn_accuracy"])' <<<"$out")
  gap=$(python3 -c "print(f'{$bestacc-$auto:.1f}')")
  echo "| $name | $data | $ann | $def | $best | $bestacc | $drop | $chosen | $auto | $gap |"
done
