"""Run an exported model with onnxruntime + tokenizers only: no torch, no transformers.

This is the serving path, `predict` on an export, and the `ort` benchmark backend:

    clf = OnnxClassifier("exports/nsmc")           # checks sha256 against export.json
    probs = clf.predict_proba(["재밌어요", "별로"])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kit.errors import ModelError
from kit.manifest import MANIFEST, read_manifest, variants_by_name, verify_file
from kit.runtime.ort_providers import create_session, session_provider
from kit.runtime.text_classifier import TextClassifier, load_tokenizer_json


def resolve_variant(export_dir: str | Path, variant: str | None = None, allow_invalid: bool = False):
    """(manifest, variant entry, model path, tokenizer path) after checking both files' sha256."""
    folder = Path(export_dir)
    manifest = read_manifest(folder)
    variants = variants_by_name(manifest)
    name = variant or manifest["default_variant"]
    if name not in variants:
        raise ModelError(f"{folder}: no variant {name!r} (have: {', '.join(variants)})")
    if not variants[name]["valid"] and not allow_invalid:
        raise ModelError(f"{folder}: variant {name!r} failed validation at export time; see {folder}/export.json")
    model = verify_file(folder, variants[name]["file"], manifest)
    return manifest, variants[name], model, verify_file(folder, "tokenizer.json", manifest)


def check_fits_model(folder: Path, manifest: dict, session) -> None:
    """export.json against the model it describes: as many labels as the graph has logits, and a
    max_length within the model's positions (config.json)."""
    logits = session.get_outputs()[0].shape[-1]
    if isinstance(logits, int) and logits != len(manifest["labels"]):
        raise ModelError(
            f"{folder / MANIFEST}: {len(manifest['labels'])} labels for a model with {logits} logits; export again"
        )
    config = verify_file(folder, "config.json", manifest) if "config.json" in manifest["files"] else None
    positions = json.loads(config.read_text()).get("max_position_embeddings") if config else None
    if positions and manifest["max_length"] > positions:
        raise ModelError(
            f"{folder / MANIFEST}: max_length {manifest['max_length']} exceeds the model's {positions} positions"
        )


def session_runner(session):
    """`predict(batch) -> logits` for a session, feeding only the inputs the graph declares."""
    names = [i.name for i in session.get_inputs()]

    def run(batch: dict[str, np.ndarray]) -> np.ndarray:
        return session.run(["logits"], {name: batch[name] for name in names})[0].astype(np.float32, copy=False)

    return run


class OnnxClassifier(TextClassifier):
    """One variant of an export, ready to predict from texts or from padded batches."""

    def __init__(
        self,
        export_dir: str | Path,
        variant: str | None = None,
        provider: str = "cpu",
        threads: int | None = None,
        allow_invalid: bool = False,
        spinning: bool = True,
    ):
        self.dir = Path(export_dir)
        self.manifest, self.variant, model_path, tokenizer_path = resolve_variant(export_dir, variant, allow_invalid)
        self.max_length = int(self.manifest["max_length"])
        self.labels = self.manifest["labels"]
        self.pad_id = int(self.manifest["pad_token_id"])
        self.session = create_session(model_path, provider, threads, spinning)
        self.provider = session_provider(self.session)  # where it really runs, whatever was asked
        check_fits_model(self.dir, self.manifest, self.session)
        self.run = session_runner(self.session)
        self.tokenizer = load_tokenizer_json(tokenizer_path, self.max_length)
        if self.pad_id >= self.tokenizer.get_vocab_size():
            raise ModelError(
                f"{self.dir / MANIFEST}: pad_token_id {self.pad_id} is outside the tokenizer's "
                f"{self.tokenizer.get_vocab_size()} tokens; export again"
            )
        self.description = f"onnxruntime {self.provider}, {self.dir} {self.variant['name']}"
