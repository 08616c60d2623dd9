#!/usr/bin/env bash
# The CPU's matrix units through OpenVINO (issue: OpenVINO backend), two runs on one machine:
#  1. speed: the klue/bert-base architecture (random weights: speed does not depend on them) exported with
#     ONNX Runtime's int8 and the OpenVINO variants, every runtime side by side on 1,024 NSMC test reviews,
#     length-sorted batches of 32, median of 3 passes -> bench/results/openvino-<isa>/speed/
#  2. accuracy: the reference model (bench/reference_model.sh) exported the same way, each approximate
#     variant judged on 2,000 labeled reviews at export, then all 50,000 test reviews through every variant
#     -> bench/results/openvino-<isa>/reference/
# Ratios are within one run only; the CPU's flags are in each results.json (OpenVINO's bf16 needs AMX or
# AVX-512 BF16: elsewhere ov-bf16 is skipped, with the reason). Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${NSMC_DATA_DIR:-../shared/data/nsmc}
MODEL=${NSMC_MODEL:-../shared/models/klue-bert-base}
ISA=$(python -c "from kit.export.onnx import cpu_isa; print(cpu_isa())")
OUT=bench/results/openvino-$ISA
mkdir -p "$OUT/speed" "$OUT/reference"

[[ -f exports/klue-random-ov/export.json ]] || nsmckit export --onnx "$MODEL" --no-weights --max-length 128 \
    --quantize int8 --openvino --label-rows 0 --data-dir "$DATA" --output exports/klue-random-ov --force || true
cp exports/klue-random-ov/export.json "$OUT/speed/"
nsmckit bench --export exports/klue-random-ov --strategies bucketed --batch-sizes 32 --limit 1024 --repeats 3 \
    --backends torch:fp32,torch:bf16,ort-cpu:fp32,ort-cpu:int8,openvino:fp32,openvino:ov-bf16,openvino:ov-int8 \
    --data-dir "$DATA" --output "$OUT/speed"

[[ -f exports/reference-ov/export.json ]] || nsmckit export --onnx runs/reference --quantize int8 --openvino \
    --data-dir "$DATA" --output exports/reference-ov --force
cp exports/reference-ov/export.json "$OUT/reference/"
nsmckit bench --export exports/reference-ov --strategies bucketed --batch-sizes 32 --all-rows \
    --backends ort-cpu:fp32,ort-cpu:int8,openvino:ov-bf16,openvino:ov-int8 --data-dir "$DATA" --output "$OUT/reference"

# What a user would write instead, end to end with tokenization, beside the kit's variants (same process).
python bench/peers_cpu.py exports/klue-random-ov --variants int8,ov-bf16,ov-int8 --rows 1024 --data-dir "$DATA" \
    --output "$OUT/speed/peers.json"
