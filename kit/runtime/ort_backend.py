"""ONNX Runtime on one export variant, as a benchmark backend (CPU, or CUDA with IO binding)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from kit.runtime.backend import Backend, BackendSpec
from kit.runtime.onnx_session import OnnxClassifier, cuda_available


class OrtBackend(Backend):
    """On CUDA, IO binding keeps outputs on the device and binds inputs once per call, so host
    copies do not dominate small batches."""

    def __init__(self, spec: BackendSpec, export_dir: Path, threads: int | None = None):
        self.spec = spec
        self.provider = "cuda" if spec.name == "ort-cuda" else "cpu"
        self.classifier = OnnxClassifier(export_dir, spec.precision, self.provider, threads)
        self.session = self.classifier.session
        self.input_names = [i.name for i in self.session.get_inputs()]

    @staticmethod
    def unavailable_reason(spec: BackendSpec) -> str | None:
        if importlib.util.find_spec("onnxruntime") is None:
            return "onnxruntime is not installed"
        if spec.name == "ort-cuda" and not cuda_available():
            return "no CUDAExecutionProvider (needs onnxruntime-gpu and a CUDA GPU)"
        if spec.name == "ort-cpu" and spec.precision == "O4":
            return "O4 is an fp16 GPU export; use it with ort-cuda"
        return None

    def timed(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        if self.provider == "cpu":
            t0 = time.perf_counter()
            logits = self.classifier.run(batch)
            return logits, (time.perf_counter() - t0) * 1e3
        import onnxruntime as ort

        binding = self.session.io_binding()
        for name in self.input_names:
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(batch[name], "cuda", 0))
        binding.bind_output("logits", "cuda")
        t0 = time.perf_counter()
        self.session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        ms = (time.perf_counter() - t0) * 1e3
        return binding.copy_outputs_to_cpu()[0].astype(np.float32, copy=False), ms

    def peak_memory_mb(self) -> float | None:
        return None if self.provider == "cuda" else super().peak_memory_mb()
