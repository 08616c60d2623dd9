"""Dynamic batching for the server: one queue, one batcher task, a future per request.

Requests wait in a queue; the batcher takes the oldest, then keeps adding requests
while the batch's padded cost (longest sequence x count, what the model computes)
stays within `max_batch_tokens` and `max_batch_size`, waiting at most `max_wait_ms`
for company. Each batch is length-sorted and split into model calls that waste little on
padding (`split_by_cost`: padded positions plus `call_cost_tokens` per call) and never exceed
the same budget (`bounded_calls`: a request larger than the budget is cut into several calls, so
no client sizes a call, or its memory), run off the event loop (`parallel_calls` batches at a
time), and every request gets its own rows back through its future. A full queue is refused at
once (429).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kit.batching import bounded_calls, pad_batch
from kit.serve.config import BatcherConfig
from kit.task import MODEL_INPUTS


class QueueFull(Exception):
    """The queue holds `max_queue` sequences already; the client should retry later."""


@dataclass
class _Request:
    seqs: list[np.ndarray]
    future: asyncio.Future
    enqueued: float = field(default_factory=time.perf_counter)

    @property
    def longest(self) -> int:
        return max(len(s) for s in self.seqs)


@dataclass
class BatchStats:
    """What one model call looked like, for metrics."""

    sequences: int
    padded_tokens: int
    real_tokens: int
    calls: int
    seconds: float


class DynamicBatcher:
    """`await batcher.submit(seqs)` -> logits rows for those sequences, in order."""

    def __init__(
        self,
        predict: Callable[[dict[str, np.ndarray]], np.ndarray],
        pad_id: int,
        config: BatcherConfig,
        on_batch: Callable[[BatchStats], None] | None = None,
        inputs: Sequence[str] = MODEL_INPUTS,
    ):
        self.predict = predict
        self.pad_id, self.inputs = pad_id, inputs
        self.config = config
        self.on_batch = on_batch
        self.queue: asyncio.Queue[_Request] = asyncio.Queue()
        self.queued_sequences = 0
        self._task: asyncio.Task | None = None
        self._pending: _Request | None = None  # taken from the queue but did not fit the last batch

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        while self.queued_sequences:
            await asyncio.sleep(0.005)
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def submit(self, seqs: list[np.ndarray]) -> np.ndarray:
        if self.queued_sequences + len(seqs) > self.config.max_queue:
            raise QueueFull(f"queue holds {self.queued_sequences} sequences (max {self.config.max_queue})")
        future = asyncio.get_running_loop().create_future()
        self.queued_sequences += len(seqs)
        self.queue.put_nowait(_Request(seqs, future))
        return await future

    def _fits(self, batch: list[_Request], request: _Request) -> bool:
        count = sum(len(r.seqs) for r in batch) + len(request.seqs)
        longest = max([request.longest] + [r.longest for r in batch])
        return count <= self.config.max_batch_size and count * longest <= self.config.max_batch_tokens

    async def _collect(self) -> list[_Request]:
        first = self._pending or await self.queue.get()
        self._pending = None
        batch = [first]
        deadline = first.enqueued + self.config.max_wait_ms / 1e3
        while True:
            timeout = deadline - time.perf_counter()
            try:
                request = self.queue.get_nowait() if timeout <= 0 else await asyncio.wait_for(self.queue.get(), timeout)
            except (asyncio.TimeoutError, asyncio.QueueEmpty):
                return batch
            if not self._fits(batch, request):
                self._pending = request  # first in line for the next batch
                return batch
            batch.append(request)
            if sum(len(r.seqs) for r in batch) >= self.config.max_batch_size:
                return batch  # full: waiting longer could only delay it

    def _predict_all(self, calls: list[dict[str, np.ndarray]]) -> np.ndarray:
        return np.concatenate([self.predict(inputs) for inputs in calls])

    async def _run(self) -> None:
        """Collect a batch whenever a call slot is free; while all slots are busy, requests pile up into
        the next (larger) batch."""
        slots = asyncio.Semaphore(self.config.parallel_calls)
        running: set[asyncio.Task] = set()
        while True:
            await slots.acquire()
            task = asyncio.get_running_loop().create_task(self._serve(await self._collect()))
            running.add(task)
            task.add_done_callback(lambda done: (running.discard(done), slots.release()))

    async def _serve(self, batch: list[_Request]) -> None:
        """Answer every request of the batch with its rows. If the batch fails, each request is retried alone,
        so only a request that fails by itself gets the failure: a bad request cannot fail its batch-mates."""
        seqs = [s for r in batch for s in r.seqs]
        try:
            logits = await self._logits(seqs)
        except Exception as e:
            if len(batch) == 1:
                self._answer(batch[0], error=e)
            else:
                for request in batch:
                    await self._serve_alone(request)
        else:
            offset = 0
            for request in batch:
                self._answer(request, rows=logits[offset : offset + len(request.seqs)])
                offset += len(request.seqs)
        finally:
            self.queued_sequences -= len(seqs)

    async def _serve_alone(self, request: _Request) -> None:
        try:
            self._answer(request, rows=await self._logits(request.seqs))
        except Exception as e:
            self._answer(request, error=e)

    @staticmethod
    def _answer(request: _Request, rows: np.ndarray | None = None, error: Exception | None = None) -> None:
        if request.future.done():  # the client went away
            return
        if error is not None:
            request.future.set_exception(error)
        else:
            request.future.set_result(rows)

    async def _logits(self, seqs: list[np.ndarray]) -> np.ndarray:
        """Length-sort, split into calls by cost, run them off the event loop, restore the order."""
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        order = np.argsort(-lengths, kind="stable")  # similar lengths side by side
        budget = self.config.max_batch_tokens, self.config.max_batch_size
        chunks = bounded_calls(lengths[order], self.config.call_cost_tokens, *budget)
        calls = [
            pad_batch([seqs[i] for i in order[a:b]], int(lengths[order[a]]), self.pad_id, self.inputs)
            for a, b in chunks
        ]
        start = time.perf_counter()
        sorted_logits = await asyncio.get_running_loop().run_in_executor(None, self._predict_all, calls)
        logits = np.empty_like(sorted_logits)
        logits[order] = sorted_logits
        if self.on_batch:
            padded = sum(c["input_ids"].size for c in calls)
            self.on_batch(BatchStats(len(seqs), padded, int(lengths.sum()), len(calls), time.perf_counter() - start))
        return logits
