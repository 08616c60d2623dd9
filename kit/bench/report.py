"""Benchmark results for people and machines: JSON, CSV, Markdown, PNG plots, a rich table,
and the ratios between two runs (`nsmckit bench compare`)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, fields
from pathlib import Path

from rich.table import Table

from kit.atomic import write_atomic
from kit.bench.results import BenchResult, Cell, GridCell, InferenceCell, LoadCell, TrainCell
from kit.errors import KitError
from kit.export.validation import format_points
from kit.records import read_record
from kit.tables import titled_table

LATENCY_KEYS = ("p50", "p90", "p99", "p999", "mean")
LEFT = ("model", "backend", "strategy", "status")  # text columns; the rest are figures


def csv_fields(result: BenchResult) -> list[str]:
    """The columns of results.csv: the fields of the result's cell types, latency spread into columns."""
    kinds = list(dict.fromkeys(type(c) for c in result.cells)) or [InferenceCell]
    names = dict.fromkeys(f.name for kind in kinds for f in fields(kind) if f.name != "latency_ms")
    return [*names, *(f"latency_{k}_ms" for k in LATENCY_KEYS)]


def _flat(cell: Cell) -> dict:
    row = {k: v for k, v in asdict(cell).items() if k != "latency_ms"}
    for name in ("accuracy_delta_ci95", "quarter_p99_ms", "errors", "per_class_f1"):  # lists, maps: one JSON cell
        if name in row:
            row[name] = json.dumps(row[name]) if row[name] is not None else None
    row.update({f"latency_{k}_ms": (cell.latency_ms or {}).get(k) for k in LATENCY_KEYS})
    return row


def _fmt(value, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _accuracy_delta(cell: Cell) -> str:
    """Accuracy minus torch fp32's on the same rows, in points, with the paired interval."""
    return "" if cell.accuracy_delta is None else format_points(cell.accuracy_delta, cell.accuracy_delta_ci95)


def _latency_columns():
    return [(f"{k} ms", lambda c, k=k: _fmt((c.latency_ms or {}).get(k), ".2f")) for k in ("p50", "p90", "p99")]


def _load(cell: LoadCell) -> str:
    """A load-test level: its clients (closed loop) or its offered rate (open loop)."""
    if cell.loop == "open":
        return f"{cell.offered_per_s:,.1f} req/s offered"
    return f"{cell.concurrency} clients"


def _columns(result: BenchResult) -> list[tuple[str, callable]]:
    if result.cells and all(isinstance(c, LoadCell) for c in result.cells):
        return [
            ("load", _load),
            ("texts/request", lambda c: str(c.texts_per_request)),
            ("ok requests", lambda c: f"{c.rows:,}"),
            ("achieved texts/s", lambda c: _fmt(c.samples_per_s, ",.1f")),
            *_latency_columns(),
            ("p99.9 ms", lambda c: _fmt((c.latency_ms or {}).get("p999"), ".2f")),
            ("p99 by quarter", lambda c: " ".join(f"{v:.0f}" for v in c.quarter_p99_ms or [])),
            ("errors", lambda c: ", ".join(f"{k}: {v}" for k, v in (c.errors or {}).items()) or "0"),
        ]
    accuracy = "accuracy" if result.accuracy_meaningful else "accuracy (random weights)"
    train = all(isinstance(c, TrainCell) for c in result.cells)
    several = any(getattr(c, "model", None) for c in result.cells)
    columns = [("model", lambda c: c.model or "")] if several else []
    columns += [
        ("backend", lambda c: f"{c.backend}:{c.precision}"),
        ("strategy", lambda c: c.strategy_label),
        ("batch", lambda c: str(c.batch_size)),
        ("samples/s", lambda c: _fmt(c.samples_per_s, ",.1f")),
        ("real tokens/s", lambda c: _fmt(c.real_tokens_per_s, ",.0f")),
        ("padding eff.", lambda c: _fmt(c.padding_efficiency, ".3f")),
    ]
    if not train:
        columns += _latency_columns()
        columns += [
            (accuracy, lambda c: _fmt(c.accuracy, ".4f")),
            ("agreement", lambda c: _fmt(c.agreement, ".2%")),
            ("Δ accuracy (95% CI)", _accuracy_delta),
            ("macro F1", lambda c: _fmt(getattr(c, "macro_f1", None), ".4f")),
            ("peak MB", lambda c: _fmt(c.peak_memory_mb, ",.0f")),
        ]
    columns.append(("status", lambda c: c.status if c.status == "ok" else f"skipped: {c.reason}"))
    return columns


def best_per_backend(result: BenchResult) -> set[int]:
    """Indices of the highest-throughput cell of each backend:precision (of each variant served, in a load test)."""
    best: dict[str, int] = {}
    for i, c in enumerate(result.cells):
        key = c.variant if isinstance(c, LoadCell) else c.series
        if c.status == "ok" and (key not in best or c.samples_per_s > result.cells[best[key]].samples_per_s):
            best[key] = i
    return set(best.values())


def _title(result: BenchResult) -> str:
    """Which command made the table: a load test, or the benchmark's inference or train grid."""
    scenarios = {c.scenario for c in result.cells}
    if scenarios == {"loadtest"}:
        return f"nsmckit loadtest {result.config.get('url')}: offered load, achieved throughput"
    what = "nsmckit bench --scenario train" if scenarios == {"train"} else "nsmckit bench"
    return f"{what} (best cell per backend in bold green)"


def rich_table(result: BenchResult) -> Table:
    table = titled_table(_title(result), caption=_labels_caption(result))
    columns = _columns(result)
    for name, _ in columns:
        table.add_column(name, justify="left" if name in LEFT else "right")
    best = best_per_backend(result)
    for i, cell in enumerate(result.cells):
        table.add_row(*(fn(cell) for _, fn in columns), style="bold green" if i in best else None)
    return table


def _labels_caption(result: BenchResult) -> str | None:
    """The labels accuracy was measured on, by name (each one's F1 is in results.json and .csv)."""
    labels = next((list(c.per_class_f1) for c in result.cells if getattr(c, "per_class_f1", None)), None)
    return f"labels: {', '.join(labels)} (F1 of each in results.json and results.csv)" if labels else None


def markdown(result: BenchResult) -> str:
    columns = _columns(result)
    best = best_per_backend(result)
    env = result.environment
    lines = [
        f"Device: {env.get('device')} ({env.get('cpu')}, {env.get('cpu_count')} cores, "
        f"flags: {' '.join(env.get('cpu_flags', [])) or 'unrecorded'}); "
        + ", ".join(f"{k} {v}" for k, v in env.get("libraries", {}).items())
        + f"; commit {env.get('git_commit')}",
        "",
        "| " + " | ".join(name for name, _ in columns) + " |",
        "| " + " | ".join("---" if name in LEFT else "---:" for name, _ in columns) + " |",
    ]
    for i, cell in enumerate(result.cells):
        values = [fn(cell) for _, fn in columns]
        if i in best:
            values = [f"**{v}**" if v else v for v in values]
        lines.append("| " + " | ".join(values) + " |")
    lines += ["", f"Command: `{env.get('command')}`"]
    return "\n".join(lines) + "\n"


def plot(result: BenchResult, folder: Path) -> list[Path]:
    """Throughput by strategy x backend per batch size; latency percentiles (inference only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ok = [c for c in result.cells if c.status == "ok" and isinstance(c, GridCell)]
    if not ok:
        return []
    backends = sorted({c.series for c in ok})
    strategies = list(dict.fromkeys(c.strategy_label for c in ok))
    batch_sizes = sorted({c.batch_size for c in ok})

    def cell(backend, strategy, batch):
        return next(
            (c for c in ok if c.series == backend and c.batch_size == batch and c.strategy_label == strategy), None
        )

    paths = []
    fig, axes = plt.subplots(1, len(batch_sizes), figsize=(5 * len(batch_sizes), 4.5), squeeze=False)
    width = 0.8 / len(backends)
    for ax, batch in zip(axes[0], batch_sizes):
        x = np.arange(len(strategies))
        for i, backend in enumerate(backends):
            values = [getattr(cell(backend, s, batch), "samples_per_s", 0) or 0 for s in strategies]
            ax.bar(x + i * width, values, width, label=backend)
        ax.set_xticks(x + width * (len(backends) - 1) / 2, strategies, rotation=20)
        ax.set_title(f"batch {batch}")
        ax.set_ylabel("samples/s (end to end)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Throughput by batching strategy and backend")
    fig.tight_layout()
    paths.append(folder / "throughput.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    timed = [c for c in ok if c.latency_ms]
    if timed:
        fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(timed)), 4.5))
        x = np.arange(len(timed))
        for k, marker in zip(("p50", "p90", "p99"), ("o", "s", "^")):
            ax.scatter(x, [c.latency_ms[k] for c in timed], marker=marker, label=k)
        ax.set_xticks(x, [c.label for c in timed], rotation=75, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("latency per batch (ms)")
        ax.legend()
        ax.set_title("Latency percentiles per cell")
        fig.tight_layout()
        paths.append(folder / "latency.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def write_records(result: BenchResult, folder: Path) -> list[Path]:
    """results.json and results.csv: cheap enough to rewrite after every cell."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "results.json", json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    rows = io.StringIO()
    writer = csv.DictWriter(rows, fieldnames=csv_fields(result))
    writer.writeheader()
    writer.writerows(_flat(c) for c in result.cells)
    write_atomic(folder / "results.csv", rows.getvalue())
    return [folder / "results.json", folder / "results.csv"]


def write_outputs(result: BenchResult, folder: Path) -> list[Path]:
    """Every output: the records, results.md and the plots."""
    paths = write_records(result, folder)
    (folder / "results.md").write_text(markdown(result))
    return [*paths, folder / "results.md", *plot(result, folder)]


def load(path: Path) -> BenchResult:
    """A results.json of `nsmckit bench` or `loadtest`, checked: anything else is a one-line error naming it."""
    record = read_record(Path(path), KitError, "give a results.json that nsmckit bench or loadtest wrote")
    try:
        result = BenchResult.from_dict(record)
        for cell in result.cells:
            if cell.status == "ok" and not (cell.samples_per_s and cell.samples_per_s > 0):
                raise ValueError(f"cell {cell.label} has no throughput")
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise KitError(f"{path}: not a results.json of nsmckit bench or loadtest ({type(e).__name__}: {e})") from e
    return result


def compare_table(a: BenchResult, b: BenchResult, name_a: str, name_b: str) -> Table:
    """B / A ratios of throughput and p50 latency for the cells both runs measured; two runs with no cell in
    common (a benchmark and a load test, other backends) are an error, not an empty table."""
    table = titled_table(f"{name_b} vs {name_a} (ratio B/A)")
    for column in ("cell", "A samples/s", "B samples/s", "throughput B/A", "p50 B/A"):
        table.add_column(column, justify="left" if column == "cell" else "right")
    index = {c.label: c for c in a.cells if c.status == "ok"}
    shared = [c for c in b.cells if c.status == "ok" and c.label in index]
    if not shared:
        kinds = {name: sorted({c.scenario for c in r.cells}) for name, r in ((name_a, a), (name_b, b))}
        raise KitError(
            f"{name_a} and {name_b} measured no cell in common (scenarios: "
            + "; ".join(f"{name} {', '.join(k) or 'none'}" for name, k in kinds.items())
            + ")"
        )
    for cell in shared:
        other = index[cell.label]
        p50 = ""
        if cell.latency_ms and other.latency_ms:
            p50 = f"{cell.latency_ms['p50'] / other.latency_ms['p50']:.2f}x"
        table.add_row(
            cell.label,
            f"{other.samples_per_s:,.1f}",
            f"{cell.samples_per_s:,.1f}",
            f"{cell.samples_per_s / other.samples_per_s:.2f}x",
            p50,
        )
    return table
