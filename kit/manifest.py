"""The export manifest (export.json): what was exported, from what, with which checksums.

Loading an export checks the file it is about to run against the manifest's sha256, so
a truncated copy or a flipped byte fails loudly instead of predicting garbage.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kit.errors import ModelError

MANIFEST = "export.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` except the manifest itself, by relative path."""
    return {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ModelError(f"{folder}: no {MANIFEST}; export the model with `nsmckit export --onnx` first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ModelError(f"{path}: not valid JSON ({e})") from e


def verify_file(folder: Path, relpath: str, manifest: dict) -> Path:
    """The file's path, after checking it against the manifest's checksum."""
    path = Path(folder) / relpath
    expected = manifest.get("files", {}).get(relpath)
    if expected is None:
        raise ModelError(f"{path}: not listed in {MANIFEST}")
    if not path.is_file():
        raise ModelError(f"{path}: missing (listed in {MANIFEST})")
    if sha256_file(path) != expected:
        raise ModelError(f"{path}: sha256 does not match {MANIFEST}; the file is corrupt or truncated, export again")
    return path
