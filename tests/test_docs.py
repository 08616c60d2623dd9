"""The documentation site builds with `mkdocs build --strict` (a broken link or anchor fails it), and the
README stays a front door whose links lead somewhere."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

README_MAX_LINES = 200


def build_site(root: Path, site: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True)


def test_the_docs_site_builds_strictly(tmp_path):
    proc = build_site(ROOT, tmp_path / "site")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "serving" / "index.html").is_file()


def test_a_broken_link_fails_the_build(tmp_path):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    with (tmp_path / "docs" / "serving.md").open("a", encoding="utf-8") as page:
        page.write("\nSee [the old page](moved-away.md).\n")
    proc = build_site(tmp_path, tmp_path / "site")
    assert proc.returncode != 0 and "moved-away.md" in proc.stderr


def test_the_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert links and [link for link in links if not (ROOT / link).exists()] == []
    assert "docs/setup.md" in links and "docs/gpu.md" in links
