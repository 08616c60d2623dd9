"""The export manifest (export.json), read and written here alone: what was exported, from what, with which
checksums. An entry point opens an export once,

    export = Export.open("exports/nsmc")     # export.json read and checked field by field
    export.task.labels; export.variant("int8"); export.verify("model_int8.onnx")

and hands the `Export` down (backends, predict, serve, bench, tune): each file is checked against its sha256
before it is first read, once, so a truncated copy or a flipped byte fails loudly instead of predicting garbage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import ModelError
from kit.records import read_record
from kit.task import MODEL_INPUTS, Task

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


def write_manifest(folder: Path, manifest: dict) -> None:
    """export.json into `folder` (an export being built: it is published by renaming the whole folder)."""
    (Path(folder) / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


@dataclass
class Export:
    """An export folder, opened once: its manifest checked field by field; its files verified on first use."""

    folder: Path
    manifest: dict
    _verified: dict[str, Path] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, folder: str | Path) -> Export:
        return cls(Path(folder), read_manifest(Path(folder)))

    @property
    def task(self) -> Task:
        return Task.of_record(self.manifest)

    @property
    def variants(self) -> dict[str, dict]:
        return variants_by_name(self.manifest)

    @property
    def default_variant(self) -> str:
        return self.manifest["default_variant"]

    def variant(self, name: str | None = None) -> dict:
        """The variant's entry (default: the export's default), or one line naming the variants there are."""
        name = name or self.default_variant
        if name not in self.variants:
            raise ModelError(f"{self.folder}: no variant {name!r} (have: {', '.join(self.variants)})")
        return self.variants[name]

    def verify(self, relpath: str) -> Path:
        """The file's path, checked (inside the folder, sha256 as recorded) the first time it is asked for."""
        if relpath not in self._verified:
            self._verified[relpath] = verify_file(self.folder, relpath, self.manifest)
        return self._verified[relpath]

    def source_model(self) -> str:
        return source_model(self.folder, self.manifest)

    def source_path(self) -> Path | None:
        return source_path(self.folder, self.manifest)


def opened(export: Export | str | Path) -> Export:
    """An `Export` as given, or the folder opened."""
    return export if isinstance(export, Export) else Export.open(export)
