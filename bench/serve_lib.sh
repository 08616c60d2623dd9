# Shared by the serving benchmarks: serve an export, load-test it, keep the numbers. Source it, then call
#   serve_and_loadtest OUTDIR [serve flags...] -- [loadtest flags...]
# OUTDIR gets the loadtest results, the server's /metrics batch and request-latency counters after the load
# (metrics.txt) and the load generator's CPU seconds (client-cpu.txt: user system), so a result says where the 2 cores went.
EXPORT=${EXPORT:-exports/klue-bert-base-random}
VARIANT=${VARIANT:-int8}
PORT=${PORT:-8123}
export NSMC_DATA_DIR=${NSMC_DATA_DIR:-../shared/data/nsmc}

serve_and_loadtest() {
    local out=$1; shift
    local serve_flags=() lt_flags=()
    while [[ $# -gt 0 && $1 != -- ]]; do serve_flags+=("$1"); shift; done
    shift
    lt_flags=("$@")
    mkdir -p "$out"
    nsmckit serve "$EXPORT" --variant "$VARIANT" --host 127.0.0.1 --port "$PORT" --no-access-log "${serve_flags[@]}" \
        > "/tmp/nsmckit-serve-$(basename "$out").log" 2>&1 &
    local pid=$!
    until curl -sf "http://127.0.0.1:$PORT/health" > /dev/null; do sleep 0.5; done
    /usr/bin/time -f '%U %S' -o "$out/client-cpu.txt" \
        nsmckit loadtest "http://127.0.0.1:$PORT" "${lt_flags[@]}" --output "$out"
    curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^nsmc_(batch_size|batch_seconds|model_calls|request_seconds)_(sum|count|total|bucket)' \
        > "$out/metrics.txt"
    echo "serve flags: ${serve_flags[*]:-(defaults)}" > "$out/serve-flags.txt"
    kill -TERM "$pid" && wait "$pid"
}
