"""Which checkpoint a `--resume` continues from.

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

STATE_FILE = "trainer_state.json"  # transformers.trainer.TRAINER_STATE_NAME, written last
PREFIX = "checkpoint-"

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
