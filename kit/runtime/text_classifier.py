"""Texts in, logits out: a `tokenizers` tokenizer plus a backend's `predict(batch)`, shared by the
ONNX and PyTorch classifiers (`predict`, the server, export validation).

    clf = load_classifier("exports/nsmc")     # or a `nsmckit finetune` folder (PyTorch)
    probs = clf.predict_proba(["재밌어요", "별로"])

Inputs are built exactly like training's: right padding, attention mask, all-zero
token_type_ids, truncation to the model's max_length, length-sorted batches whose
results come back in input order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from kit.batching import predict_in_batches
from kit.errors import ModelError
from kit.manifest import MANIFEST


def load_tokenizer_json(path: Path, max_length: int):
    """The fast tokenizer alone (no transformers), truncating like training did."""
    from tokenizers import Tokenizer

    if not Path(path).is_file():
        raise ModelError(f"{path}: missing; the model folder needs its fast tokenizer (tokenizer.json)")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises a bare Exception for unreadable files
        raise ModelError(f"{path}: not a readable tokenizer.json ({e})") from e
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def encode_ids(tokenizer, texts: list[str]) -> list[np.ndarray]:
    """Unpadded int64 token ids per text, truncated as `tokenizer` is set to (`load_tokenizer_json`)."""
    return [np.asarray(e.ids, dtype=np.int64) for e in tokenizer.encode_batch(texts)]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class TextClassifier:
    """Subclasses set `tokenizer`, `run` (padded batch -> logits), `max_length`, `pad_id` and `labels`."""

    tokenizer: object
    run: Callable[[dict[str, np.ndarray]], np.ndarray]
    max_length: int
    pad_id: int
    labels: list[str]
    description: str  # what runs, for logs and results: "onnxruntime cpu, exports/nsmc int8"

    def encode(self, texts: list[str]) -> list[np.ndarray]:
        return encode_ids(self.tokenizer, texts)

    def predict_logits(self, texts: list[str], batch_size: int = 32, strategy: str = "bucketed") -> np.ndarray:
        return predict_in_batches(self.run, self.encode(texts), strategy, batch_size, self.max_length, self.pad_id)

    def predict_proba(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return softmax(self.predict_logits(texts, batch_size))


def load_classifier(
    model: str | Path, variant: str | None = None, provider: str = "cpu", threads: int | None = None
) -> TextClassifier:
    """An export folder (it has export.json) runs on ONNX Runtime; a model folder (a `nsmckit finetune`
    output) on PyTorch, which is then imported."""
    folder = Path(model)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such folder (give an export folder or a `nsmckit finetune` output folder)")
    if (folder / MANIFEST).is_file():
        from kit.runtime.onnx_session import OnnxClassifier

        return OnnxClassifier(folder, variant, provider, threads)
    if variant:
        raise ModelError(f"{folder}: --variant is for export folders (no {MANIFEST} here)")
    from kit.runtime.torch_backend import TorchClassifier

    return TorchClassifier(folder, device="cuda" if provider == "cuda" else "cpu")
