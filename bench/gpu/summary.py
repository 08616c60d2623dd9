"""The GPU run's figures as the README quotes them, with each target met or missed: python3 bench/gpu/summary.py DIR
(DIR: what bench/gpu/collect.sh unpacked: c1/ ... c5/). Prints Markdown; a call or step that did not run is
said, not guessed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kit.bench.report import load
from kit.bench.results import Cell

TARGETS = {  # issue "GPU figures on the H200"
    "bucketed bf16 training samples/s": (4_000, True),
    "best inference cell, samples/s end to end": (33_000, True),
    "batch-1 p50 ms, ORT CUDA O4": (1.0, False),
    "batch-1 p99 ms, ORT CUDA O4": (1.5, False),
    "dynamic / batch-1 serving at concurrency 64": (4.0, True),
}


def cells(root: Path, *runs: str) -> list[Cell]:
    """The measured cells of the bench runs CALL/RUN (results.json written after every cell)."""
    paths = [root / run / "results.json" for run in runs]
    return [c for path in paths if path.is_file() for c in load(path).cells if c.status == "ok"]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def verdict(name: str, value: float | None) -> str:
    if value is None:
        return f"- {name}: not measured"
    target, higher_is_better = TARGETS[name]
    met = value >= target if higher_is_better else value <= target
    bound = "≥" if higher_is_better else "≤"
    return f"- {name}: {value:,.2f} (target {bound} {target:,}) **{'met' if met else 'missed'}**"


def calls(root: Path) -> str:
    """Every step of every call, with its exit code and seconds: what ran, and the plan's bounds to revisit."""
    rows = []
    for call in sorted(root.glob("c*/steps.tsv")):
        for line in call.read_text().splitlines():
            name, code, seconds = line.split("\t")
            rows.append([call.parent.name, name, "ok" if code == "0" else f"exit {code}", seconds])
    return table(["call", "step", "result", "seconds"], rows) if rows else "no call recorded its steps"


def device(root: Path) -> str:
    """c1's reading of the device, and every library version the calls ran with (c1's torch, c4's ORT)."""
    path = root / "c1" / "device.json"
    text = f"`{json.dumps(json.loads(path.read_text()))}`" if path.is_file() else "c1/device.json missing"
    libraries: dict[str, str] = {}
    for run in sorted(root.glob("c*/*/results.json")):
        libraries |= json.loads(run.read_text())["environment"].get("libraries", {})
    return text + (f"\n\nLibraries: `{json.dumps(libraries)}`" if libraries else "")


def training(root: Path) -> tuple[str, float | None]:
    found = cells(root, "c1/train", "c2/train-notebook")
    rows = [
        [
            f"{c.precision} {c.strategy_label}",
            str(c.batch_size),
            f"{c.samples_per_s:,.0f}",
            f"{c.padding_efficiency:.3f}",
        ]
        for c in found
    ]
    bucketed = [c.samples_per_s for c in found if c.strategy == "bucketed" and c.precision == "bf16"]
    return table(["training", "batch", "samples/s", "padding eff."], rows), max(bucketed, default=None)


def inference(root: Path) -> tuple[str, float | None]:
    grid = cells(root, "c1/inference", "c3/inference-bf16", "c4/inference")
    if not grid:
        return "no inference results (calls c1, c3, c4)", None
    strategies = ("fixed-128", "fixed-512", "dynamic", "bucketed")
    rows = []
    for backend in dict.fromkeys(f"{c.backend}:{c.precision}" for c in grid):
        mine = [c for c in grid if f"{c.backend}:{c.precision}" == backend]
        best = {
            s: max((c for c in mine if c.strategy_label == s), key=lambda c: c.samples_per_s, default=None)
            for s in strategies
        }
        speed = {s: c.samples_per_s if c else None for s, c in best.items()}
        ratio = speed["bucketed"] / speed["fixed-128"] if speed["bucketed"] and speed["fixed-128"] else None
        rows.append(
            [
                backend,
                *(f"{speed[s]:,.0f} (b{best[s].batch_size})" if best[s] else "" for s in strategies),
                f"{ratio:.1f}x" if ratio else "",
                ", ".join(sorted({c.runs_on or "?" for c in mine})),
                ", ".join(sorted({str(c.tf32) for c in mine})),
            ]
        )
    top = max(grid, key=lambda c: c.samples_per_s)
    text = table(["backend", *strategies, "bucketed / fixed-128", "ran on", "TF32"], rows)
    return (
        f"{text}\n\nBest cell: {top.label}, {top.samples_per_s:,.0f} samples/s (tokenization included).",
        top.samples_per_s,
    )


def latency(root: Path) -> tuple[str, Cell | None]:
    found = cells(root, "c1/latency", "c4/latency")
    rows = [
        [f"{c.backend}:{c.precision}", f"{c.latency_ms['p50']:.2f}", f"{c.latency_ms['p99']:.2f}", str(c.rows)]
        for c in found
    ]
    o4 = next((c for c in found if c.backend == "ort-cuda" and c.precision == "O4"), None)
    return table(["backend", "batch-1 p50 ms", "batch-1 p99 ms", "rows"], rows), o4


def export(root: Path) -> str:
    path = root / "c4" / "export.json"
    if not path.is_file():
        return "no export.json (call c4)"
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


def serving(root: Path) -> tuple[str, float | None]:
    rows, at64 = [], {}
    for name in ("dynamic", "batch1"):
        for c in cells(root, f"c5/closed-{name}") + cells(root, f"c5/open-{name}"):
            load_label = (
                f"{c.concurrency} clients" if c.concurrency else f"open loop, {c.offered_per_s:,.1f} req/s offered"
            )
            rows.append(
                [name, load_label, f"{c.samples_per_s:,.0f}", f"{c.latency_ms['p50']:.1f} / {c.latency_ms['p99']:.1f}"]
            )
            if c.concurrency == 64:
                at64[name] = c.samples_per_s
    ratio = at64["dynamic"] / at64["batch1"] if len(at64) == 2 and at64["batch1"] else None
    text = (
        table(["server", "load", "achieved texts/s", "p50 / p99 ms"], rows) if rows else "no serving results (call c5)"
    )
    return text, ratio


def main(root: Path) -> None:
    training_md, bucketed = training(root)
    inference_md, best = inference(root)
    latency_md, o4 = latency(root)
    serving_md, ratio = serving(root)
    print("# GPU figures\n")
    for title, text in (
        ("Device and versions", device(root)),
        ("Calls and steps", calls(root)),
        ("Training (klue/bert-base architecture, random weights)", training_md),
        ("Inference, NSMC test reviews", inference_md),
        (
            "Batch-1 latency per model call (torch: CUDA events around the forward; ONNX Runtime: the IO-bound "
            "run to synchronized outputs, host launch included; tokenization and padding not)",
            latency_md,
        ),
        ("Export (O4 validated on CUDA)", export(root)),
        ("Serving (load generator on the same machine)", serving_md),
    ):
        print(f"## {title}\n\n{text}\n")
    print("## Targets\n")
    print(verdict("bucketed bf16 training samples/s", bucketed))
    print(verdict("best inference cell, samples/s end to end", best))
    print(verdict("batch-1 p50 ms, ORT CUDA O4", o4.latency_ms["p50"] if o4 else None))
    print(verdict("batch-1 p99 ms, ORT CUDA O4", o4.latency_ms["p99"] if o4 else None))
    print(verdict("dynamic / batch-1 serving at concurrency 64", ratio))


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit(
            f"usage: python bench/gpu/summary.py RESULTS_FOLDER (a folder of the plan's results; got {sys.argv[1:]})"
        )
    main(Path(sys.argv[1]))
