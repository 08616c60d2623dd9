#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool) after the onnxruntime-gpu parts were carried into /tmp/ort-parts.
# Installs the carried wheels, then measures training, inference and serving for the klue/bert-base
# architecture (random weights, real NSMC) and writes everything under $OUT/<device>-<date>/.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
cat /tmp/ort-parts/part-* > /tmp/ort-parts/$(awk '{print $2}' .whl-ort/SHA256SUMS)
(cd /tmp/ort-parts && sha256sum -c "$OLDPWD/.whl-ort/SHA256SUMS")
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/ort-parts/onnxruntime_gpu-*.whl
export PYTHONPATH=/tmp/site:$PWD NSMC_DATA_DIR=$PWD/.gpu-data MODEL=$PWD/.gpu-data/klue-bert-base
python3 -c "import onnxruntime as o, torch; print(o.get_available_providers(), torch.cuda.get_device_name(0))"

device=$(python3 -c "import torch; print(torch.cuda.get_device_name(0).split()[-1].lower())")
dest=$OUT/$device-$(date +%Y-%m-%d)
mkdir -p "$dest"
nsmckit() { python3 -m kit.cli "$@"; }

# 1. Training: samples/s per strategy and precision (the notebook: fixed-512 fp32 batch 8), then a real epoch.
nsmckit bench --scenario train --model "$MODEL" --no-weights --backends torch:fp32,torch:bf16 \
    --batch-sizes 32 --max-length 128 --train-steps 200 --limit 20000 --output "$dest/train" | tee "$dest/train.log"
nsmckit bench --scenario train --model "$MODEL" --no-weights --backends torch:fp32 \
    --batch-sizes 8 --max-length 512 --train-steps 100 --limit 5000 --output "$dest/train-notebook" | tee "$dest/train-notebook.log"
nsmckit finetune --model "$MODEL" --no-weights --epochs 1 --strategy bucketed --batch-size 64 \
    --pad-to-multiple-of 8 --output /tmp/ft --overwrite | tee "$dest/finetune.log"
cp /tmp/ft/run.json "$dest/finetune-run.json"

# 2. Inference on the full test split, torch and ort-cuda (IO binding), every strategy and batch size.
nsmckit export --onnx "$MODEL" --no-weights --optimize O4 --max-length 512 --output /tmp/export --force \
    | tee "$dest/export.log"
cp /tmp/export/export.json "$dest/export.json"
nsmckit bench --export /tmp/export --backends torch:fp32,torch:bf16,ort-cuda:fp32,ort-cuda:O4 \
    --batch-sizes 1,32,128,512 --fixed-lengths 128,512 --all-rows --output "$dest/inference" | tee "$dest/inference.log"

# 3. Serving with ort-cuda under load.
python3 -m kit.cli serve /tmp/export --variant O4 --host 127.0.0.1 --port 8000 > "$dest/serve.log" 2>&1 &
until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')" 2>/dev/null; do sleep 1; done
nsmckit loadtest http://127.0.0.1:8000 --concurrency 1,8,32,64,128,256 --duration 15 \
    --output "$dest/loadtest" | tee "$dest/loadtest.log"
kill %1
