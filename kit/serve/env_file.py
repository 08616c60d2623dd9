"""The server's env file (`nsmckit serve --env-file`, Docker's --env-file, the Kubernetes ConfigMap, what
`nsmckit tune` writes): NSMC_SERVE_* lines, read strictly, since a setting that is ignored is worse than
one refused: a misspelt name and a name set twice are errors naming the line."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

from kit.errors import KitError
from kit.serve.config import BatcherConfig, ConnectionConfig, ServeConfig
from kit.settings import env_name

SERVE_ENV = "NSMC_SERVE_"


def read_env_file(path: str | Path, known: set[str]) -> dict[str, str]:
    """NAME -> value for every setting line of the file; `known`: the names the server reads."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise KitError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); save the env file as UTF-8") from e
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = (part.strip() for part in line.partition("="))
        if not sep or not name.startswith(SERVE_ENV):
            raise KitError(f"{path}:{number}: expected {SERVE_ENV}<FLAG>=value, got {line!r}")
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else f" ({', '.join(sorted(known))})"
            raise KitError(f"{path}:{number}: {name} is not a setting of nsmckit serve{hint}")
        if name in lines:
            raise KitError(f"{path}:{number}: {name} is set again (first on line {lines[name]})")
        if not value:  # silently the default before: say so, or drop the line
            raise KitError(f"{path}:{number}: {name} has no value; give one, or remove the line for the default")
        lines[name], values[name] = number, value
    return values


def setting_env_names() -> dict[str, str]:
    """Each server setting's variable, by field name (`max_wait_ms` -> NSMC_SERVE_MAX_WAIT_MS): the names the
    CLI reads and `nsmckit tune` writes, from one rule (`kit.settings.env_name`)."""
    configs = (ServeConfig, BatcherConfig, ConnectionConfig)
    return {f.name: env_name(f, SERVE_ENV) for c in configs for f in dataclasses.fields(c) if "help" in f.metadata}
