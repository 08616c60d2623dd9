"""Which classifier a model folder gets: an export folder (export.json) runs its variant on the runtime the
variant was built for (ONNX Runtime, or OpenVINO for `ov-*`), a model folder (a `nsmckit finetune`
output) on PyTorch, which is imported only then.

    clf = load_classifier("exports/nsmc")     # or "runs/nsmc"
    probs = clf.predict_proba(["재밌어요", "별로"])
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from kit.errors import ModelError
from kit.manifest import MANIFEST, Export, opened
from kit.runtime.backend import BackendOptions, BackendSpec
from kit.runtime.text_classifier import TextClassifier

AUTO = "auto"  # --variant auto: the fastest valid variant here (kit.runtime.variant_choice)


def _folder(model: str | Path | Export) -> Path:
    folder = model.folder if isinstance(model, Export) else Path(model)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such folder (give an export folder or a `nsmckit finetune` output folder)")
    return folder


def is_export(model: str | Path | Export) -> bool:
    return isinstance(model, Export) or (Path(model) / MANIFEST).is_file()


def load_backend(
    model: str | Path | Export,
    variant: str | None = None,
    options: BackendOptions = BackendOptions(),
    batch_size: int = 32,
):
    """The backend for a folder (or an `Export` already opened): an export's variant (default: the export's
    default; `auto`: the fastest valid one on this machine in batches of `batch_size`, its `choice` saying
    why) on the backend for its runtime, or the model-folder backend (PyTorch) at fp32.
    `options.provider`: auto (CUDA where it really loads, else the CPU), cpu or cuda (an error where it
    cannot run)."""
    from kit.runtime.registry import build_backend, folder_backend, variant_backend

    folder = _folder(model)
    if variant and variant != AUTO:  # a variant named explicitly loads even if judged invalid, with a note
        options = dataclasses.replace(options, allow_invalid=True)
    if not is_export(model):
        if variant:
            raise ModelError(f"{folder}: --variant is for export folders (no {MANIFEST} here)")
        return build_backend(BackendSpec(folder_backend()), folder, options)
    export = opened(model)
    if variant == AUTO:
        from kit.runtime.variant_choice import choose_variant

        choice = choose_variant(export, options, batch_size)
        choice.backend.choice = choice.reason
        return choice.backend
    name = variant or export.default_variant
    backend = variant_backend(export.variants.get(name, {}))  # an unknown name: the backend says so
    return build_backend(BackendSpec(backend, name), export, options)


def load_classifier(
    model: str | Path | Export,
    variant: str | None = None,
    provider: str = "auto",
    threads: int | None = None,
    spinning: bool = True,
    streams: int = 1,
    batch_size: int = 32,
) -> TextClassifier:
    """Texts in, logits out for a folder (`load_backend`; `batch_size`: what `--variant auto` times)."""
    options = BackendOptions(provider=provider, threads=threads, spinning=spinning, streams=streams)
    return TextClassifier(load_backend(model, variant, options, batch_size))


def classifier_labels(model: str | Path | Export) -> list[str]:
    """The label names a classifier folder predicts, read without loading the model."""
    folder = _folder(model)
    if is_export(model):
        return opened(model).task.labels
    try:
        id2label = json.loads((folder / "config.json").read_text())["id2label"]
    except (OSError, ValueError, KeyError) as e:
        raise ModelError(f"{folder}: no config.json with id2label ({type(e).__name__})") from e
    return [id2label[str(i)] for i in range(len(id2label))]


def check_model_files(model: str | Path | Export, variant: str | None = None) -> None:
    """The files a classifier will load, checked without loading it: an export's manifest, variant and
    checksums; a model folder's weights file. For engines that load the model elsewhere (Ray's actors),
    so that a corrupt or missing file is one error here instead of one traceback per worker."""
    folder = _folder(model)
    if is_export(model):
        from kit.runtime.export_folder import resolve_variant

        export = opened(model)  # the candidates of auto are checked as they are timed: a broken default is left out
        if variant != AUTO:
            resolve_variant(export, variant, allow_invalid=variant is not None)
    else:
        from kit.runtime.hf import weights_file

        if weights_file(str(folder)) is None:
            raise ModelError(f"{folder}: no model weights (model.safetensors); is it a `nsmckit finetune` folder?")
