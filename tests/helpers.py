"""Small helpers shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path


def run_args(model: Path, data: Path, out: Path, extra: str = "") -> list[str]:
    """--model/--data-dir/--output, plus space-separated extra flags (paths here never contain spaces)."""
    return ["--model", str(model), "--data-dir", str(data), "--output", str(out), *extra.split()]
