"""ONNX Runtime on one export variant, as a benchmark backend: CPU, or CUDA with IO binding."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from kit.runtime.backend import Backend, BackendSpec
from kit.runtime.onnx_session import OnnxClassifier
from kit.runtime.ort_providers import cuda_built


def bound_run(session, batch: dict[str, np.ndarray], device: str) -> tuple[np.ndarray, float]:
    """One call through IO binding: inputs copied to `device` once, logits left there until the call is done,
    so host copies do not dominate small batches. Milliseconds are the call's, outputs synchronized."""
    import onnxruntime as ort

    binding = session.io_binding()
    for inp in session.get_inputs():
        binding.bind_ortvalue_input(inp.name, ort.OrtValue.ortvalue_from_numpy(batch[inp.name], device, 0))
    binding.bind_output("logits", device)
    t0 = time.perf_counter()
    session.run_with_iobinding(binding)
    binding.synchronize_outputs()
    ms = (time.perf_counter() - t0) * 1e3
    return binding.copy_outputs_to_cpu()[0].astype(np.float32, copy=False), ms


class OrtBackend(Backend):
    """`ort-cuda` binds its inputs and outputs on the GPU; `ort-cpu` runs the session directly."""

    def __init__(self, spec: BackendSpec, export_dir: Path, threads: int | None = None):
        self.spec = spec
        provider = "cuda" if spec.name == "ort-cuda" else "cpu"
        # A variant its export judged invalid is still timed (what it costs in accuracy shows beside its speed).
        self.classifier = OnnxClassifier(export_dir, spec.precision, provider, threads, allow_invalid=True)
        self.note = None if self.classifier.variant["valid"] else "variant failed its export validation"
        self.session = self.classifier.session
        self.runs_on = self.classifier.provider
        self.tf32 = False if self.runs_on == "cuda" else None  # kit.runtime.ort_providers.CUDA_OPTIONS

    @staticmethod
    def unavailable_reason(spec: BackendSpec) -> str | None:
        if importlib.util.find_spec("onnxruntime") is None:
            return "onnxruntime is not installed"
        if spec.name == "ort-cuda" and not cuda_built():
            return "no CUDAExecutionProvider (needs onnxruntime-gpu and a CUDA GPU)"
        if spec.name == "ort-cpu" and spec.precision == "O4":
            return "O4 is an fp16 GPU export; use it with ort-cuda"
        return None

    def timed(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        if self.runs_on == "cuda":
            return bound_run(self.session, batch, "cuda")
        t0 = time.perf_counter()
        logits = self.classifier.run(batch)
        return logits, (time.perf_counter() - t0) * 1e3

    def peak_memory_mb(self) -> float | None:
        return None if self.runs_on == "cuda" else super().peak_memory_mb()
