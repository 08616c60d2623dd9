"""One Markdown table from the per-config folders `bench/serve_lib.sh` writes: throughput and latency from
the load test, model-call counters from the server's /metrics, CPU seconds the load generator used.

    python bench/serve_summary.py bench/results/serve-threads-cpu > bench/results/serve-threads-cpu/summary.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from kit.bench.report import load


def counters(path: Path) -> dict[str, float]:
    return {name: float(value) for name, value in (line.split() for line in path.read_text().splitlines())}


def bucket_quantile(m: dict[str, float], name: str, q: float) -> float:
    """Upper bound of the histogram bucket holding quantile q (server-side, Prometheus buckets)."""
    prefix = name + '_bucket{le="'
    buckets = sorted((float(k[len(prefix) :].rstrip('"}')), v) for k, v in m.items() if k.startswith(prefix))
    return next(le for le, count in buckets if count >= q * m[name + "_count"])


def row(folder: Path) -> str:
    cell = load(folder / "results.json").cells[0]
    m = counters(folder / "metrics.txt")
    user, system = map(float, (folder / "client-cpu.txt").read_text().split()[-2:])
    sequences, model_s = m["nsmc_batch_size_sum"], m["nsmc_batch_seconds_sum"]
    flags = (folder / "serve-flags.txt").read_text().split(":", 1)[1].strip()
    return (
        f"| {folder.name} | `{flags}` | {cell.samples_per_s:.1f} | {cell.latency_ms['p50']:.0f} | "
        f"{cell.latency_ms['p99']:.0f} | {sum((cell.errors or {}).values())} | "
        f"{sequences / m['nsmc_model_calls_total']:.1f} | {sequences / model_s:.1f} | "
        f"{(user + system) / cell.rows * 1e3:.2f} | {bucket_quantile(m, 'nsmc_request_seconds', 0.99):g} |"
    )


def main(root: Path) -> str:
    folders = sorted(p for p in root.iterdir() if (p / "results.json").is_file())
    header = (
        "| config | serve flags | texts/s | p50 ms | p99 ms | errors | sequences per model call "
        "| sequences per model-second | load-generator CPU ms per request | server-side p99 <= s |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    return "\n".join([header, *map(row, folders)]) + "\n"


if __name__ == "__main__":
    sys.stdout.write(main(Path(sys.argv[1])))
