"""Which classifier a model folder gets: an export folder (export.json) runs on ONNX Runtime, a model
folder (a `nsmckit finetune` output) on PyTorch, which is imported only then.

    clf = load_classifier("exports/nsmc")     # or "runs/nsmc"
    probs = clf.predict_proba(["재밌어요", "별로"])
"""

from __future__ import annotations

import json
from pathlib import Path

from kit.errors import ModelError
from kit.manifest import MANIFEST, read_manifest
from kit.runtime.text_classifier import TextClassifier


def _folder(model: str | Path) -> Path:
    folder = Path(model)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such folder (give an export folder or a `nsmckit finetune` output folder)")
    return folder


def load_classifier(
    model: str | Path, variant: str | None = None, provider: str = "auto", threads: int | None = None
) -> TextClassifier:
    """`provider`: auto (CUDA where it really loads, else the CPU), cpu or cuda (an error where it cannot run)."""
    folder = _folder(model)
    if (folder / MANIFEST).is_file():
        from kit.runtime.onnx_session import OnnxClassifier

        return OnnxClassifier(folder, variant, provider, threads)
    if variant:
        raise ModelError(f"{folder}: --variant is for export folders (no {MANIFEST} here)")
    from kit.runtime.torch_backend import TorchClassifier

    return TorchClassifier(folder, device=None if provider == "auto" else provider)  # None: CUDA if torch sees it


def classifier_labels(model: str | Path) -> list[str]:
    """The label names a classifier folder predicts, read without loading the model."""
    folder = _folder(model)
    if (folder / MANIFEST).is_file():
        return read_manifest(folder)["labels"]
    try:
        id2label = json.loads((folder / "config.json").read_text())["id2label"]
    except (OSError, ValueError, KeyError) as e:
        raise ModelError(f"{folder}: no config.json with id2label ({type(e).__name__})") from e
    return [id2label[str(i)] for i in range(len(id2label))]


def check_model_files(model: str | Path, variant: str | None = None) -> None:
    """The files a classifier will load, checked without loading it: an export's manifest, variant and
    checksums; a model folder's weights file. For engines that load the model elsewhere (Ray's actors),
    so that a corrupt or missing file is one error here instead of one traceback per worker."""
    folder = _folder(model)
    if (folder / MANIFEST).is_file():
        from kit.runtime.onnx_session import resolve_variant

        resolve_variant(folder, variant)
    else:
        from kit.runtime.hf import weights_file

        if weights_file(str(folder)) is None:
            raise ModelError(f"{folder}: no model weights (model.safetensors); is it a `nsmckit finetune` folder?")
