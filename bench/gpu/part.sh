#!/usr/bin/env bash
# A part call: bash bench/gpu/part.sh aa   (carry: .gpu-bundle/part-aa and .gpu-bundle/SHA256SUMS)
# Keeps the part in the machine's scratch (GPU_WORK, /tmp/gpu) after checking its own sha256.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=part-${1:?which part: aa, ab, ...}
parts=${GPU_WORK:-/tmp/gpu}/parts
mkdir -p "$parts"
bundle=${GPU_BUNDLE:-.gpu-bundle}  # where fetch.sh put the parts (rehearse.sh: a scratch folder)
cp "$bundle/$name" "$bundle/SHA256SUMS" "$parts/"
(cd "$parts" && grep " $name\$" SHA256SUMS | sha256sum --check --quiet)
echo "$name: sha256 ok; parts here: $(cd "$parts" && ls part-* | tr '\n' ' ')"
