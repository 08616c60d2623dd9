#!/usr/bin/env bash
# Run HERE after the GPU calls: unpack the calls' archives and logs into bench/results/gpu-<h100|h200>-<date>/
# and print the README's rows (bench/gpu/summary.py).
#   bash bench/gpu/collect.sh [--output DIR] FOLDER...   (each FOLDER holds one call's files: cN.tar.gz, cN.log)
set -euo pipefail
cd "$(dirname "$0")/../.."
output=
if [ "${1:-}" = --output ]; then output=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: bash bench/gpu/collect.sh [--output DIR] FOLDER..." >&2; exit 2; }
staging=$(mktemp -d /tmp/nsmckit-collect.XXXXXX)
trap 'rm -rf "$staging"' EXIT
for folder in "$@"; do
    for archive in "$folder"/c*.tar.gz; do
        [ -e "$archive" ] || continue
        tar -C "$staging" -xzf "$archive"
        call=$(basename "$archive" .tar.gz)
        cp "$folder/$call.log" "$staging/$call/" 2>/dev/null || true
    done
done
[ -n "$(ls "$staging")" ] || { echo "no call archives (c*.tar.gz) in: $*" >&2; exit 1; }
if [ -z "$output" ]; then
    gpu=$(grep -oiE 'h100|h200|a100|l4' "$staging/c1/device.json" 2>/dev/null | head -1 | tr '[:upper:]' '[:lower:]')
    output=bench/results/gpu-${gpu:-unknown}-$(date +%Y-%m-%d)
fi
mkdir -p "$output"
cp -r "$staging"/. "$output"/
PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} python3 bench/gpu/summary.py "$output" | tee "$output/summary.md"
echo "collected into $output"
