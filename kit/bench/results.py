"""What a benchmark measured: one `Cell` per backend x strategy x batch size (or load-test level),
and the `BenchResult` that holds them with the environment. Written by `kit.bench.runner` and
`kit.bench.loadtest`, rendered by `kit.bench.report`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

OLD_STRATEGY_NAMES = {"sorted": "bucketed"}  # results written before the benchmark used the batching names


@dataclass
class Cell:
    """One measured combination. Times in ms; throughput end to end (tokenization included)."""

    scenario: str
    backend: str
    precision: str
    strategy: str
    max_length: int
    batch_size: int
    status: str = "ok"  # ok | skipped
    reason: str | None = None  # why skipped; for a measured cell, a caveat
    rows: int = 0
    accuracy: float | None = None
    f1: float | None = None
    agreement: float | None = None  # share of predictions equal to the reference (torch fp32, else the first fp32)
    accuracy_delta: float | None = None  # accuracy minus the reference's on the same rows
    accuracy_delta_ci95: list[float] | None = None  # its paired (McNemar) 95% interval
    latency_ms: dict | None = None  # per batch: count, mean, p50, p90, p99, min, max
    samples_per_s: float | None = None
    real_tokens_per_s: float | None = None
    tokenize_s: float | None = None
    padding_efficiency: float | None = None
    peak_memory_mb: float | None = None
    runs_on: str | None = None  # where the model really ran: "cuda" or "cpu" (ONNX Runtime's actual provider)
    tf32: bool | None = None  # fp32 matmuls computed as TF32 (CUDA only; None where it does not apply)
    concurrency: int | None = None  # closed-loop load test: clients in flight
    offered_per_s: float | None = None  # open-loop load test: requests/s scheduled
    quarter_p99_ms: list[float] | None = None  # load test: p99 per quarter of the run (growing: over capacity)
    errors: dict[str, int] | None = None  # loadtest: failed requests by status

    @property
    def strategy_label(self) -> str:
        """`fixed-128` (fixed pads to its length), else the strategy's name."""
        return f"{self.strategy}-{self.max_length}" if self.strategy == "fixed" else self.strategy

    @property
    def label(self) -> str:
        return f"{self.backend}:{self.precision} {self.strategy_label} b{self.batch_size}"


@dataclass
class BenchResult:
    config: dict
    environment: dict
    accuracy_meaningful: bool
    cells: list[Cell]

    def to_dict(self) -> dict:
        return {
            "config": self.config,
            "environment": self.environment,
            "accuracy_meaningful": self.accuracy_meaningful,
            "cells": [asdict(c) for c in self.cells],
        }

    @classmethod
    def from_dict(cls, data: dict) -> BenchResult:
        cells = [Cell(**c | {"strategy": OLD_STRATEGY_NAMES.get(c["strategy"], c["strategy"])}) for c in data["cells"]]
        return cls(data["config"], data["environment"], data["accuracy_meaningful"], cells)
