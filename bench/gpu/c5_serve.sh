#!/usr/bin/env bash
# c5 (no carry; only if the lease has time left after c4): `nsmckit serve` on ONNX Runtime CUDA, dynamic
# batching vs --max-batch-size 1, closed loop at concurrency 1 and 64, then open loop at the closed-loop rate.
export STAGE=c5
# shellcheck source=bench/gpu/env.sh
source "$(dirname "$0")/env.sh"
require a b export
step serve-dynamic 35 bash bench/gpu/serve_load.sh dynamic --call-cost-tokens 2048
step serve-batch1 30 bash bench/gpu/serve_load.sh batch1 --max-batch-size 1
exit "$failed"
