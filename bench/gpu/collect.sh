#!/usr/bin/env bash
# Run HERE after the GPU calls: unpack the stages' archives and logs into bench/results/gpu-<h100|h200>-<date>/
# and print the README's rows (bench/gpu/summary.py).
#   bash bench/gpu/collect.sh [--output DIR] FOLDER...   (each FOLDER holds a call's files: sN.tar.gz, sN.log)
set -euo pipefail
cd "$(dirname "$0")/../.."
output=
if [ "${1:-}" = --output ]; then output=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: bash bench/gpu/collect.sh [--output DIR] FOLDER..." >&2; exit 2; }
staging=$(mktemp -d /tmp/nsmckit-collect.XXXXXX)
trap 'rm -rf "$staging"' EXIT
for folder in "$@"; do
    for archive in "$folder"/s*.tar.gz; do
        [ -e "$archive" ] || continue
        tar -C "$staging" -xzf "$archive"
        stage=$(basename "$archive" .tar.gz)
        cp "$folder/$stage.log" "$staging/$stage/" 2>/dev/null || true
    done
done
[ -n "$(ls "$staging")" ] || { echo "no stage archives (s*.tar.gz) in: $*" >&2; exit 1; }
if [ -z "$output" ]; then
    gpu=$(head -2 "$staging/s1/gpu.csv" 2>/dev/null | tail -1 | grep -oiE 'h100|h200|a100|l4' | head -1 | tr '[:upper:]' '[:lower:]')
    output=bench/results/gpu-${gpu:-unknown}-$(date +%Y-%m-%d)
fi
mkdir -p "$output"
cp -r "$staging"/. "$output"/
PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} python3 bench/gpu/summary.py "$output" | tee "$output/summary.md"
echo "collected into $output"
