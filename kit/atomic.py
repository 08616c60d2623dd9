"""Files that appear whole or not at all: written beside their target under a hidden name, then renamed
over it, so a run killed mid-write leaves the previous complete file (or none), never half of one.

    with atomic_path(Path("runs/x/run.json")) as partial:
        partial.write_text(text)
    write_atomic(Path("runs/x/results.json"), text)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def partial_path(target: Path) -> Path:
    """A hidden name beside `target`, one per writer (two processes never share it), with the target's
    suffix (numpy appends `.npz` to a name without it)."""
    return target.with_name(f".{target.stem}.partial-{os.getpid()}-{secrets.token_hex(4)}{target.suffix}")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A path to write; renamed to `target` when the block completes, removed when it fails."""
    partial = partial_path(Path(target))
    try:
        yield partial
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def write_atomic(target: Path, text: str) -> Path:
    with atomic_path(target) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(target)
