"""Texts in, logits out: a `tokenizers` tokenizer plus a backend's `predict(batch)`, shared by the
ONNX and PyTorch classifiers (`predict`, the server, export validation; `kit.runtime.classifiers`
picks one for a folder).

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
from kit.truncation import cap_texts


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
    """Unpadded int64 token ids per text, truncated as `tokenizer` is set to (`load_tokenizer_json`);
    texts are cut by characters first (`kit.truncation`), so a huge one costs no more than a long one."""
    texts = cap_texts(texts, tokenizer.truncation["max_length"])
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
