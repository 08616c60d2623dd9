"""The GPU run's figures as the README quotes them, with each target met or missed: python3 bench/gpu/summary.py DIR
(DIR: what bench/gpu/collect.sh unpacked: s1/ ... s5/). Prints Markdown; a missing stage is said, not guessed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kit.bench.report import load
from kit.bench.results import Cell

TARGETS = {
    "best cell, samples/s end to end (50k rows)": 33_000,
    "batch-1 p50 ms, ORT CUDA O4": 1.5,
    "batch-1 p99 ms, ORT CUDA O4": 3.0,
    "bucketed bf16 training samples/s": 4_000,
    "dynamic / batch-1 serving at concurrency 64": 4.0,
}


def cells(folder: Path) -> list[Cell]:
    return [c for path in sorted(folder.glob("*/results.json")) for c in load(path).cells if c.status == "ok"]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def verdict(name: str, value: float | None, higher_is_better: bool = True) -> str:
    if value is None:
        return f"- {name}: not measured"
    target = TARGETS[name]
    met = value >= target if higher_is_better else value <= target
    bound = "≥" if higher_is_better else "≤"
    return f"- {name}: {value:,.2f} (target {bound} {target:,}) **{'met' if met else 'missed'}**"


def inference(root: Path) -> tuple[str, float | None]:
    grid = cells(root / "s2") + [c for c in cells(root / "s3") if c.max_length == 128 and c.batch_size > 1]
    if not grid:
        return "inference: no results (stages s2/s3 missing)", None
    backends = sorted({f"{c.backend}:{c.precision}" for c in grid})
    rows = []
    for backend in backends:
        mine = [c for c in grid if f"{c.backend}:{c.precision}" == backend]
        best = {
            s: max((c for c in mine if c.strategy_label == s), key=lambda c: c.samples_per_s, default=None)
            for s in ("fixed-128", "dynamic", "sorted")
        }
        speed = {s: (c.samples_per_s if c else None) for s, c in best.items()}
        ratio = speed["sorted"] / speed["fixed-128"] if speed["sorted"] and speed["fixed-128"] else None
        tf32 = {c.tf32 for c in mine}
        rows.append(
            [
                backend,
                *(f"{v:,.0f} (b{best[s].batch_size})" if v else "" for s, v in speed.items()),
                f"{ratio:.1f}x" if ratio else "",
                ", ".join(sorted({c.runs_on or "?" for c in mine})),
                str(tf32.pop()) if len(tf32) == 1 else str(sorted(tf32, key=str)),
            ]
        )
    best = max(grid, key=lambda c: c.samples_per_s)
    text = table(["backend", "fixed-128", "dynamic", "sorted", "sorted / fixed-128", "ran on", "TF32"], rows)
    text += f"\n\nBest cell: {best.label}, {best.samples_per_s:,.0f} samples/s (tokenization included)."
    return text, best.samples_per_s


def latency(root: Path) -> tuple[str, dict]:
    found = cells(root / "s3")
    batch1 = [c for c in found if c.batch_size == 1]
    fixed512 = [c for c in found if c.strategy == "fixed" and c.max_length == 512]
    rows = [
        [
            f"{c.backend}:{c.precision}",
            f"{c.latency_ms['p50']:.2f}",
            f"{c.latency_ms['p99']:.2f}",
            next(
                (f"{f.samples_per_s:,.0f}" for f in fixed512 if f.backend == c.backend and f.precision == c.precision),
                "",
            ),
        ]
        for c in batch1
    ]
    o4 = next((c for c in batch1 if c.backend == "ort-cuda" and c.precision == "O4"), None)
    figures = {"p50": o4.latency_ms["p50"] if o4 else None, "p99": o4.latency_ms["p99"] if o4 else None}
    return table(["backend", "batch-1 p50 ms", "batch-1 p99 ms", "fixed-512 b32 samples/s"], rows), figures


def export(root: Path) -> str:
    path = root / "s1" / "export.json"
    if not path.is_file():
        return "export: no export.json (stage s1 missing)"
    rows = []
    for v in json.loads(path.read_text())["variants"]:
        check = v["validation"]
        labeled = check.get("labeled") or {}
        rows.append(
            [
                v["name"],
                f"{check['agreement']:.2%}",
                f"{check['max_abs_diff']:.2e}",
                f"{labeled['difference'] * 100:+.2f} pt" if labeled else "",
                ", ".join(check.get("providers", [])),
                "valid" if v["valid"] else "invalid",
            ]
        )
    return table(["variant", "agreement", "max |Δlogit|", "Δ accuracy", "session providers", ""], rows)


def training(root: Path) -> tuple[str, float | None]:
    found = cells(root / "s4")
    rows = [
        [
            f"{c.precision} {c.strategy_label if c.strategy != 'fixed' else 'fixed-' + str(c.max_length)}",
            str(c.batch_size),
            f"{c.samples_per_s:,.0f}",
            f"{c.padding_efficiency:.3f}",
        ]
        for c in found
    ]
    text = table(["training", "batch", "samples/s", "padding eff."], rows)
    run = root / "s4" / "run.json"
    if run.is_file():
        record = json.loads(run.read_text())
        t = record["train"]
        text += (
            f"\n\nOne epoch (`nsmckit finetune --no-weights`, bucketed, {t.get('precision')}): "
            f"{t['samples_per_s']:,.0f} samples/s, {t['wall_s']:,.0f} s, test accuracy "
            f"{record['test'].get('accuracy', float('nan')):.4f} (random weights)."
        )
    bucketed = [c.samples_per_s for c in found if c.strategy == "bucketed" and c.precision == "bf16"]
    return text, max(bucketed) if bucketed else None


def serving(root: Path) -> tuple[str, float | None]:
    levels = {}
    for name in ("dynamic", "batch1"):
        path = root / "s5" / f"loadtest-{name}" / "results.json"
        levels[name] = {c.concurrency: c for c in load(path).cells} if path.is_file() else {}
    rows = []
    for concurrency in sorted(set(levels["dynamic"]) | set(levels["batch1"])):
        row = [str(concurrency)]
        for name in ("dynamic", "batch1"):
            c = levels[name].get(concurrency)
            p = (c.latency_ms or {}) if c else {}
            row += [
                f"{c.samples_per_s:,.0f}" if c else "",
                f"{p.get('p50', 0):.1f} / {p.get('p99', 0):.1f}" if p else "",
            ]
        rows.append(row)
    at64 = [levels[n].get(64) for n in ("dynamic", "batch1")]
    ratio = at64[0].samples_per_s / at64[1].samples_per_s if all(at64) and at64[1].samples_per_s else None
    header = ["concurrency", "dynamic texts/s", "dynamic p50 / p99 ms", "batch-1 texts/s", "batch-1 p50 / p99 ms"]
    return table(header, rows), ratio


def main(root: Path) -> None:
    gpu = (root / "s1" / "gpu.csv").read_text().strip().splitlines()[-1] if (root / "s1" / "gpu.csv").is_file() else "?"
    inference_md, best = inference(root)
    latency_md, p = latency(root)
    training_md, bucketed = training(root)
    serving_md, ratio = serving(root)
    print(f"# GPU figures: {gpu}\n")
    for title, text in (
        ("Export", export(root)),
        ("Inference, all test reviews", inference_md),
        ("Latency, a few thousand reviews", latency_md),
        ("Training", training_md),
        ("Serving (load generator on the same machine)", serving_md),
    ):
        print(f"## {title}\n\n{text}\n")
    print("## Targets\n")
    print(verdict("best cell, samples/s end to end (50k rows)", best))
    print(verdict("batch-1 p50 ms, ORT CUDA O4", p["p50"], higher_is_better=False))
    print(verdict("batch-1 p99 ms, ORT CUDA O4", p["p99"], higher_is_better=False))
    print(verdict("bucketed bf16 training samples/s", bucketed))
    print(verdict("dynamic / batch-1 serving at concurrency 64", ratio))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
