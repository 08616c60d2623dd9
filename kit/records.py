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
    except RecursionError as e:
        raise error(f"{path}: JSON nested too deeply to read") from e


def started_from_random_weights(record: dict) -> bool:
    """Whether the model a record describes started from random weights (`--no-weights`): an export.json made
    that way or from such a run (its `source`), or a run.json of a run that trained from them. Its accuracy
    and predictions are near chance, and every place that shows them says so."""
    source = record.get("source")
    if isinstance(source, dict):
        return bool(source.get("no_weights") or started_from_random_weights(source.get("run") or {}))
    return bool((record.get("config") or {}).get("no_weights"))


def from_random_weights(folder: str | Path) -> bool:
    """`started_from_random_weights` for a model or export folder's record, without loading the model."""
    for name in ("export.json", "run.json"):
        path = Path(folder) / name
        if path.is_file():
            try:
                return started_from_random_weights(json.loads(path.read_text()))
            except (ValueError, TypeError, AttributeError):
                return False  # a broken record is reported by whatever reads it for real
    return False
