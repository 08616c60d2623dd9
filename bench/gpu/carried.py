"""Checks, after install.sh, that what was carried is what imports: python3 carried.py SITE WHEEL|MODULE...

A wheel's distribution must resolve to SITE at the wheel's version (ahead of the image's own copy); a module
name must import from SITE. Exit 1 with one line per mismatch."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path


def mismatch(site: Path, item: str) -> str | None:
    if item.endswith(".whl"):
        name, version = Path(item).name.split("-")[:2]
        dist = importlib.metadata.distribution(name)
        where = Path(str(dist.locate_file(""))).resolve()
        if where != site or dist.version != version:
            return f"{name}: {dist.version} from {where}, carried {version}"
        return None
    spec = importlib.util.find_spec(item)
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    return None if origin and site in origin.parents else f"{item}: imported from {origin}, not {site}"


def main(site: Path, items: list[str]) -> int:
    problems = [p for p in (mismatch(site, item) for item in items) if p]
    for problem in problems:
        print(f"carried.py: {problem}", file=sys.stderr)
    print(f"{len(items) - len(problems)} of {len(items)} carried distributions import from {site}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve(), sys.argv[2:]))
