"""Which model a command runs, by one precedence: a setting given explicitly, then what the artifact records
(an export's source model, whether a folder holds trained weights), then environment defaults
(NSMC_MODEL, NSMC_NO_WEIGHTS). Where an environment default is overruled, `note` gets one line saying so.

    no_weights = weights_precedence("runs/nsmc", no_weights=True, no_weights_from_env=True, note=print)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kit.manifest import read_manifest, source_path
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
    export: str, model: str | None, model_from_env: bool, no_weights: bool, no_weights_from_env: bool, note: Callable
) -> tuple[str | None, bool]:
    """(model, no_weights) for PyTorch beside an export: the export's recorded source (model, weights or not)
    wins over NSMC_MODEL and NSMC_NO_WEIGHTS (None: use the source); an explicit model still wins, and
    either way a model other than the source is said in one line."""
    manifest = read_manifest(Path(export))
    source, path = manifest["source"]["model"], source_path(export, manifest)
    differs = model is not None and model != source and Path(model).resolve() != path
    if model_from_env:
        if differs:
            note(f"NSMC_MODEL ignored: {export} was made from {source}, which the torch backends run")
        model = None
    elif differs:
        note(f"--model {model}: the torch backends run it, not {source} that {export} was made from")
    if model is None and no_weights_from_env:
        no_weights = False  # the export records whether its source had weights
    return model, weights_precedence(model, no_weights, no_weights_from_env, note)
