"""The inference scenario: for every backend x strategy x batch size, a warm-up, then `repeats` timed passes
over the evaluation rows. Tokenization is timed once per length, separately, and added to end-to-end
throughput; accuracy, agreement and the paired accuracy difference are against PyTorch fp32 where it runs.
It only measures: what it measures comes prepared (`kit.bench.subjects`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict

import numpy as np

from kit.batching import pad_batch, plan_batches, restore_order
from kit.bench.config import BenchConfig, strategy_cells
from kit.bench.results import BenchResult, InferenceCell
from kit.bench.stats import summarize
from kit.bench.subjects import Subjects
from kit.environment import environment
from kit.export.validation import paired_accuracy
from kit.metrics import classification_metrics, per_class_f1
from kit.progress import progress_bar
from kit.runtime.backend import BackendSpec, BackendUnavailable
from kit.runtime.registry import folder_backend
from kit.runtime.text_classifier import encode_ids


class Tokenized:
    """Token ids per truncation length, each encoded the way serving encodes (the closing [SEP] kept), and
    how long each took: a fixed-512 cell and a 128-token cell see different ids for a long review."""

    def __init__(self, tokenizer, texts: list[str], progress):
        self.tokenizer, self.texts, self.progress = tokenizer, texts, progress
        self._ids: dict[int, tuple[list[np.ndarray], float]] = {}

    def at(self, length: int) -> tuple[list[np.ndarray], float]:
        if length not in self._ids:
            start = time.perf_counter()
            seqs = encode_ids(self.tokenizer, self.texts, length)
            self._ids[length] = seqs, time.perf_counter() - start
            self.progress(f"{len(seqs):,} evaluation rows tokenized at {length} in {self._ids[length][1]:.2f}s")
        return self._ids[length]


def measure(
    backend,
    seqs: list[np.ndarray],
    labels: np.ndarray | None,
    strategy: str,
    length: int,
    batch_size: int,
    warmup: int,
    repeats: int,
    pad_id: int,
) -> dict:
    """Warm-up, then timed passes over `seqs` (already truncated at `length`); returns the measured fields
    of a Cell (without tokenization)."""
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    plan = plan_batches(lengths, batch_size, strategy, length)
    batches = list(zip(plan.batches, plan.padded_lengths))

    def padded(rows: np.ndarray, pad_to: int) -> dict[str, np.ndarray]:
        return pad_batch([seqs[i] for i in rows], int(pad_to), pad_id, backend.inputs)

    for rows, pad_to in batches[:warmup]:
        backend.timed(padded(rows, pad_to))
    latencies, pass_seconds, logits = [], [], None
    with progress_bar(repeats * len(seqs), f"{backend.spec.label} {strategy} b{batch_size}", leave=False) as bar:
        for _ in range(repeats):
            outputs = []
            start = time.perf_counter()  # the pass includes padding: it is part of serving a batch
            for rows, pad_to in batches:
                out, ms = backend.timed(padded(rows, pad_to))
                outputs.append(out)
                latencies.append(ms)
                bar.update(len(rows))
            pass_seconds.append(time.perf_counter() - start)
            logits = np.concatenate(outputs)
    logits = restore_order(logits, plan.order)
    return {
        "rows": len(seqs),
        **(classification_metrics(labels, logits) if labels is not None else {}),
        "per_class_f1": per_class_f1(labels, logits, backend.labels) if labels is not None else None,
        "preds": logits.argmax(-1),
        "latency_ms": summarize(latencies).to_dict(),
        "pass_s": float(np.median(pass_seconds)),
        "real_tokens": int(lengths.sum()),
        "padding_efficiency": plan.padding_efficiency(lengths),
        "peak_memory_mb": backend.peak_memory_mb(),
    }


def run(
    config: BenchConfig, subjects: Subjects, progress=print, on_cell: Callable[[BenchResult], None] | None = None
) -> BenchResult:
    """Every cell of the grid, `on_cell(result so far)` after each one."""
    specs, reasons, rows = subjects.specs, subjects.reasons, subjects.rows
    settings = asdict(config) | {"backends": [spec.label for spec in specs]}
    result = BenchResult(settings, environment(), not subjects.random_weights, [])
    tokenized = Tokenized(subjects.tokenizer, rows.texts, progress)
    reference = None
    # Agreement and accuracy deltas are against torch fp32 where it runs, else the first fp32 backend.
    fp32 = [s for s in specs if s.variant == "fp32" and reasons[s] is None]
    pytorch = BackendSpec(folder_backend())
    reference_spec = pytorch if pytorch in fp32 else next(iter(fp32), None)
    for spec in specs:
        reason = reasons[spec]
        if reason is None:
            try:
                backend = subjects.build(spec)
            except BackendUnavailable as e:  # e.g. a CUDA build that cannot start CUDA here: skipped, not faked
                reason = str(e)
        for strategy, length in strategy_cells(config):
            for batch_size in config.batch_sizes:
                cell = InferenceCell(
                    backend=spec.name,
                    precision=spec.variant,
                    strategy=strategy,
                    max_length=length,
                    batch_size=batch_size,
                    model=config.name,
                )
                result.cells.append(cell)
                if reason is not None:
                    cell.status, cell.reason = "skipped", reason
                    continue
                seqs, tokenize_s = tokenized.at(length)
                m = measure(
                    backend,
                    seqs,
                    rows.labels,
                    strategy,
                    length,
                    batch_size,
                    config.warmup,
                    config.repeats,
                    pad_id=backend.pad_id,
                )
                if reference is None and spec == reference_spec:
                    reference = m["preds"]
                if reference is not None:
                    cell.agreement = float(np.mean(m["preds"] == reference))
                if reference is not None and rows.labels is not None:
                    paired = paired_accuracy(rows.labels, reference, m["preds"], tolerance=0.0)
                    cell.accuracy_delta, cell.accuracy_delta_ci95 = paired.difference, list(paired.ci95)
                seconds = m["pass_s"] + tokenize_s
                cell.rows, cell.accuracy = m["rows"], m.get("accuracy")
                cell.macro_f1, cell.f1, cell.per_class_f1 = m.get("macro_f1"), m.get("f1"), m["per_class_f1"]
                cell.latency_ms, cell.padding_efficiency = m["latency_ms"], m["padding_efficiency"]
                cell.samples_per_s, cell.real_tokens_per_s = m["rows"] / seconds, m["real_tokens"] / seconds
                cell.tokenize_s, cell.peak_memory_mb = tokenize_s, m["peak_memory_mb"]
                cell.runs_on, cell.tf32, cell.reason = backend.runs_on, backend.tf32, backend.note
                progress(f"{cell.label}: {cell.samples_per_s:,.1f} samples/s, p50 {cell.latency_ms['p50']:.2f} ms")
                if on_cell:
                    on_cell(result)
        if reason is not None:
            progress(f"{spec.label}: skipped ({reason})")
    return result
