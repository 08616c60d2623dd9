"""What `nsmckit tune` found, for people and machines: the ranked table, tune.json, the latency-vs-throughput
plot with the front marked, and serve.env."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from rich.table import Table

from kit.atomic import write_atomic
from kit.tables import titled_table
from kit.tune.config import Trial, TuneConfig, TuneResult, describe

JSON, PLOT, SERVE_ENV = "tune.json", "tune.png", "serve.env"


def broken_constraints(trial: Trial, config: TuneConfig, load_only: bool = False) -> list[str]:
    """The constraints a trial breaks. `load_only`: those that say whether it held its load (errors, the
    latency budget), which is what the serve search's rate steps judge; the rest judge a configuration."""
    broken = []
    if trial.errors:
        broken.append(f"errors {trial.errors}")
    if trial.p99_ms > config.p99_ms:
        broken.append(f"p99 {trial.p99_ms:,.1f} ms > {config.p99_ms:g}")
    if load_only:
        return broken
    if config.min_throughput and trial.throughput < config.min_throughput:
        broken.append(f"{trial.throughput:,.1f} texts/s < {config.min_throughput:g}")
    if trial.accuracy_delta is not None and trial.accuracy_delta < -config.accuracy_tolerance:
        broken.append(f"accuracy {trial.accuracy_delta:+.2f} pt < -{config.accuracy_tolerance:g}")
    return broken


def judge(trial: Trial, config: TuneConfig, load_only: bool = False) -> Trial:
    """Mark a trial feasible, or say which constraint it breaks."""
    broken = broken_constraints(trial, config, load_only)
    trial.feasible, trial.why_not = not broken, "; ".join(broken) or None
    return trial


def row(trial: Trial) -> dict:
    keys = ("settings", "throughput", "p99_ms", "p50_ms", "offered", "accuracy_delta", "accuracy_source")
    return {key: getattr(trial, key) for key in keys} | {"feasible": trial.feasible, "why_not": trial.why_not}


def rank(rows: list[dict]) -> list[dict]:
    """Feasible rows by throughput, best first; then the rest by how close their p99 came."""
    feasible = sorted((r for r in rows if r["feasible"]), key=lambda r: -r["throughput"])
    return feasible + sorted((r for r in rows if not r["feasible"]), key=lambda r: r["p99_ms"])


def front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (throughput, p99) points no other point beats on both, by throughput."""
    best = []
    for throughput, p99 in sorted(points, key=lambda p: (-p[0], p[1])):
        if not best or p99 < best[-1][1]:
            best.append((throughput, p99))
    return best[::-1]


def ranked_table(result: TuneResult, top: int = 12) -> Table:
    """Serve rows name both rates of their best held trial: offered (what the schedule sent) and achieved."""
    serve = result.mode == "serve"
    table = titled_table(f"nsmckit tune ({result.mode}): best first; p99 budget {result.config['p99_ms']:g} ms")
    rates = ("offered req/s", "achieved texts/s") if serve else ("samples/s",)
    for column in ("#", "settings", *rates, "p50 ms", "p99 ms", "Δ accuracy", "verdict"):
        table.add_column(column, justify="left" if column in ("settings", "verdict") else "right")
    for i, r in enumerate(result.ranking[:top], 1):
        figures = (r["offered"], r["throughput"]) if serve else (r["throughput"],)
        accuracy = "" if r["accuracy_delta"] is None else f"{r['accuracy_delta']:+.2f} pt"
        verdict = "meets the budget" if r["feasible"] else r["why_not"]
        style = "bold green" if r is result.best else None
        table.add_row(
            str(i),
            describe(r["settings"]),
            *(f"{f:,.1f}" if f is not None else "" for f in figures),
            f"{r['p50_ms']:,.1f}",
            f"{r['p99_ms']:,.1f}",
            accuracy,
            verdict,
            style=style,
        )
    if len(result.ranking) > top:
        table.caption = f"{len(result.ranking) - top} more in {JSON}"
    return table


def plot(result: TuneResult, trials: list[Trial], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 5.5))
    groups: dict[str, list[Trial]] = {}
    for trial in trials:
        label = f"variant={trial.settings.get('variant')}" if result.mode == "offline" else describe(trial.settings)
        groups.setdefault(label, []).append(trial)
    # As many distinct colours as groups (the default cycle repeats after ten), markers alternating too.
    colours = plt.get_cmap("turbo")([i / max(1, len(groups) - 1) for i in range(len(groups))])
    for (label, group), colour, marker in zip(groups.items(), colours, itertools.cycle("osD^v")):
        group = sorted(group, key=lambda t: t.throughput)
        style = marker if result.mode == "offline" else marker + "-"
        points = ([t.throughput for t in group], [t.p99_ms for t in group])
        ax.plot(*points, style, color=colour, alpha=0.7, label=label, markersize=4)
    best = front([(t.throughput, t.p99_ms) for t in trials if not t.errors])
    ax.plot(*zip(*best), "k--", linewidth=1, label="front (no point is faster and lower)")
    ax.axhline(result.config["p99_ms"], color="red", linewidth=1, label=f"budget p99 {result.config['p99_ms']:g} ms")
    if result.best:
        ax.plot(result.best["throughput"], result.best["p99_ms"], "r*", markersize=16, label="chosen")
    ax.set_xlabel("texts/s")
    ax.set_ylabel("p99 latency, ms (log)")
    ax.set_yscale("log")
    ax.set_title(f"nsmckit tune ({result.mode}): latency vs throughput")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)  # beside, not over, the points
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(result: TuneResult, trials: list[Trial], folder: Path, env_lines: list[str] | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / JSON, folder / PLOT]
    write_atomic(folder / JSON, json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    if trials:
        plot(result, trials, folder / PLOT)
    else:
        written.remove(folder / PLOT)
    (folder / SERVE_ENV).unlink(missing_ok=True)  # an earlier run's choice must not outlive this run's result
    if env_lines:
        write_atomic(
            folder / SERVE_ENV,
            "# nsmckit tune's choice: nsmckit serve EXPORT --env-file serve.env, docker run --env-file serve.env,\n"
            "# kubectl create configmap nsmckit-serve --from-env-file=serve.env\n" + "\n".join(env_lines) + "\n",
        )
        written.append(folder / SERVE_ENV)
    return written
