"""Tokenize once, without padding, and cache the result on disk.

Every consumer (training, evaluation, benchmark, export validation) pads later,
per batch, through `kit.batching`; that is what makes padding strategies
comparable. Truncation to `max_length` happens here so all strategies see the
same tokens.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from kit.atomic import atomic_path
from kit.data.cache import cache_root
from kit.progress import progress_bar
from kit.truncation import cap_texts

CHUNK = 4096  # texts per tokenizer call: big enough for the Rust batch path, small enough for a progress bar


@dataclass
class Encoded:
    """Unpadded token ids of a split, stored flat with offsets (cheap to cache and slice)."""

    ids: np.ndarray  # all sequences concatenated, int32
    offsets: np.ndarray  # len(self) + 1 boundaries into `ids`

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]


def _fingerprint(tokenizer, texts: list[str], max_length: int) -> str:
    # to_str() lists the vocabulary in hash-map order (sorted keys make it stable) and
    # includes the truncation/padding state that calling the tokenizer changes (dropped).
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec = json.dumps({k: v for k, v in spec.items() if k not in ("truncation", "padding")}, sort_keys=True)
    digest = hashlib.sha256(spec.encode())
    digest.update(f"{max_length} {tokenizer.truncation_side}".encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def encode(tokenizer, texts: list[str], max_length: int, progress: bool = False) -> Encoded:
    """Token ids of `texts` (with [CLS]/[SEP], truncated to `max_length` on the tokenizer's truncation side),
    cached by content."""
    texts = cap_texts(texts, max_length, tokenizer.truncation_side)
    path = cache_root() / "tokens" / f"{_fingerprint(tokenizer, texts, max_length)}.npz"
    if path.exists():
        with np.load(path) as cached:
            return Encoded(cached["ids"], cached["offsets"])

    chunks: list[list[list[int]]] = []
    with progress_bar(len(texts), "tokenizing", enabled=progress) as bar:
        for start in range(0, len(texts), CHUNK):
            batch = texts[start : start + CHUNK]
            chunks.append(tokenizer(batch, truncation=True, max_length=max_length)["input_ids"])
            bar.update(len(batch))
    seqs = [seq for chunk in chunks for seq in chunk]
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in seqs], out=offsets[1:])
    ids = np.fromiter((t for s in seqs for t in s), dtype=np.int32, count=int(offsets[-1]))
    encoded = Encoded(ids, offsets)

    path.parent.mkdir(parents=True, exist_ok=True)
    # DDP ranks (or two runs) may write the same entry at once: each writes its own partial file and the
    # last rename wins with identical content; no half-written entry is ever read.
    with atomic_path(path) as partial:
        np.savez(partial, ids=encoded.ids, offsets=encoded.offsets)
    return encoded
