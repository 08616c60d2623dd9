"""Offline tuning (file scoring, `nsmckit predict`): every variant x strategy x batch size timed on real texts
through `nsmckit bench`, each with its accuracy cost, judged against the budget.

The accuracy cost of a variant is the export's own judgement on labeled reviews (`export.json`) where it made
one, exact for variants whose logits match fp32, else the paired difference on the tuning sample's labels.
"""

from __future__ import annotations

import time

from kit.bench.config import BenchConfig
from kit.bench.report import write_records
from kit.bench.results import BenchResult
from kit.bench.runner import run_bench
from kit.errors import KitError
from kit.manifest import Export
from kit.runtime.backend import BackendOptions, BackendSpec
from kit.runtime.classifiers import load_backend
from kit.runtime.registry import backend_for, runs_on_device, variant_backend
from kit.tune.config import Trial, TuneConfig, output_folder


class _BudgetSpent(Exception):
    """Raised from the bench's per-cell callback once the time budget is spent."""


def runs_on(config: TuneConfig, export: Export) -> str:
    """Where the export's variants will run ("cuda" or "cpu"): the provider asked, as the backend that runs
    the export's fp32 (else its default) variant honours it."""
    if config.provider == "cpu":
        return "cpu"
    probe = "fp32" if "fp32" in export.variants else export.default_variant  # an export may lack fp32
    return load_backend(export, probe, BackendOptions(provider=config.provider)).runs_on


def candidate_variants(config: TuneConfig, export: Export, device: str) -> tuple[list[str], list[str]]:
    """The variants to try (fp32 first: the reference) and why others are left out."""
    variants = export.variants
    unknown = [name for name in config.variants if name not in variants]
    if unknown:
        raise KitError(f"{config.export}: no variant {', '.join(unknown)} (have: {', '.join(variants)})")
    left_out = []
    chosen = []
    for name, variant in variants.items():
        if config.variants and name not in config.variants and name != "fp32":
            continue
        if not variant["valid"]:
            left_out.append(f"{name}: failed its export validation")
        elif variant.get("provider") == "cuda" and device != "cuda":
            left_out.append(f"{name}: a GPU variant, and this run is on the CPU")
        elif not runs_on_device(variant_backend(variant), device):
            left_out.append(f"{name}: its backend ({variant_backend(variant)}) does not run on {device}")
        else:
            chosen.append(name)
    return sorted(chosen, key=lambda n: n != "fp32"), left_out


def accuracy_cost(variant: dict, cell_delta: float | None) -> tuple[float | None, str | None]:
    """(accuracy change in points, where it comes from) for a variant."""
    check = variant.get("validation", {})
    if check.get("on_logits"):  # labels say nothing about this model: its export judged it on logits
        return None, f"none measurable ({check['on_logits']})"
    if check.get("labeled"):
        labeled = check["labeled"]
        return labeled["difference"] * 100, f"export validation, {labeled['rows']:,} labeled reviews"
    if check.get("exact") and variant["valid"]:
        return 0.0, "exact: logits match fp32"
    if cell_delta is not None:
        return cell_delta * 100, "the tuning sample's labels"
    return None, None


def tune_offline(config: TuneConfig, export: Export, progress) -> tuple[list[Trial], list[str]]:
    """Trials (one per bench cell) and notes."""
    device = runs_on(config, export)
    variants, notes = candidate_variants(config, export, device)
    by_name = export.variants
    bench = BenchConfig(
        export=config.export,
        backends=tuple(BackendSpec(backend_for(by_name[v], device), v) for v in variants),
        strategies=config.strategies,
        fixed_lengths=(export.task.max_length,),
        max_length=export.task.max_length,
        batch_sizes=config.batch_sizes,
        limit=config.limit,
        texts=config.texts[: config.limit],
        data=config.data,
        warmup=2,
        seed=config.seed,
    )
    start, partial = time.monotonic(), []

    def keep(result: BenchResult) -> None:
        partial[:] = [result]
        if time.monotonic() - start > config.budget_s:
            raise _BudgetSpent

    try:
        result = run_bench(bench, progress, on_cell=keep, export=export)
    except _BudgetSpent:
        result = partial[0]
        notes.append(f"the {config.budget_s:g} s budget ran out after {len(result.cells)} configurations")
    write_records(result, output_folder(config) / "bench")  # the grid as `nsmckit bench` reports it
    trials = []
    for cell in result.cells:
        if cell.status != "ok":
            continue
        delta, source = accuracy_cost(by_name[cell.precision], cell.accuracy_delta)
        settings = {"variant": cell.precision, "strategy": cell.strategy_label, "batch_size": cell.batch_size}
        trials.append(
            Trial(
                settings,
                throughput=cell.samples_per_s,
                p99_ms=cell.latency_ms["p99"],
                p50_ms=cell.latency_ms["p50"],
                accuracy_delta=delta,
                accuracy_source=source,
            )
        )
    return trials, notes


def predict_command(config: TuneConfig, best: dict) -> str:
    """The `nsmckit predict` that scores files with the chosen configuration."""
    settings = best["settings"]
    command = (
        f"nsmckit predict {config.export} --input FILE --output OUT.parquet --variant {settings['variant']} "
        f"--batch-size {settings['batch_size']}"
    )
    if config.provider != "auto":
        command += f" --provider {config.provider}"
    if settings["strategy"] != "bucketed":
        command += f"  # predict batches length-sorted; {settings['strategy']} was measured for comparison"
    return command
