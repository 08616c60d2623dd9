"""The batching strategies as PyTorch data pieces: a dataset of unpadded rows, a batch
sampler, and a collator that pads and counts padding. Used by fine-tuning (through
the Trainer) and by anything else that feeds a PyTorch model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from kit.batching import batch_order, check_strategy, pad_batch, padded_length
from kit.data.encoding import Encoded
from kit.task import MODEL_INPUTS


class TokenDataset(torch.utils.data.Dataset):
    """Unpadded token ids and labels; padding happens per batch in `PaddingCollator`."""

    def __init__(self, encoded: Encoded, labels: np.ndarray):
        self.encoded = encoded
        self.labels = labels

    def __len__(self) -> int:
        return len(self.encoded)

    def __getitem__(self, i: int) -> dict[str, object]:
        return {"input_ids": self.encoded[i], "labels": int(self.labels[i])}


class StrategyBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Yields index batches for a strategy; reshuffles per epoch from (seed, epoch), so a
    resumed run or a DDP rank sees the same batches as an uninterrupted single run."""

    drop_last = False  # accelerate's per-rank sharding reads these two attributes

    def __init__(self, lengths: np.ndarray, batch_size: int, strategy: str, shuffle: bool, seed: int = 0):
        check_strategy(strategy)
        self.lengths = lengths
        self.batch_size = batch_size
        self.strategy = strategy
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    @property
    def sampler(self) -> StrategyBatchSampler:
        # accelerate forwards set_epoch to `batch_sampler.sampler`, including under its DDP shard wrapper.
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        return batch_order(self.lengths, self.batch_size, self.strategy, self.shuffle, rng)

    def __iter__(self):
        for batch in self.batches():
            yield batch.tolist()

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


@dataclass
class PaddingMeter:
    """Counts what the model was given: rows, real tokens and computed (padded) positions.

    Fed from the training step, not the collator: data loaders fetch a batch ahead, and that
    batch is never trained on when a run stops at `max_steps`."""

    samples: int = 0
    real_tokens: int | torch.Tensor = 0  # summed on the device: no host sync per step
    computed_tokens: int = 0

    def add(self, batch: dict[str, torch.Tensor]) -> None:
        self.samples += batch["input_ids"].shape[0]
        self.real_tokens = self.real_tokens + batch["attention_mask"].sum()
        self.computed_tokens += batch["input_ids"].numel()


@dataclass
class PaddingCollator:
    """Pads a list of rows to the strategy's length and returns torch tensors."""

    strategy: str
    max_length: int
    pad_id: int
    pad_to_multiple_of: int | None = None
    inputs: tuple[str, ...] | list[str] = MODEL_INPUTS  # what the model takes (kit.task)

    def __post_init__(self):
        check_strategy(self.strategy)

    def __call__(self, rows: list[dict[str, object]]) -> dict[str, torch.Tensor]:
        seqs = [row["input_ids"] for row in rows]
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        length = padded_length(lengths, self.strategy, self.max_length, self.pad_to_multiple_of)
        batch = {k: torch.from_numpy(v) for k, v in pad_batch(seqs, length, self.pad_id, self.inputs).items()}
        if "labels" in rows[0]:
            batch["labels"] = torch.tensor([row["labels"] for row in rows], dtype=torch.long)
        return batch
