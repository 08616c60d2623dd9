"""The server's batcher, event by event on the real model: how a batch is formed (token budget, size,
carry-over of the request that did not fit) and how long a request waits for company. Every request is
queued before the batcher starts, or the assertion is on an event, so no outcome depends on timing."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from kit.runtime.classifiers import load_classifier
from kit.serve.config import BatcherConfig
from kit.serve.request_batcher import DynamicBatcher

LONG_WAIT_MS = 60_000.0  # far longer than any test: a request answered early was not waiting on it


@pytest.fixture(scope="module")
def classifier(tiny_export):
    return load_classifier(tiny_export.path)


def ids(length: int, start: int = 5) -> np.ndarray:
    """A sequence of `length` token ids (distinct contents, so answers can be told apart)."""
    return np.arange(start, start + length, dtype=np.int64) % 500 + 5


async def queued_then_started(batcher: DynamicBatcher, requests: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Submit every request, let them all reach the queue, then start the batcher: batches are formed from
    a full queue, in order, exactly as the rules say."""
    tasks = [asyncio.ensure_future(batcher.submit(seqs)) for seqs in requests]
    await asyncio.sleep(0)  # each submit runs up to its await: every request is queued
    assert batcher.queued_sequences == sum(map(len, requests))
    batcher.start()
    answers = await asyncio.gather(*tasks)
    await batcher.stop()
    return answers


def test_batches_fill_to_the_token_budget_and_the_request_that_did_not_fit_leads_the_next(classifier):
    batches = []
    config = BatcherConfig(max_batch_tokens=64, max_batch_size=64, max_wait_ms=0)
    batcher = DynamicBatcher(classifier.run, classifier.pad_id, config, on_batch=batches.append)
    # 16-token sequences: four fit 64 padded positions. Requests of 1, 2, 1, 1, 3 and 1 sequences.
    requests = [[ids(16, i * 7 + j) for j in range(n)] for i, n in enumerate((1, 2, 1, 1, 3, 1))]
    answers = asyncio.run(queued_then_started(batcher, requests))
    # 1+2+1 = 4 fit; the next (1) would make 5 x 16 = 80 > 64, so it waits and leads the next batch with the 3.
    assert [b.sequences for b in batches] == [4, 4, 1]
    assert all(b.padded_tokens <= 64 for b in batches)
    for seqs, rows in zip(requests, answers):  # every request got its own rows, in order
        np.testing.assert_allclose(rows, classifier.run(_padded(seqs, classifier.pad_id)), atol=1e-5)


def test_a_full_batch_goes_at_once_without_waiting_for_max_wait(classifier):
    config = BatcherConfig(max_batch_size=2, max_wait_ms=LONG_WAIT_MS)
    batches = []

    async def run():
        batcher = DynamicBatcher(classifier.run, classifier.pad_id, config, on_batch=batches.append)
        batcher.start()
        first = asyncio.ensure_future(batcher.submit([ids(8)]))
        await asyncio.sleep(0.2)
        lonely = not first.done()  # alone, it waits for company (up to max_wait_ms)
        second = asyncio.ensure_future(batcher.submit([ids(9)]))
        await asyncio.wait_for(asyncio.gather(first, second), timeout=30)  # full: answered long before 60 s
        await batcher.stop()
        return lonely

    assert asyncio.run(run())
    assert [b.sequences for b in batches] == [2]


def test_with_no_wait_a_lone_request_is_answered_alone(classifier):
    batches = []

    async def run():
        batcher = DynamicBatcher(classifier.run, classifier.pad_id, BatcherConfig(max_wait_ms=0), batches.append)
        batcher.start()
        await asyncio.wait_for(batcher.submit([ids(8)]), timeout=30)
        await batcher.stop()

    asyncio.run(run())
    assert [b.sequences for b in batches] == [1]


def _padded(seqs, pad_id):
    from kit.batching import pad_batch

    return pad_batch(seqs, max(map(len, seqs)), pad_id)
