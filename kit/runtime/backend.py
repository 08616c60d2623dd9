"""The one interface for what runs the model. Every backend is built the same way,

    backend = build_backend(spec, model, BackendOptions(threads=2))    # kit.runtime.registry

(`model`: an export folder for ONNX Runtime and OpenVINO, a model folder or hub id for PyTorch), and
carries the model's contract with it (`kit.task`): its fast tokenizer (truncating on the task's side),
`max_length`, `pad_id`, `labels` and the `inputs` its model takes. Batches
come from `kit.batching`; `predict(batch) -> logits` (float32 numpy). `timed(batch)` also returns the
model call's milliseconds, synchronized with the device, for the benchmark. Texts in, logits out is
`kit.runtime.text_classifier.TextClassifier`, built on top of any backend.
"""

from __future__ import annotations

import resource
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from kit.errors import ModelError

MODEL_FOLDER = "model folder"  # what a backend that runs a model folder (PyTorch) runs, rather than an export


@dataclass(frozen=True)
class BackendSpec:
    """A backend (its registry name) and what of the model it runs: PyTorch's precision (fp32, bf16) or an
    export's variant (fp32, int8, ov-int8, ...)."""

    name: str
    variant: str = "fp32"

    @property
    def label(self) -> str:
        return f"{self.name}:{self.variant}"


@dataclass(frozen=True)
class BackendOptions:
    """How any backend is built; each reads the fields that concern it."""

    provider: str = "auto"  # where a backend whose name does not say runs (torch): auto, cpu or cuda
    threads: int | None = None  # intra-op threads (ONNX Runtime, OpenVINO)  [default: all cores]
    streams: int = 1  # model calls that may run at once (OpenVINO streams; the server's parallel_calls)
    spinning: bool = True  # ONNX Runtime: idle threads busy-wait for the next call
    allow_invalid: bool = False  # load a variant its export judged invalid (the benchmark times it anyway)
    compile: bool = False  # torch.compile
    no_weights: bool = False  # torch from a config: the architecture with (seeded) random weights
    config_overrides: str | None = None  # with no_weights: a resized architecture
    seed: int = 0  # the random weights' seed, so every precision and the export get the same ones


class BackendUnavailable(ModelError):
    """What was asked cannot run here, and nothing is wrong with the model (the benchmark reports it as
    skipped): a provider that cannot start, a variant built for another runtime."""


class Backend(ABC):
    """Subclasses declare what they run and where (the class attributes), and set, in
    `__init__(spec, model, options)`, every attribute below them."""

    runs: ClassVar[str]  # MODEL_FOLDER, or the runtime an export variant records ("onnxruntime", "openvino")
    also_runs: ClassVar[tuple[str, ...]] = ()  # other runtimes' variants it can load (OpenVINO reads ONNX)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)  # where it can run

    spec: BackendSpec
    runs_on: str  # where the model really runs: "cuda" or "cpu" (the provider's own answer, not the request)
    providers: list[str]  # the runtime's own list of where it runs (ONNX Runtime's providers, OpenVINO's devices)
    tokenizer: object  # a `tokenizers.Tokenizer` truncating at max_length on the task's side (`truncating`)
    max_length: int
    pad_id: int
    labels: list[str]
    inputs: list[str]  # what the model takes, of kit.task.MODEL_INPUTS: pad batches with these
    description: str  # what runs, for logs and results: "onnxruntime cpu, exports/nsmc int8"
    tf32: bool | None = None  # fp32 matmuls as TF32 on CUDA; None where that does not apply
    note: str | None = None  # said beside every cell it measures (e.g. a variant its export judged invalid)
    choice: str | None = None  # why this variant, where `--variant auto` chose it

    @abstractmethod
    def __init__(self, spec: BackendSpec, model: str | Path, options: BackendOptions = BackendOptions()): ...

    @staticmethod
    @abstractmethod
    def unavailable_reason(spec: BackendSpec, provider: str) -> str | None:
        """Why `spec` cannot run on this machine on `provider` (auto, cpu or cuda), reported as skipped by the
        benchmark, else None."""

    @abstractmethod
    def timed(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        """Logits and the model call's milliseconds."""

    def predict(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return self.timed(batch)[0]

    def peak_memory_mb(self) -> float | None:
        return cpu_peak_rss_mb()


def cpu_peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024
