"""What `nsmckit bench` is asked: the model or export, the backends, the grid (strategy x length x batch size),
the data and the scenario.

    BenchConfig(export="exports/nsmc", strategies=("bucketed",), batch_sizes=(32,))
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kit.batching import STRATEGIES
from kit.data.splits import DataConfig
from kit.runtime.backend import BackendSpec
from kit.runtime.hf import model_setting, no_weights_setting, overrides_setting
from kit.settings import setting

SCENARIOS = ("inference", "train")  # `nsmckit loadtest` writes scenario "loadtest" cells


@dataclass
class BenchConfig:
    model: str | None = model_setting(
        None, "Torch source: finetune folder, local folder or hub id.  [default: the export's source]"
    )
    export: str | None = setting(None, "Export folder for the ort-* backends.  [default: export --model on the fly]")
    no_weights: bool = no_weights_setting()
    config_overrides: str | None = overrides_setting()
    scenario: str = setting(
        "inference", "inference: evaluate the test split; train: fixed optimizer steps per strategy.", choices=SCENARIOS
    )
    backends: tuple[str | BackendSpec, ...] = setting(
        (),
        "Comma-separated BACKEND:VARIANT. torch:fp32|bf16|fp16, ort-cpu:fp32|O1-O3|int8[-scheme], "
        "ort-cuda:fp32|O1-O4, openvino:fp32|ov-bf16|ov-int8 (an export's variants). Unavailable ones are "
        "reported as skipped.  [default: with --export, torch:fp32 and every variant of the export that its "
        "validation did not find invalid and that can run here; else torch:fp32,ort-cpu:fp32]",
    )
    strategies: tuple[str, ...] = setting(
        STRATEGIES,
        "fixed: pad to each --fixed-lengths; dynamic: dataset order, pad to batch max; "
        "bucketed: length-sorted batches (results restored to the original order).",
        choices=STRATEGIES,
    )
    fixed_lengths: tuple[int, ...] = setting((128, 512), "Pad lengths for the fixed strategy.", min=2)
    max_length: int = setting(128, "Truncation for dynamic/bucketed (and for fixed shorter than it).", min=2)
    batch_sizes: tuple[int, ...] = setting((1, 8, 32, 128), "Comma-separated batch sizes.", min=1)
    data: DataConfig = field(default_factory=lambda: DataConfig(val_ratio=0.0))
    limit: int | None = setting(1024, "Evaluation rows from the test split (--all-rows: all of them).", min=1)
    texts: tuple[str, ...] = ()  # evaluate on these (no labels: no accuracy) instead of the test split
    warmup: int = setting(3, "Untimed batches before each cell.", min=0)
    repeats: int = setting(1, "Timed passes per cell.", min=1)
    train_steps: int = setting(20, "Train scenario: optimizer steps per strategy.", min=1)
    compile: bool = setting(False, "torch.compile the torch backend.")
    threads: int | None = setting(
        None, "ONNX Runtime and OpenVINO intra-op threads per call.  [default: all cores]", min=1
    )
    seed: int = 0
    name: str | None = None  # the model's name on every cell, where several are benched side by side


def strategy_cells(config: BenchConfig):
    """(bench strategy name, pad/truncation length) pairs: fixed once per fixed length."""
    for name in config.strategies:
        for length in config.fixed_lengths if name == "fixed" else (config.max_length,):
            yield name, length
