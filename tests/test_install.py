"""Every extra the README names installs with constraints.txt (pip resolves it; nothing is installed)."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

from tests.conftest import ROOT


def readme_extras() -> set[str]:
    """Extras named in the README: `nsmckit[a]`, `.[a,b]`, and the list that introduces them ("Extras: `cpu` ...")."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named = {e for group in re.findall(r"(?:nsmckit|\.)\[([\w,-]+)\]", text) for e in group.split(",")}
    listed = re.search(r"Extras: (.*?)\n\n", text, re.S)
    return named | set(re.findall(r"`([\w-]+)`", listed.group(1) if listed else ""))


def setup_extras() -> set[str]:
    """The extras the installed nsmckit declares (setup.py's extras_require)."""
    return set(importlib.metadata.metadata("nsmckit").get_all("Provides-Extra"))


def test_every_readme_extra_exists_and_resolves_with_the_constraints():
    extras = readme_extras()
    assert {"cpu", "gpu", "serve", "ray", "mlflow"} <= extras  # the README's own list was found
    assert extras <= setup_extras(), extras - setup_extras()
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "-c", "constraints.txt"]
    proc = subprocess.run([*command, f".[{','.join(sorted(extras))}]"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
