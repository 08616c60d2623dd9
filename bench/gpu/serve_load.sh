#!/usr/bin/env bash
# One server under load (a step of c5): bash bench/gpu/serve_load.sh NAME SERVE_FLAGS...
# Starts `nsmckit serve` on the export (O4 if its validation passed, else fp32), waits until healthy, runs the
# closed loop at CONCURRENCY, then the open loop at the rate the closed loop achieved at its highest
# concurrency (queueing shows there), and always stops the server. /info and /metrics are kept when they
# answer; a failed one is said, not fatal. Uses what env.sh exports (EXPORT, PROVIDER, OPT, RESULTS, LEVEL_S).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
name=${1:?a name for this server: dynamic, batch1}
shift
url=http://127.0.0.1:8000
kit=(python3 -m kit.cli)
variant=$(python3 -c "import json, sys; v = {x['name']: x['valid'] for x in json.load(open(sys.argv[1]))['variants']}; \
print(sys.argv[2] if v.get(sys.argv[2]) else 'fp32')" "$EXPORT/export.json" "$OPT")
"${kit[@]}" serve "$EXPORT" --variant "$variant" --provider "$PROVIDER" --host 127.0.0.1 --port 8000 \
    --no-access-log "$@" > "$RESULTS/serve-$name.log" 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"' EXIT
keep() {  # PATH FILE: GET url/PATH into FILE, or say why not
    python3 bench/gpu/http_get.py "$url/$1" > "$RESULTS/$2" || echo "$name: GET /$1 failed (kept going)"
}
until python3 bench/gpu/http_get.py "$url/health" > /dev/null 2>&1; do
    kill -0 "$server" 2>/dev/null || { echo "$name: the server exited before it was healthy"; exit 1; }
    sleep 0.5
done
keep info "info-$name.json"
top=${CONCURRENCY##*,}
"${kit[@]}" loadtest "$url" --concurrency "$CONCURRENCY" --duration "$LEVEL_S" --output "$RESULTS/closed-$name" \
    || exit 1
rate=$(python3 -c "import json, sys; cells = json.load(open(sys.argv[1]))['cells']; \
print(next(c['samples_per_s'] for c in cells if c['concurrency'] == int(sys.argv[2])))" \
    "$RESULTS/closed-$name/results.json" "$top")
"${kit[@]}" loadtest "$url" --rate "$rate" --duration "$LEVEL_S" --output "$RESULTS/open-$name" || exit 1
keep metrics "metrics-$name.txt"
