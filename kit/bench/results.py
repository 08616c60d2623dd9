"""What a measurement found, one typed cell per scenario: `InferenceCell` (backend x strategy x batch size:
speed, latency, accuracy), `TrainCell` (optimizer steps per strategy), `LoadCell` (a load-test level
against a running server), and the `BenchResult` that holds them with the environment. Written by
`kit.bench.inference`, `kit.bench.training` and `kit.bench.loadtest`, rendered by `kit.bench.report`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

OLD_STRATEGY_NAMES = {"sorted": "bucketed"}  # results written before the benchmark used the batching names


@dataclass(kw_only=True)
class Cell:
    """What every scenario reports. Times in ms; throughput end to end (tokenization included)."""

    scenario: str
    status: str = "ok"  # ok | skipped | failed
    reason: str | None = None  # why not ok; for a measured cell, a caveat
    rows: int = 0
    samples_per_s: float | None = None
    latency_ms: dict | None = None  # count, mean, p50, p90, p99, p999, min, max (per batch, or per request)


@dataclass(kw_only=True)
class GridCell(Cell):
    """One backend x strategy x batch size of the benchmark grid."""

    backend: str
    precision: str  # torch's dtype, or the export variant
    strategy: str
    max_length: int  # fixed: the pad length; else the truncation
    batch_size: int
    real_tokens_per_s: float | None = None
    padding_efficiency: float | None = None
    model: str | None = None  # which model or export, where a bench sets several side by side

    @property
    def strategy_label(self) -> str:
        """`fixed-128` (fixed pads to its length), else the strategy's name."""
        return f"{self.strategy}-{self.max_length}" if self.strategy == "fixed" else self.strategy

    @property
    def series(self) -> str:
        """What runs: `backend:precision`, after its model where several are compared."""
        runs = f"{self.backend}:{self.precision}"
        return f"{self.model} {runs}" if self.model else runs

    @property
    def label(self) -> str:
        return f"{self.series} {self.strategy_label} b{self.batch_size}"


@dataclass(kw_only=True)
class InferenceCell(GridCell):
    scenario: str = "inference"
    accuracy: float | None = None
    macro_f1: float | None = None
    f1: float | None = None  # binary tasks: class 1's F1
    per_class_f1: dict[str, float] | None = None  # each label's F1, by name
    agreement: float | None = None  # share of predictions equal to the reference (torch fp32, else the first fp32)
    accuracy_delta: float | None = None  # accuracy minus the reference's on the same rows
    accuracy_delta_ci95: list[float] | None = None  # its paired (McNemar) 95% interval
    tokenize_s: float | None = None
    peak_memory_mb: float | None = None
    runs_on: str | None = None  # where the model really ran: "cuda" or "cpu" (the runtime's own answer)
    tf32: bool | None = None  # fp32 matmuls computed as TF32 (CUDA only; None where it does not apply)


@dataclass(kw_only=True)
class TrainCell(GridCell):
    scenario: str = "train"


@dataclass(kw_only=True)
class LoadCell(Cell):
    """One load-test level: `concurrency` clients (closed loop) or `offered_per_s` requests/s (open loop)."""

    scenario: str = "loadtest"
    variant: str  # what the server ran (its /info)
    max_length: int
    texts_per_request: int
    concurrency: int | None = None
    offered_per_s: float | None = None
    quarter_p99_ms: list[float] | None = None  # p99 per quarter of the level (growing: over capacity)
    errors: dict[str, int] | None = None  # failed requests by status

    @property
    def loop(self) -> str:
        return "open" if self.offered_per_s is not None else "closed"

    @property
    def label(self) -> str:
        load = f"{self.offered_per_s:,.1f} req/s" if self.loop == "open" else f"{self.concurrency} clients"
        return f"{self.variant} {load} x{self.texts_per_request}"


CELLS = {"inference": InferenceCell, "train": TrainCell, "loadtest": LoadCell}


def cell_from_dict(data: dict) -> Cell:
    """A cell as results.json holds it, also as written before cells were typed (a load-test level kept
    its variant in `precision`, its texts per request in `batch_size`)."""
    data = dict(data)
    kind = CELLS[data["scenario"]]
    if kind is LoadCell and "variant" not in data:
        data["variant"], data["texts_per_request"] = data["precision"], data["batch_size"]
    if "strategy" in data:
        data["strategy"] = OLD_STRATEGY_NAMES.get(data["strategy"], data["strategy"])
    names = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in data.items() if k in names})


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
        cells = [cell_from_dict(c) for c in data["cells"]]
        return cls(data["config"], data["environment"], data["accuracy_meaningful"], cells)
