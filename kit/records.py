"""Reading the kit's JSON records (run.json, export.json): a missing or broken file is a one-line
error of the caller's kind that says what to do, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from kit.errors import KitError

RANDOM = " (from random weights)"  # beside any accuracy of a model that started from random weights


def read_record(path: Path, error: type[KitError], missing: str) -> dict:
    """`missing` completes "<folder>: no <file>; ..." when the file is absent."""
    if not path.is_file():
        raise error(f"{path.parent}: no {path.name}; {missing}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise error(f"{path}: not valid JSON ({e})") from e


def from_random_weights(folder: str | Path) -> bool:
    """Whether a model or export folder holds a model that started from random weights (`--no-weights`): an
    export made that way or from such a run, or a `nsmckit finetune` run that trained from them. Its accuracy
    and predictions are near chance, and every place that shows them says so."""
    folder = Path(folder)
    try:
        if (folder / "export.json").is_file():
            source = json.loads((folder / "export.json").read_text())["source"]
            return bool(source.get("no_weights") or ((source.get("run") or {}).get("config") or {}).get("no_weights"))
        if (folder / "run.json").is_file():
            return bool(json.loads((folder / "run.json").read_text())["config"].get("no_weights"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return False  # a broken record is reported by whatever reads it for real
    return False
