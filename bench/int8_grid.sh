#!/usr/bin/env bash
# int8 chosen by measurement (issue: accuracy that means something). Exports the reference model
# (bench/reference_model.sh) with every int8 config Optimum offers here, judges each on 2,000 labeled
# NSMC test reviews at export, then measures accuracy and speed on 10,000 test reviews (length-sorted
# batches of 32, median of 3 passes). The CPU's flags go into results.json: int8 speed and accuracy depend on them.
set -euo pipefail
cd "$(dirname "$0")/.."
ISA=$(python -c "from kit.export.onnx import cpu_isa; print(cpu_isa())")
OUT=bench/results/int8-configs-$ISA
EXPORT=exports/reference-int8-grid
SCHEMES=(int8-u8u8 int8-u8u8-pc int8-u8s8 int8-u8s8-pc int8-u8s8-rr int8-u8s8-rr-pc)
[[ -f $EXPORT/export.json ]] || nsmckit export --onnx runs/reference --output "$EXPORT" --force --data-dir "${NSMC_DATA_DIR:-../shared/data/nsmc}" \
    $(printf -- '--quantize %s ' "${SCHEMES[@]}")
mkdir -p "$OUT"
cp "$EXPORT/export.json" "$OUT/"
nsmckit bench --export "$EXPORT" --backends "ort-cpu:fp32,$(printf 'ort-cpu:%s,' "${SCHEMES[@]}" | sed 's/,$//')" \
    --strategies bucketed --batch-sizes 32 --limit 10000 --repeats 3 --data-dir "${NSMC_DATA_DIR:-../shared/data/nsmc}" --output "$OUT"
