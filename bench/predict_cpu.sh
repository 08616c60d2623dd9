#!/usr/bin/env bash
# `nsmckit predict` on all 50,000 NSMC test reviews with the reference export's int8 variant
# (bench/reference_bench.sh), local engine and --engine ray on a local Ray; rows/s and peak memory
# (/usr/bin/time: the local process; for Ray the driver only, actors are separate processes), then how many
# scored labels differ from load_classifier's predictions in the benchmark's batches (length-sorted, 32, over
# all rows). int8 quantizes activations per model call, so other batches can flip near-tie predictions:
# the "bench-batches" run scores with exactly the benchmark's batches.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${NSMC_DATA_DIR:-../shared/data/nsmc}
EXPORT=${EXPORT:-exports/reference}
OUT=bench/results/predict-cpu
SCRATCH=$(mktemp -d)
mkdir -p "$OUT"
run() {
    local name=$1; shift
    /usr/bin/time -f '%M %e' -o "$OUT/$name-time.txt" nsmckit predict "$EXPORT" --variant int8 \
        --input "$DATA/ratings_test.txt" --output "$SCRATCH/scored-$name.parquet" "$@" 2> "$OUT/$name-stderr.txt"
}
run local
run ray --engine ray
run bench-batches --batch-size 32 --chunk-rows 50000
python - "$EXPORT" "$DATA/ratings_test.txt" "$SCRATCH" "$OUT" <<'PY'
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from kit.data.nsmc import read_nsmc_file
from kit.runtime.classifiers import load_classifier

export, test_file, scratch, out = sys.argv[1:]
test = read_nsmc_file(test_file)
expected = load_classifier(export, "int8").predict_logits(test.texts, batch_size=32).argmax(-1)
lines = ["| run | rows | seconds | rows/s | peak RSS (MB) | labels differing from the bench's | ids in input order | accuracy |",
         "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
for engine in ("local", "ray", "bench-batches"):
    table = pq.read_table(Path(scratch) / f"scored-{engine}.parquet")
    labels = np.asarray(table["pred_label"])
    peak_kb, seconds = (float(v) for v in (Path(out) / f"{engine}-time.txt").read_text().split()[-2:])
    lines.append(
        f"| {engine} | {table.num_rows:,} | {seconds:.1f} | {table.num_rows / seconds:,.0f} | {peak_kb / 1024:,.0f} | "
        f"{int((labels != expected).sum())} | {table['id'].to_pylist() == test.ids} | "
        f"{float(np.mean(labels == test.labels)):.4f} |"
    )
(Path(out) / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
rm -rf "$SCRATCH"
