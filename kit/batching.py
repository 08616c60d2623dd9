"""How a batch is formed: the one place that decides order and padding.

Strategies (shared by training, evaluation, the benchmark and the server):

- ``fixed``    pad every sequence to ``max_length`` (what the notebooks do);
- ``dynamic``  random batches (dataset order when not shuffling), padded to the longest in each;
- ``bucketed`` batches of similar length. Training: shuffle, sort within mega-batches,
               shuffle the batch order. Evaluation: sort by length, so callers must put results
               back with `restore_order`.

Everything here is numpy so that ONNX Runtime and the server reuse it without torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kit.task import MODEL_INPUTS

STRATEGIES = ("fixed", "dynamic", "bucketed")
MEGABATCH = 64  # batches per sorted group when bucketing for training: enough to find neighbours, still random


@dataclass
class BatchPlan:
    """Which rows go into which batch, and to what length each batch is padded."""

    batches: list[np.ndarray]
    padded_lengths: np.ndarray  # one per batch

    @property
    def order(self) -> np.ndarray:
        return np.concatenate(self.batches) if self.batches else np.zeros(0, dtype=np.int64)

    def padding_efficiency(self, lengths: np.ndarray) -> float:
        """Real tokens / computed positions: 1.0 means no padding at all."""
        computed = sum(len(b) * int(p) for b, p in zip(self.batches, self.padded_lengths))
        real = sum(int(lengths[b].sum()) for b in self.batches)
        return real / computed if computed else 1.0


def check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown batching strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def batch_order(
    lengths: np.ndarray, batch_size: int, strategy: str, shuffle: bool, rng: np.random.Generator | None = None
) -> list[np.ndarray]:
    """Split row indices into batches for `strategy`; `shuffle` is for training."""
    check_strategy(strategy)
    n = len(lengths)
    if shuffle:
        rng = rng or np.random.default_rng()
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    if strategy == "bucketed":
        if shuffle:
            group = batch_size * MEGABATCH
            order = (
                np.concatenate(
                    [g[np.argsort(-lengths[g], kind="stable")] for g in np.split(order, range(group, n, group))]
                )
                if n
                else order
            )
        else:
            order = np.argsort(-lengths, kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if strategy == "bucketed" and shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def plan_batches(
    lengths: np.ndarray,
    batch_size: int,
    strategy: str,
    max_length: int,
    shuffle: bool = False,
    rng: np.random.Generator | None = None,
    pad_to_multiple_of: int | None = None,
) -> BatchPlan:
    """Batches plus the length each is padded to."""
    batches = batch_order(lengths, batch_size, strategy, shuffle, rng)
    padded = np.array(
        [padded_length(lengths[b], strategy, max_length, pad_to_multiple_of) for b in batches], dtype=np.int64
    )
    return BatchPlan(batches, padded)


def padded_length(lengths: np.ndarray, strategy: str, max_length: int, pad_to_multiple_of: int | None = None) -> int:
    """Length a batch with these sequence lengths is padded to."""
    if strategy == "fixed":
        return max_length
    longest = int(lengths.max()) if len(lengths) else 1
    if pad_to_multiple_of:
        longest = min(max_length, -(-longest // pad_to_multiple_of) * pad_to_multiple_of)
    return longest


def pad_batch(
    seqs: list[np.ndarray], length: int, pad_id: int = 0, inputs: Sequence[str] = MODEL_INPUTS
) -> dict[str, np.ndarray]:
    """Right-pad token id sequences into the model's `inputs` (int64, what the exports expect): ids and
    attention mask, and all-zero token_type_ids (single-sentence input) only for a model that takes them."""
    input_ids = np.full((len(seqs), length), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(seqs), length), dtype=np.int64)
    for row, seq in enumerate(seqs):
        input_ids[row, : len(seq)] = seq
        attention_mask[row, : len(seq)] = 1
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    if "token_type_ids" in inputs:
        batch["token_type_ids"] = np.zeros_like(input_ids)
    return batch


def restore_order(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Put per-row results computed in `order` back into original row order."""
    restored = np.empty_like(values)
    restored[order] = values
    return restored


def predict_in_batches(
    predict,
    seqs: list[np.ndarray],
    strategy: str,
    batch_size: int,
    max_length: int,
    pad_id: int = 0,
    inputs: Sequence[str] = MODEL_INPUTS,
) -> np.ndarray:
    """Run `predict(inputs) -> logits` over unpadded sequences with a strategy; logits in input order."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    plan = plan_batches(lengths, batch_size, strategy, max_length)
    outputs = [
        predict(pad_batch([seqs[i] for i in batch], int(length), pad_id, inputs))
        for batch, length in zip(plan.batches, plan.padded_lengths)
    ]
    return restore_order(np.concatenate(outputs), plan.order)


def split_by_cost(lengths_desc: np.ndarray, call_cost: float) -> list[tuple[int, int]]:
    """Split length-sorted (descending) sequences into contiguous model calls.

    Minimises sum over calls of (count x longest) + `call_cost`, i.e. padded positions plus a
    per-call price in tokens (launch overhead, small-batch inefficiency). Exact by dynamic
    programming; O(n^2) for the few dozen sequences a serving batch holds.
    """
    n = len(lengths_desc)
    best = [0.0] + [float("inf")] * n
    start = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            cost = best[i] + (j - i) * float(lengths_desc[i]) + call_cost
            if cost < best[j]:
                best[j], start[j] = cost, i
    chunks, j = [], n
    while j > 0:
        chunks.append((start[j], j))
        j = start[j]
    return chunks[::-1]


QUADRATIC_FROM = 128  # tokens: past this length, attention (count x length^2) outweighs the rest of a call's memory


def bounded_calls(lengths_desc: np.ndarray, call_cost: float, max_tokens: int, max_rows: int) -> list[tuple[int, int]]:
    """`split_by_cost`'s calls, each cut further so that none computes more than `max_tokens` padded positions
    (count x longest) or `max_rows` rows, and, for sequences longer than QUADRATIC_FROM, no more attention
    than `max_tokens` positions of that length would take (the budget shrinks as length / QUADRATIC_FROM).
    So what one request sends cannot size a model call, nor its memory, beyond the configuration (what that
    costs and saves: docs/serving.md, bench/results/serve-memory-cpu/). A single sequence is never cut."""
    calls = []
    for a, b in split_by_cost(lengths_desc, call_cost):
        longest = max(1, int(lengths_desc[a]))
        rows = max(1, min(max_rows, max_tokens // longest, max_tokens * QUADRATIC_FROM // longest**2))
        calls += [(i, min(i + rows, b)) for i in range(a, b, rows)]
    return calls
