"""The train scenario: a fixed number of optimizer steps per precision x strategy x batch size through
`kit.train.finetune`: samples/s, real tokens/s and padding efficiency."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import asdict

from kit.bench.config import BenchConfig
from kit.bench.results import BenchResult, TrainCell
from kit.bench.subjects import check_lengths, default_backends
from kit.data.splits import SPLITS, Splits, load_splits
from kit.environment import environment
from kit.errors import KitError
from kit.runtime.registry import folder_backend, needs_export, parse_backend


def _train_data(config: BenchConfig) -> Splits:
    """The training data without a validation split, every split capped at `limit`."""
    return load_splits(dataclasses.replace(config.data, val_ratio=0.0, limit=config.limit), SPLITS)


def run(config: BenchConfig, progress=print, on_cell=None) -> BenchResult:
    """Fixed optimizer steps per strategy (`fixed` pads to max_length): samples/s, real tokens/s, padding
    efficiency."""
    from kit.train.finetune import FinetuneConfig, finetune

    specs = [parse_backend(b) for b in config.backends] or default_backends(None)
    check_lengths(config)
    if config.model is None:
        raise KitError("the train scenario needs --model (a model folder or hub id; --no-weights for random weights)")
    splits = _train_data(config)
    precisions = {spec.variant for spec in specs if not needs_export(spec)} or {"fp32"}  # training runs PyTorch
    bench = BenchResult(asdict(config) | {"backends": [spec.label for spec in specs]}, environment(), False, [])
    for precision in sorted(precisions):
        for strategy in config.strategies:
            for batch_size in config.batch_sizes:
                with tempfile.TemporaryDirectory() as tmp:
                    result = finetune(
                        FinetuneConfig(
                            model=config.model,
                            no_weights=config.no_weights,
                            config_overrides=config.config_overrides,
                            output_dir=tmp,
                            strategy=strategy,
                            max_length=config.max_length,
                            batch_size=batch_size,
                            max_steps=config.train_steps,
                            precision=precision,
                            evaluate_test=False,
                            save_model=False,
                            seed=config.seed,
                            data=config.data,
                        ),
                        splits,
                    )
                t = result.train
                cell = TrainCell(
                    backend=folder_backend(),
                    precision=t["precision"],
                    strategy=strategy,
                    max_length=config.max_length,
                    batch_size=batch_size,
                    rows=t["samples"],
                    samples_per_s=t["samples_per_s"],
                    real_tokens_per_s=t["real_tokens_per_s"],
                    padding_efficiency=t["padding_efficiency"],
                )
                bench.cells.append(cell)
                progress(
                    f"train {cell.label}: {cell.samples_per_s:,.2f} samples/s, "
                    f"padding efficiency {cell.padding_efficiency:.3f}"
                )
                if on_cell:
                    on_cell(bench)
    return bench
