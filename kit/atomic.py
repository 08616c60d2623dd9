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


CLAIM = ".nsmckit-writing"  # the lock file of a folder a run is writing into


@contextmanager
def claimed(folder: Path, writer: str) -> Iterator[Path]:
    """`folder` (created if needed) held by this process while the block runs: a second writer fails at once
    instead of two runs writing into one folder. The claim is a lock file made with O_EXCL naming its process,
    removed when the block ends however it ends; one left by a killed process (which no longer runs) is
    taken over, so an interrupted run can `--resume`."""
    from kit.errors import RunError

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / CLAIM
    if _holder(lock) is None:
        lock.unlink(missing_ok=True)  # stale: its process was killed
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise RunError(
            f"{folder} is being written by another {writer} (pid {_holder(lock)}); if none is running, remove {lock}"
        ) from None
    with os.fdopen(fd, "w") as f:
        f.write(f"pid {os.getpid()}\n")
    try:
        yield folder
    finally:
        lock.unlink(missing_ok=True)


def _holder(lock: Path) -> int | None:
    """The live process a claim names, else None (no claim, an unreadable one, or its process is gone)."""
    try:
        pid = int(lock.read_text().split()[-1])
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (OSError, ValueError, IndexError):
        return None
    return pid
