"""The interface every backend implements: a spec (`torch:bf16`, `ort-cuda:O4`) and
`predict(batch) -> logits` (float32 numpy) on padded batches from `kit.batching`.

`timed(batch)` also returns the model call's milliseconds, synchronized with the device,
for the benchmark; `predict` is `timed` without the time.
"""

from __future__ import annotations

import resource
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BackendSpec:
    """Backend name and its precision (torch) or export variant (ONNX Runtime)."""

    name: str
    precision: str = "fp32"

    @property
    def label(self) -> str:
        return f"{self.name}:{self.precision}"


class Backend(ABC):
    spec: BackendSpec
    runs_on: str  # where the model really runs: "cuda" or "cpu" (ONNX Runtime's provider, torch's device)
    tf32: bool | None = None  # fp32 matmuls as TF32 on CUDA; None where that does not apply
    note: str | None = None  # said beside every cell it measures (e.g. a variant its export judged invalid)

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
