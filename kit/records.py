"""Reading the kit's JSON records (run.json, export.json): a missing or broken file is a one-line
error of the caller's kind that says what to do, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from kit.errors import KitError


def read_record(path: Path, error: type[KitError], missing: str) -> dict:
    """`missing` completes "<folder>: no <file>; ..." when the file is absent."""
    if not path.is_file():
        raise error(f"{path.parent}: no {path.name}; {missing}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise error(f"{path}: not valid JSON ({e})") from e
