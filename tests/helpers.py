"""Small helpers shared by the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def run_args(model: Path, data: Path, out: Path, extra: str = "") -> list[str]:
    """--model/--data-dir/--output, plus space-separated extra flags (paths here never contain spaces)."""
    return ["--model", str(model), "--data-dir", str(data), "--output", str(out), *extra.split()]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout:g} s")
        time.sleep(0.05)
