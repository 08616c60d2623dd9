#!/usr/bin/env bash
# Image size and start-to-healthy time of the serving image with a real export mounted:
#   bash bench/container_start.sh EXPORT_DIR [IMAGE] [NSMC_SERVE_VARIANT]
# (defaults: localhost/nsmckit:cpu, the export's default variant). Uses podman (with docker/podman's settings)
# or docker, whichever docker/build.sh used. Prints one line per run of 3.
set -euo pipefail
cd "$(dirname "$0")/.."
export_dir=$(cd "$1" && pwd)
image=${2:-localhost/nsmckit:cpu}
variant=${3:-}
engine=podman
command -v podman >/dev/null || engine=docker
if [ "$engine" = podman ] && [ -z "${CONTAINERS_CONF:-}" ] && command -v runc >/dev/null; then
    export CONTAINERS_CONF=$PWD/docker/podman/containers.conf
fi
port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
echo "$image: $($engine image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')"
for run in 1 2 3; do
    start=$(date +%s%N)
    id=$($engine run -d -p "127.0.0.1:$port:8000" -v "$export_dir:/model:ro" \
        ${variant:+-e NSMC_SERVE_VARIANT=$variant} "$image" 2>/dev/null)
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]; do
        sleep 0.05
        (( $(date +%s%N) - start < 120000000000 )) || { echo "not healthy after 120 s" >&2; exit 1; }
    done
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "run $run: healthy $((ms / 1000)).$(( ms % 1000 / 100 )) s after \`$engine run\`"
    $engine rm -f "$id" >/dev/null 2>&1
done
