#!/usr/bin/env bash
# The README's tour, from the quick run to a tuned configuration, each step timed (wall seconds and peak
# memory, GNU time) into OUTPUT/tour.tsv; every step's output in OUTPUT/<step>.log.
#
#   NSMC_DATA_DIR=../shared/data/nsmc NSMC_MODEL=../shared/models/klue-bert-base NSMC_NO_WEIGHTS=1 \
#       bash bench/tour.sh runs/tour
#
# BUSY=2 runs it beside two CPU-bound processes (`yes > /dev/null`), the loaded machine the README quotes too.
set -euo pipefail
out=${1:?usage: bench/tour.sh OUTPUT_FOLDER}
: "${NSMC_DATA_DIR:?set NSMC_DATA_DIR to the NSMC folder (the tour scores its test reviews)}"
port=${PORT:-8765}
mkdir -p "$out"
cd "$out"
hogs=()
for _ in $(seq "${BUSY:-0}"); do
    yes > /dev/null &
    hogs+=($!)
done
server=""
cleanup() {
    if [[ -n "$server" ]]; then pkill -TERM -P "$server" || true; fi
    for pid in "${hogs[@]}"; do kill "$pid"; done
}
trap cleanup EXIT

printf 'step\tseconds\tpeak_MB\n' > tour.tsv
step() {
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$name.time" "$@" > "$name.log" 2>&1
    read -r seconds kb < "$name.time"
    printf '%s\t%s\t%s\n' "$name" "$seconds" "$((kb / 1024))" >> tour.tsv
}

head -n 2001 "$NSMC_DATA_DIR/ratings_test.txt" > reviews.txt # 2,000 reviews with the release's header
step finetune nsmckit finetune --limit 500 --epochs 1 --output runs/quick
step export nsmckit export --onnx runs/quick --quantize int8 --openvino --output exports/quick
step bench nsmckit bench --export exports/quick --backends ort-cpu:fp32,ort-cpu:int8,openvino:ov-int8 \
    --strategies bucketed --batch-sizes 32 --limit 1000 --output runs/bench-quick
step predict nsmckit predict exports/quick --input reviews.txt --output scored.jsonl --variant int8

# serve: from start to /health 200, then one request; the server's own peak memory when it stops
/usr/bin/time -f "%e %M" -o serve.time nsmckit serve exports/quick --variant int8 --port "$port" > serve.log 2>&1 &
server=$!
start=$(date +%s.%N)
until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do sleep 0.2; done
healthy=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
curl -sf "http://127.0.0.1:$port/predict" -H 'content-type: application/json' \
    -d '{"text": "배우들 연기가 정말 좋았다"}' > request.json
step loadtest nsmckit loadtest "http://127.0.0.1:$port" --rate 10 --duration 10 --output runs/loadtest-quick
pkill -TERM -P "$server" # the server itself (GNU time, its parent, then writes its figures)
wait "$server"
server=""
read -r _ kb < serve.time
printf 'serve (to healthy)\t%s\t%s\n' "$healthy" "$((kb / 1024))" >> tour.tsv

step tune nsmckit tune exports/quick --p99-ms 1000 --mode offline --limit 256 --batch-sizes 8,32 --budget-s 180 \
    --output runs/tune-quick
du -sm runs/quick exports/quick | awk '{ printf "size of %s\t\t%s MB on disk\n", $2, $1 }' >> tour.tsv
cat tour.tsv
