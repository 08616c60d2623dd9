"""Where the kit keeps its caches (tokenized splits, downloads): $NSMCKIT_CACHE or ~/.cache/nsmckit."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    if os.environ.get("NSMCKIT_CACHE"):
        return Path(os.environ["NSMCKIT_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nsmckit"
