"""Which model and data a command runs, by one precedence: a setting given explicitly, then what the
artifact records (an export's source model, whether a folder holds trained weights, the data its task was
trained on), then environment defaults (NSMC_MODEL, NSMC_NO_WEIGHTS, NSMC_DATA_DIR). Where an environment
default is overruled, `note` gets one line saying so.

    no_weights = weights_precedence("runs/nsmc", no_weights=True, no_weights_from_env=True, note=print)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from kit.data.splits import DataConfig
from kit.manifest import Export, opened
from kit.runtime.hf import weights_file


def weights_precedence(model: str | None, no_weights: bool, no_weights_from_env: bool, note: Callable) -> bool:
    """NSMC_NO_WEIGHTS is a default: a model folder that holds trained weights keeps them. (An explicit
    --no-weights on such a folder is refused where the model is loaded.)"""
    weights = weights_file(model) if no_weights and model and no_weights_from_env else None
    if weights:
        note(f"NSMC_NO_WEIGHTS ignored: {model} holds trained weights ({weights.name}), which are used")
        return False
    return no_weights


def export_source(
    export: Export | str,
    model: str | None,
    model_from_env: bool,
    no_weights: bool,
    no_weights_from_env: bool,
    note: Callable,
) -> tuple[str | None, bool]:
    """(model, no_weights) for PyTorch beside an export: the export's recorded source (model, weights or not)
    wins over NSMC_MODEL and NSMC_NO_WEIGHTS (None: use the source); an explicit model still wins, and
    either way a model other than the source is said in one line."""
    export = opened(export)
    source, path = export.manifest["source"]["model"], export.source_path()
    differs = model is not None and model != source and Path(model).resolve() != path
    if model_from_env:
        if differs:
            note(f"NSMC_MODEL ignored: {export.folder} was made from {source}, which the torch backends run")
        model = None
    elif differs:
        note(f"--model {model}: the torch backends run it, not {source} that {export.folder} was made from")
    if model is None and no_weights_from_env:
        no_weights = False  # the export records whether its source had weights
    return model, weights_precedence(model, no_weights, no_weights_from_env, note)


def data_precedence(data: DataConfig, data_dir_from_env: bool, task, note: Callable) -> DataConfig:
    """NSMC_DATA_DIR is a default: a model whose task records the data it was trained on (`task`, a
    `kit.task.Task` or None) is judged on that data, not on NSMC; data given on the command line still wins."""
    recorded = task.data.get("sources", {}).get("kind") if task else None
    if data_dir_from_env and recorded and recorded != "NSMC":
        note(f"NSMC_DATA_DIR ignored: the model was trained on its own {recorded}, which it is judged on")
        return dataclasses.replace(data, data_dir=None)
    return data
