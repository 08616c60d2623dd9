"""One variant of an export folder, checked before any runtime loads it: the manifest, the variant, the
sha256 of every file it reads, and the contract the ONNX Runtime and OpenVINO backends share (the task
export.json records: max_length, pad id, labels, inputs, truncation side; the fast tokenizer), so both feed
their model exactly what the other would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kit.errors import ModelError
from kit.manifest import MANIFEST, Export, opened
from kit.runtime.backend import Backend, BackendOptions, BackendSpec, BackendUnavailable
from kit.runtime.text_classifier import load_tokenizer_json
from kit.task import Task, usable_positions


@dataclass
class ExportVariant:
    export: Export
    variant: dict  # the manifest's entry for this variant
    model_path: Path  # checked: inside the folder, sha256 as recorded (its weights file too, where it has one)
    tokenizer: object

    @property
    def folder(self) -> Path:
        return self.export.folder

    @property
    def manifest(self) -> dict:
        return self.export.manifest

    @property
    def name(self) -> str:
        return self.variant["name"]

    @property
    def runtime(self) -> str:
        """Which runtime the variant is built for: "openvino" for the `ov-*` variants, else "onnxruntime"."""
        return self.variant.get("runtime", "onnxruntime")

    @property
    def task(self) -> Task:
        return self.export.task

    def check_logits(self, logits: int | None) -> None:
        """export.json against the model it describes: as many labels as the graph has logits."""
        labels = self.task.labels
        if isinstance(logits, int) and logits != len(labels):
            raise ModelError(
                f"{self.folder / MANIFEST}: {len(labels)} labels for a model with {logits} logits; export again"
            )


def verdict_of(entry: dict) -> str:
    """valid, undecided or invalid (exports made before verdicts: valid or invalid)."""
    return entry.get("verdict", "valid" if entry["valid"] else "invalid")


def verdict_note(entry: dict) -> str | None:
    """What a user is told when a variant that was not shown valid is loaded."""
    verdict = verdict_of(entry)
    if verdict == "valid":
        return None
    why = entry.get("why") or "failed its export validation"
    return f"variant {entry['name']!r} is {verdict} by its export's validation: {why}"


def resolve_variant(export: Export, variant: str | None = None, allow_invalid: bool = False) -> tuple[dict, Path]:
    """(variant entry, model path) after checking the variant's files' sha256. A variant judged invalid loads
    only with `allow_invalid` (named explicitly, or timed by the benchmark); an undecided one loads, its
    `verdict_note` said by whoever loads it."""
    entry = export.variant(variant)
    if verdict_of(entry) == "invalid" and not allow_invalid:
        name = entry["name"]
        raise ModelError(
            f"{export.folder}: variant {name!r} was judged invalid at export "
            f"({entry.get('why') or 'see export.json'}); name it with --variant {name} to load it anyway"
        )
    for companion in entry.get("companions", []):  # an OpenVINO IR's weights beside its graph
        export.verify(companion)
    return entry, export.verify(entry["file"])


def open_variant(export: Export, variant: str | None = None, allow_invalid: bool = False) -> ExportVariant:
    """The variant with its tokenizer, after every check that needs no runtime."""
    entry, model_path = resolve_variant(export, variant, allow_invalid)
    task, folder = export.task, export.folder
    max_length = task.max_length
    config = export.verify("config.json") if "config.json" in export.manifest["files"] else None
    positions = usable_positions(json.loads(config.read_text())) if config else None
    if positions and max_length > positions:
        limit = f"the model's {positions} usable positions"
        raise ModelError(f"{folder / MANIFEST}: max_length {max_length} exceeds {limit}")
    tokenizer = load_tokenizer_json(export.verify("tokenizer.json"), max_length, task.truncation_side)
    pad_id = task.pad_token_id
    if pad_id >= tokenizer.get_vocab_size():
        raise ModelError(
            f"{folder / MANIFEST}: pad_token_id {pad_id} is outside the tokenizer's "
            f"{tokenizer.get_vocab_size()} tokens; export again"
        )
    return ExportVariant(export, entry, model_path, tokenizer)


class ExportBackend(Backend):
    """A backend that runs one variant of an export folder: the model's contract (tokenizer, max_length,
    pad id, labels) and the variant's record come from export.json, the same for every runtime."""

    export: Export
    manifest: dict
    variant: dict

    def _open(self, model: str | Path | Export, spec: BackendSpec, options: BackendOptions) -> ExportVariant:
        """The variant `spec` names, checked, its contract adopted; a variant its export judged invalid loads
        only with `options.allow_invalid` (the benchmark times it, said beside every cell)."""
        export = open_variant(opened(model), spec.variant, options.allow_invalid)
        if export.runtime not in (self.runs, *self.also_runs):
            raise BackendUnavailable(
                f"variant {export.name!r} is built for {export.runtime}: run it with {export.runtime}"
            )
        self.export, self.manifest, self.variant, task = export.export, export.manifest, export.variant, export.task
        self.tokenizer, self.max_length, self.pad_id = export.tokenizer, task.max_length, task.pad_token_id
        self.labels, self.inputs = task.labels, task.inputs
        self.note = verdict_note(export.variant)
        return export
