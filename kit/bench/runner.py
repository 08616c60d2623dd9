"""`nsmckit bench`: which batching strategy and runtime give the best throughput, at what latency, and does
accuracy change? The entry points: what is measured is prepared first (`kit.bench.subjects`), then the
scenario's module measures it (`inference`, `training`); a new scenario is one module and its cell type.

    from kit.bench.runner import run_bench
    from kit.bench.config import BenchConfig
    result = run_bench(BenchConfig(model="runs/nsmc", backends=("torch:fp32", "ort-cpu:int8"), batch_sizes=(32,)))
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from kit.bench import inference, training
from kit.bench.config import BenchConfig
from kit.bench.results import BenchResult
from kit.bench.subjects import prepare
from kit.environment import environment
from kit.errors import KitError
from kit.manifest import Export
from kit.settings import check_settings


def run_bench(
    config: BenchConfig,
    progress=print,
    on_cell: Callable[[BenchResult], None] | None = None,
    export: Export | None = None,
) -> BenchResult:
    """Every cell of the scenario's grid; `on_cell(result so far)` after each one, so a run cut off by a time
    limit still leaves what it measured (the CLI writes results.json/csv there). `export`: `config.export` as
    the caller already opened it."""
    check_settings(config)
    if config.scenario == "train":
        return training.run(config, progress, on_cell)
    if export is None and config.export:
        export = Export.open(config.export)
    with tempfile.TemporaryDirectory() as tmp:
        return inference.run(config, prepare(config, export, Path(tmp)), progress, on_cell)


def run_side_by_side(
    configs: list[BenchConfig],
    progress=print,
    on_cell: Callable[[BenchResult], None] | None = None,
    exports: list[Export | None] | None = None,
) -> BenchResult:
    """Several models or exports in one table (model x backend x strategy x batch size): each benched as
    `run_bench` benches it, on the test rows of its task's data (the same rows where they were trained on the
    same data, or where `--test-file` is given), each cell named by its model."""
    names = [c.name or c.export or c.model for c in configs]
    if len(set(names)) != len(names):
        raise KitError(f"a model is named twice ({', '.join(names)}): each one once")
    merged = BenchResult({"models": [asdict(c) for c in configs]}, environment(), True, [])
    for config, name, export in zip(configs, names, exports or [None] * len(configs)):
        done = list(merged.cells)

        def partial(result: BenchResult, done=done) -> None:
            merged.cells = done + result.cells
            if on_cell:
                on_cell(merged)

        result = run_bench(dataclasses.replace(config, name=name), progress, partial, export)
        merged.cells = done + result.cells
        merged.accuracy_meaningful = merged.accuracy_meaningful and result.accuracy_meaningful
    return merged
