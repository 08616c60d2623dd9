"""The `nsmckit` command line: `commands` (one library call each), `options` (Click options from the config
dataclasses, and the boundary that turns a failure into one line)."""

from kit.cli.commands import main

__all__ = ["main"]
