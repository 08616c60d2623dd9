#!/usr/bin/env bash
# S5: `nsmckit serve` on ONNX Runtime CUDA under load, concurrency 1-256, with dynamic batching and with
# --max-batch-size 1 (the variant: O4 if its export validation passed, else fp32). Every wait is bounded.
export STAGE=s5
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require_install
variant=$(python3 -c "import json, sys; v = {x['name']: x['valid'] for x in json.load(open(sys.argv[1]))['variants']}; \
print('$OPT' if v.get('$OPT') else 'fp32')" "$EXPORT/export.json")
port=8000
serve_and_load() {  # NAME FLAGS...
    local name=$1
    shift
    "${KIT[@]}" serve "$EXPORT" --variant "$variant" --provider "$PROVIDER" --host 127.0.0.1 --port $port \
        --no-access-log "$@" > "$RESULTS/serve-$name.log" 2>&1 &
    local server=$!
    if timeout 60 python3 bench/gpu/http_get.py "http://127.0.0.1:$port/health" --wait > /dev/null; then
        python3 bench/gpu/http_get.py "http://127.0.0.1:$port/info" > "$RESULTS/info-$name.json"
        step "loadtest-$name" 120 "${KIT[@]}" loadtest "http://127.0.0.1:$port" --concurrency "$CONCURRENCY" \
            --duration "$SECONDS_PER_LEVEL" --output "$RESULTS/loadtest-$name"
        python3 bench/gpu/http_get.py "http://127.0.0.1:$port/metrics" > "$RESULTS/metrics-$name.txt"
    else
        echo "== $STAGE: the server ($name) did not become healthy in 60 s"; failed=1
    fi
    kill -TERM "$server"; wait "$server" || true
}
serve_and_load dynamic --call-cost-tokens 2048
serve_and_load batch1 --max-batch-size 1
exit "$failed"
