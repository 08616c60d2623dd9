"""The export manifest (export.json): what was exported, from what, with which checksums.

Loading an export checks the file it is about to run against the manifest's sha256, so
a truncated copy or a flipped byte fails loudly instead of predicting garbage.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from kit.errors import ModelError
from kit.records import read_record
from kit.task import MODEL_INPUTS

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
    """export.json, checked field by field: a hand-edited or foreign file fails here, naming the field."""
    manifest = read_record(Path(folder) / MANIFEST, ModelError, "export the model with `nsmckit export --onnx` first")
    problem = manifest_problem(manifest)
    if problem:
        raise ModelError(f"{Path(folder) / MANIFEST}: {problem}; export the model again")
    return manifest


def _is_int(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_variant(v) -> bool:
    return (
        isinstance(v, dict)
        and isinstance(v.get("name"), str)
        and isinstance(v.get("file"), str)
        and isinstance(v.get("valid"), bool)
    )


# field -> (check, what it must be): the task's (under "task"; at the top level in exports made before tasks
# were recorded), then the export's own
TASK_FIELDS = {
    "max_length": (lambda v: _is_int(v, 2), "an integer of at least 2"),
    "pad_token_id": (lambda v: _is_int(v, 0), "a non-negative integer"),
    "labels": (
        lambda v: isinstance(v, list) and len(v) >= 2 and all(isinstance(x, str) for x in v),
        "a list of two or more label names",
    ),
    "truncation_side": (lambda v: v in (None, "right", "left"), "right or left"),
    "inputs": (
        lambda v: v is None or (isinstance(v, list) and "input_ids" in v and set(v) <= set(MODEL_INPUTS)),
        f"a list of the model's inputs ({', '.join(MODEL_INPUTS)})",
    ),
}
FIELDS = {
    "files": (lambda v: isinstance(v, dict), "an object of file checksums"),
    "source": (lambda v: isinstance(v, dict) and isinstance(v.get("model"), str), "an object naming the source model"),
    "variants": (
        lambda v: isinstance(v, list) and bool(v) and all(map(_is_variant, v)),
        "a list of variants, each with a name, a file and valid true or false",
    ),
}


def manifest_problem(manifest) -> str | None:
    """What is wrong with a manifest's fields, else None."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    task = manifest.get("task", manifest)
    if not isinstance(task, dict):
        return "'task' is not an object"
    for record, fields in ((task, TASK_FIELDS), (manifest, FIELDS)):
        for key, (ok, wanted) in fields.items():
            if not ok(record.get(key)):
                found = "missing" if key not in record else repr(record[key])[:60]
                return f"{key!r} is {found}, expected {wanted}"
    names = [v["name"] for v in manifest["variants"]]
    if len(set(names)) != len(names):
        return f"'variants' names one variant twice ({', '.join(names)})"
    if manifest.get("default_variant") not in names:
        return f"'default_variant' {manifest.get('default_variant')!r} is not one of the variants ({', '.join(names)})"
    return None


def variants_by_name(manifest: dict) -> dict[str, dict]:
    """The manifest's variant entries by name, in export order."""
    return {v["name"]: v for v in manifest["variants"]}


def verify_file(folder: Path, relpath: str, manifest: dict) -> Path:
    """The file's path, after checking that it lies inside the export folder (links resolved: an edited
    export.json cannot make the server read /etc/passwd or another folder's model) and against its checksum."""
    path = Path(folder) / relpath
    if not path.resolve().is_relative_to(Path(folder).resolve()):
        raise ModelError(f"{Path(folder) / MANIFEST}: {relpath!r} is outside the export folder; export again")
    expected = manifest.get("files", {}).get(relpath)
    if expected is None:
        raise ModelError(f"{path}: not listed in {MANIFEST}")
    if not path.is_file():
        raise ModelError(f"{path}: missing (listed in {MANIFEST})")
    if sha256_file(path) != expected:
        raise ModelError(f"{path}: sha256 does not match {MANIFEST}; the file is corrupt or truncated, export again")
    return path


def source_path(folder: str | Path, manifest: dict) -> Path | None:
    """Where the model an export was made from lies (its folder relative to the export, resolved), else None
    (a hub id, or an export made before model_dir was recorded)."""
    model_dir = manifest["source"].get("model_dir")
    return (Path(folder) / model_dir).resolve() if model_dir else None


def source_model(folder: str | Path, manifest: dict) -> str:
    """The model an export was made from, found from any working directory: its folder, else the name as
    given."""
    source, path = manifest["source"], source_path(folder, manifest)
    if path is None:
        return source["model"]
    if not path.is_dir():
        raise ModelError(
            f"{folder}: its source model {source['model']!r} is gone (looked in {path}); pass the model with --model"
        )
    return str(path)
