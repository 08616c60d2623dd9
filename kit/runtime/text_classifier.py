"""Texts in, logits out, on top of any backend (`kit.runtime.backend`): `predict`, the server, export
validation and the Ray engine all classify through this one class (`kit.runtime.classifiers` builds one
for a folder).

Inputs are built exactly like training's: right padding, attention mask, all-zero token_type_ids where
the model takes them, truncation to the model's max_length on the task's side, length-sorted batches
whose results come back in input order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.batching import predict_in_batches
from kit.errors import ModelError
from kit.truncation import cap_texts


def truncating(tokenizer, max_length: int, side: str = "right"):
    """A copy of a `tokenizers.Tokenizer` that pads nothing and truncates at `max_length` on `side`, like
    training."""
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_padding()
    copy.enable_truncation(max_length, direction=side)
    return copy


def load_tokenizer_json(path: Path, max_length: int, side: str = "right"):
    """The fast tokenizer alone (no transformers), truncating like training did."""
    from tokenizers import Tokenizer

    if not Path(path).is_file():
        raise ModelError(f"{path}: missing; the model folder needs its fast tokenizer (tokenizer.json)")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises a bare Exception for unreadable files
        raise ModelError(f"{path}: not a readable tokenizer.json ({e})") from e
    return truncating(tokenizer, max_length, side)


def encode_ids(tokenizer, texts: list[str], max_length: int | None = None) -> list[np.ndarray]:
    """Unpadded int64 token ids per text, truncated at `max_length` (default: as `tokenizer` is set) on the
    tokenizer's side, special tokens kept; texts are cut by characters first (`kit.truncation`), so a huge
    one costs no more than a long one."""
    side = tokenizer.truncation["direction"]
    if max_length is not None and max_length != tokenizer.truncation["max_length"]:
        tokenizer = truncating(tokenizer, max_length, side)
    texts = cap_texts(texts, tokenizer.truncation["max_length"], side)
    return [np.asarray(e.ids, dtype=np.int64) for e in tokenizer.encode_batch(texts)]


def check_finite(logits: np.ndarray, texts: list[str], model: str) -> np.ndarray:
    """The logits, after refusing any row that is not finite (NaN or inf): broken weights give them, and a
    NaN probability is no answer (nor valid JSON)."""
    bad = np.flatnonzero(~np.isfinite(logits).all(axis=-1))
    if len(bad):
        first = texts[bad[0]] if len(texts) > bad[0] else ""
        raise ModelError(
            f"{model}: outputs that are not finite (NaN or inf) for {len(bad)} of {len(logits)} texts, the first "
            f"{first[:40]!r}; its weights are broken: fine-tune or export it again"
        )
    return logits


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class TextClassifier:
    """A backend with texts in front of it.

    clf = TextClassifier(backend)
    clf.predict_proba(["재밌어요", "별로"])
    """

    def __init__(self, backend):
        self.backend = backend
        self.run = backend.predict  # padded batch -> logits
        self.tokenizer, self.max_length, self.pad_id = backend.tokenizer, backend.max_length, backend.pad_id
        self.inputs, self.labels, self.description = backend.inputs, backend.labels, backend.description

    def encode(self, texts: list[str]) -> list[np.ndarray]:
        return encode_ids(self.tokenizer, texts)

    def predict_logits(self, texts: list[str], batch_size: int = 32, strategy: str = "bucketed") -> np.ndarray:
        seqs = self.encode(texts)
        logits = predict_in_batches(self.run, seqs, strategy, batch_size, self.max_length, self.pad_id, self.inputs)
        return check_finite(logits, texts, self.description)

    def predict_proba(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return softmax(self.predict_logits(texts, batch_size))
