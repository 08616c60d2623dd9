"""Every extra the README and the docs name installs with constraints.txt (pip resolves it against the package
index; nothing is installed)."""

from __future__ import annotations

import importlib.metadata
import re
import socket
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT

DEFAULT_INDEX = "https://pypi.org/simple"


def readme_extras() -> set[str]:
    """Extras named in the README and the docs: `nsmckit[a]`, `.[a,b]`, and the list that introduces them
    ("Extras: `cpu` ...")."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    text = "\n\n".join(page.read_text(encoding="utf-8") for page in pages)
    named = {e for group in re.findall(r"(?:nsmckit|\.)\[([\w,-]+)\]", text) for e in group.split(",")}
    listed = re.search(r"Extras: (.*?)\n\n", text, re.S)
    return named | set(re.findall(r"`([\w-]+)`", listed.group(1) if listed else ""))


def setup_extras() -> set[str]:
    """The extras the installed nsmckit declares (setup.py's extras_require)."""
    return set(importlib.metadata.metadata("nsmckit").get_all("Provides-Extra"))


def package_index_reachable() -> bool:
    """Whether pip's index (the index-url of its configuration or environment, else PyPI) accepts a
    connection within a few seconds."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    found = re.search(r"\.index-url='([^']+)'", listed)
    url = urlparse(found.group(1) if found else DEFAULT_INDEX)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.network
def test_every_readme_extra_exists_and_resolves_with_the_constraints():
    if not package_index_reachable():
        pytest.skip("the package index cannot be reached (offline): pip cannot resolve the extras")
    extras = readme_extras()
    assert {"cpu", "gpu", "serve", "ray", "mlflow"} <= extras  # the README's own list was found
    assert extras <= setup_extras(), extras - setup_extras()
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "-c", "constraints.txt"]
    proc = subprocess.run([*command, f".[{','.join(sorted(extras))}]"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
