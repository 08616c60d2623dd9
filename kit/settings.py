"""Config fields that carry their own help text, so a default and its `--help` line live in one place.

    @dataclass
    class FinetuneConfig:
        batch_size: int = setting(32, "Training batch size per device.", min=1)

Library users read the help in the dataclass; `kit.cli.options.config_options` turns the same fields
into Click options (flag, type, range or choices, default, help).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, field, fields
from typing import Any

from kit.errors import KitError


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


def flag_of(f) -> str:
    """The option a field is set with on the command line: --batch-size (or its `flag`'s first name)."""
    return (f.metadata.get("flag") or "--" + f.name.replace("_", "-")).split("/")[0]


def env_name(f, prefix: str | None = None) -> str | None:
    """The environment variable a field is read from: its own `envvar`, else `prefix` + its flag
    (NSMC_SERVE_ + --max-wait-ms -> NSMC_SERVE_MAX_WAIT_MS), else none. The CLI reads it, `nsmckit tune`
    writes it."""
    if f.metadata.get("envvar") or not prefix:
        return f.metadata.get("envvar")
    return prefix + flag_of(f).lstrip("-").replace("-", "_").upper()


def check_value(meta, flag: str, value) -> None:
    """One value (a tuple item by item) within a field's range and choices, else a one-line KitError."""
    for item in value if isinstance(value, tuple) else (value,):
        if meta["choices"] and item not in meta["choices"]:
            raise KitError(f"{flag} {item!r}: choose from {', '.join(meta['choices'])}")
        if isinstance(item, bool) or not isinstance(item, int | float):
            continue
        if not math.isfinite(item):
            raise KitError(f"{flag} {item!r}: must be a finite number")
        too_low = meta["min"] is not None and item < meta["min"]
        too_high = meta["max"] is not None and (item >= meta["max"] if meta["max_open"] else item > meta["max"])
        if too_low or too_high:
            low = "" if meta["min"] is None else f"at least {meta['min']:g}"
            high = "" if meta["max"] is None else f"{'below' if meta['max_open'] else 'at most'} {meta['max']:g}"
            raise KitError(f"{flag} {item:g}: must be {' and '.join(filter(None, (low, high)))}")


def check_settings(config) -> None:
    """Every `setting` field of a config dataclass within its range and choices: library callers get the
    same one-line refusal as the command line, before any work."""
    for f in fields(config):
        value = getattr(config, f.name)
        if "help" in f.metadata and value is not None:
            check_value(f.metadata, flag_of(f), value)
