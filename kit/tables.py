"""Terminal tables: every titled table is at least as wide as its title, so a title never wraps (rich
wraps a title to its table's width, which a narrow table makes unreadable in logs and pipes)."""

from __future__ import annotations

from rich.table import Table


def titled_table(title: str, **kwargs) -> Table:
    return Table(title=title, min_width=len(title) + 4, **kwargs)
