"""Config fields that carry their own help text, so a default and its `--help` line live in one place.

    @dataclass
    class FinetuneConfig:
        batch_size: int = setting(32, "Training batch size per device.", min=1)

Library users read the help in the dataclass; `kit.cli.config_options` turns the same fields
into Click options (flag, type, range or choices, default, help).
"""

from __future__ import annotations

from dataclasses import MISSING, field
from typing import Any


def setting(
    default: Any = MISSING,
    help: str = "",
    *,
    factory: Any = MISSING,
    flag: str | None = None,
    choices: tuple[str, ...] | None = None,
    min: float | None = None,
    max: float | None = None,
    max_open: bool = False,
    multiple: bool = False,
    envvar: str | None = None,
) -> Any:
    """A dataclass field with CLI metadata: `flag` overrides --field-name, `multiple` repeats the option
    instead of taking a comma-separated list."""
    metadata = {
        "help": help,
        "flag": flag,
        "choices": choices,
        "min": min,
        "max": max,
        "max_open": max_open,
        "multiple": multiple,
        "envvar": envvar,
    }
    return field(default=default, default_factory=factory, metadata=metadata)
