#!/usr/bin/env bash
# The kit's reference model: a small BERT trained from scratch on the full NSMC train split with the best
# CPU recipe so far (bench/results/finetune-small-cpu, run 8), so accuracy figures come from a model that
# has learned something (real klue/bert-base weights need the hub). Precision auto: fp32 on CPU (bf16 is only
# fast with AVX-512 BF16/AMX; PRECISION=bf16 there), bf16 on a GPU.
# Writes the model to runs/reference (ignored by git) and copies run.json + curves.png to bench/results/reference-model/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/reference}
nsmckit finetune --model "${NSMC_MODEL:-../shared/models/klue-bert-base}" --no-weights \
    --config-overrides num_hidden_layers=4,hidden_size=256,num_attention_heads=4,intermediate_size=1024,hidden_dropout_prob=0.2,attention_probs_dropout_prob=0.2 \
    --data-dir "${NSMC_DATA_DIR:-../shared/data/nsmc}" --val-ratio 0.02 --strategy bucketed --batch-size 64 \
    --eval-batch-size 256 --lr 5e-4 --epochs 1.55 --weight-decay 0.1 --label-smoothing 0.1 --warmup-ratio 0.05 \
    --eval-steps 1150 --precision "${PRECISION:-auto}" --output "$OUT" "$@"
mkdir -p bench/results/reference-model
cp "$OUT/run.json" bench/results/reference-model/
if [[ -f $OUT/curves.png ]]; then cp "$OUT/curves.png" bench/results/reference-model/; fi
