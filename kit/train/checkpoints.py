"""Which checkpoint a `--resume` continues from, and whether it may.

A run records the settings it started with (`settings.json` beside its checkpoints); a resume with
other settings (another --max-length, other data) is refused naming the first difference, and a
checkpoint whose tensors do not fit the model (another model's checkpoints) is refused before
Trainer fails on it with a page of state_dict errors.

Trainer writes a checkpoint folder file by file and `trainer_state.json` last, so a run killed
while saving leaves a newest folder without it, which Trainer's own `get_last_checkpoint` would
still pick (and fail on). Here only a folder with a readable state counts; the cut-off ones are
removed so Trainer's rotation of old checkpoints never counts them.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from kit.atomic import write_atomic
from kit.errors import RunError

STATE_FILE = "trainer_state.json"  # transformers.trainer.TRAINER_STATE_NAME, written last
PREFIX = "checkpoint-"
SETTINGS_FILE = "settings.json"  # what the run started with, for a --resume to compare
WEIGHTS_FILE = "model.safetensors"  # Trainer's save of the model in each checkpoint

log = logging.getLogger(__name__)


def step(checkpoint: Path) -> int:
    return int(checkpoint.name.removeprefix(PREFIX))


def checkpoints(folder: Path) -> list[Path]:
    """Every checkpoint folder Trainer made in `folder`, complete or not, newest first."""
    if not folder.is_dir():
        return []
    made = [p for p in folder.glob(f"{PREFIX}*") if p.is_dir() and p.name.removeprefix(PREFIX).isdigit()]
    return sorted(made, key=step, reverse=True)


def is_complete(checkpoint: Path) -> bool:
    """Saved to the end: its trainer_state.json, written last, is there and reads back."""
    try:
        json.loads((checkpoint / STATE_FILE).read_text())
    except (OSError, ValueError):
        return False
    return True


def last_complete_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint in `folder` that was saved to the end; newer, cut-off ones are removed."""
    for checkpoint in checkpoints(folder):
        if is_complete(checkpoint):
            return checkpoint
        log.warning("%s was cut off while saving (no %s); removing it", checkpoint, STATE_FILE)
        shutil.rmtree(checkpoint, ignore_errors=True)  # every DDP rank may do this at once
    return None


def record_settings(folder: Path, settings: dict) -> None:
    """Record what a new run starts with, for a later --resume to compare."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / SETTINGS_FILE, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")


def check_resume(folder: Path, settings: dict, checkpoint: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    """Refuse to continue `checkpoint` with settings other than those the run started with, or into a model
    whose tensors (`shapes`: name -> shape) are not the checkpoint's."""
    mismatch = _tensor_mismatch(checkpoint / WEIGHTS_FILE, shapes)
    if mismatch:
        raise RunError(
            f"{checkpoint}: another model's checkpoint ({mismatch}); resume with the model it was trained from, "
            "or pass --overwrite to start anew"
        )
    try:
        started = json.loads((folder / SETTINGS_FILE).read_text())
    except FileNotFoundError:
        started = {}  # checkpoints from before the kit recorded settings: the tensors are still checked
    except (OSError, ValueError) as e:
        raise RunError(f"{folder / SETTINGS_FILE}: unreadable ({e}); pass --overwrite to start anew") from e
    for name, value in settings.items():
        if name in started and started[name] != value:
            raise RunError(
                f"{name} is {_shown(value)}, but the interrupted run in {folder.parent} started with "
                f"{_shown(started[name])}; resume with its settings, or pass --overwrite to start anew"
            )


def _tensor_mismatch(weights: Path, shapes: dict[str, tuple[int, ...]]) -> str | None:
    """The first tensor the checkpoint lacks or holds in another shape, described; None when they fit."""
    from safetensors import safe_open

    if not weights.is_file():
        return None  # saved another way (sharded, .bin): Trainer's own check applies
    with safe_open(str(weights), "np") as saved:
        names = set(saved.keys())
        for name, shape in shapes.items():
            if name not in names:
                return f"it has no tensor {name}"
            found = tuple(saved.get_slice(name).get_shape())
            if found != shape:
                return f"{name} is {list(found)} there, {list(shape)} here"
    return None


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
