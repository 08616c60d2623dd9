# shellcheck shell=bash disable=SC2034  # sourced: the call scripts use these variables
# Sourced by every call of the GPU run (bench/gpu/c*.sh): where things are, the run's sizes, and `step`,
# which bounds each step and copies the call's results into $OUT after every step, so a call killed at any
# point (even with SIGKILL, which no trap sees) still returns every step that finished.
#   $OUT/<call>.log      every line, written as it comes (no tee to die with the call)
#   $OUT/<call>.tar.gz   <call>/: each step's results and steps.tsv (name, exit code, seconds)
# Standard output carries only the `==` lines (the device tool's output_tail). REHEARSAL=1 runs the same
# calls at toy size on a CPU (rehearse.sh), each step bound multiplied by STEP_SCALE.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

STAGE=${STAGE:?set by the call script}
GPU_WORK=${GPU_WORK:-/tmp/gpu}          # the machine's scratch: parts, the unpacked bundles, the export
GPU_SITE=${GPU_SITE:-/tmp/site}         # carried Python packages, ahead of the image's own
export GPU_BUNDLE=${GPU_BUNDLE:-.gpu-bundle}  # where the carried bundle files arrive (the repository copy)
OUT=${OUT:?the device tool sets OUT: the folder that comes back}
RESULTS=$GPU_WORK/results/$STAGE
mkdir -p "$RESULTS"
exec 3>&1 >>"$OUT/$STAGE.log" 2>&1

say() {
    echo "== $STAGE $*"
    echo "== $STAGE $*" >&3
}

save() {  # the call's results into $OUT in one rename: a kill mid-archive leaves the previous archive whole
    tar -C "$GPU_WORK/results" -czf "$OUT/.$STAGE.tar.gz.part" "$STAGE" \
        && mv -f "$OUT/.$STAGE.tar.gz.part" "$OUT/$STAGE.tar.gz"
}

failed=0
STEP_PID=
# step NAME SECONDS COMMAND...: at most SECONDS (times STEP_SCALE), the command and everything it started
# (timeout gives it its own process group: TERM to the group 5 s before the bound, KILL at it). A step that
# fails does not stop the call (the next may still measure); the call's exit code says so.
# bench/gpu/plan.py adds up these bounds into the call's timeout_s: keep SECONDS a number on this line.
step() {
    local name=$1 bound=$(($2 * ${STEP_SCALE:-1})) start=$SECONDS code=0
    shift 2
    say "$name (at most ${bound}s): $*"
    timeout --kill-after=5 "$((bound - 5))" "$@" &
    STEP_PID=$!
    wait "$STEP_PID" || code=$?
    STEP_PID=
    printf '%s\t%s\t%s\n' "$name" "$code" "$((SECONDS - start))" >> "$RESULTS/steps.tsv"
    save  # before the step's last line: a step said to be over is in $OUT
    if [ "$code" = 0 ]; then
        say "$name: ok in $((SECONDS - start))s"
    else
        failed=1
        say "$name: FAILED (exit $code$([ "$code" = 124 ] && echo ', out of time')) after $((SECONDS - start))s"
        tail -n 12 "$OUT/$STAGE.log" | grep -v '^== ' | sed 's/^/   /' >&3
    fi
}

# A TERM or INT to the call ends the running step's whole group first (timeout passes it on), then the call.
stop() {
    [ -n "$STEP_PID" ] && kill -TERM "$STEP_PID" 2>/dev/null && wait "$STEP_PID"
    exit 143
}
trap stop TERM INT
finish() {
    local code=$?
    save
    say "ended with exit code $code; $STAGE.tar.gz holds $(find "$RESULTS" -type f | wc -l) files"
}
trap finish EXIT

# require WHAT...: what earlier calls left on this machine; a machine given back (30 s idle) comes back bare.
require() {
    local what missing=()
    for what in "$@"; do
        case $what in
            a) [ -f "$GPU_SITE/.installed-a" ] || missing+=("bundle A (call c1)") ;;
            b) [ -f "$GPU_SITE/.installed-b" ] || missing+=("bundle B (call c4)") ;;
            export) [ -f "$EXPORT/export.json" ] || missing+=("the export (call c4)") ;;
        esac
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "this machine lacks ${missing[*]}: it is not the one the earlier calls ran on (given back after" \
            "30 s idle). Start again from c1, calls back to back (bench/gpu/README.md)."
        exit 3
    fi
}

DATA=$GPU_WORK/a/data
export NSMC_DATA_DIR=$DATA/nsmc
MODEL=$DATA/klue-bert-base
EXPORT=$GPU_WORK/export
export PYTHONPATH=$GPU_SITE:$PWD
# onnxruntime-gpu has no RUNPATH to CUDA: the image's CUDA and cuDNN wheels (there for torch) go on the
# loader's path, for the server that imports no torch.
NVIDIA_LIBS=$(python3 -c 'import glob, site; print(":".join(sorted(p for d in site.getsitepackages() for p in glob.glob(d + "/nvidia/*/lib"))))')
export LD_LIBRARY_PATH=$NVIDIA_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
KIT=(python3 -m kit.cli)  # nsmckit from this checkout (a function would not run under `timeout`)

if [ "${REHEARSAL:-0}" = 1 ]; then
    # The same calls on a CPU: a 2-layer klue architecture, a few hundred rows, ONNX Runtime on the CPU.
    ORT=ort-cpu OPT=O2 PROVIDER=cpu STEP_SCALE=${STEP_SCALE:-8}
    ARCH=(--no-weights --config-overrides "num_hidden_layers=2,hidden_size=64,intermediate_size=128,num_attention_heads=2")
    TRAIN_ROWS=300 TRAIN_STEPS=3 ROWS=300 LATENCY_ROWS=40 VALIDATION=(--validate-rows 64 --label-rows 64)
    LEVEL_S=1 DEVICE=()
else
    ORT=ort-cuda OPT=O4 PROVIDER=cuda
    ARCH=(--no-weights)  # klue/bert-base itself, random weights: speed does not depend on their values
    TRAIN_ROWS=4000 TRAIN_STEPS=30 ROWS=10000 LATENCY_ROWS=500 VALIDATION=(--validate-rows 256 --label-rows 1000)
    LEVEL_S=4 DEVICE=(--require-cuda)
fi
CONCURRENCY=1,64
export EXPORT PROVIDER OPT RESULTS LEVEL_S CONCURRENCY  # for serve_load.sh
