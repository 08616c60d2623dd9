"""What runs the model. A backend has a spec (name + precision), a loader, and
`predict(batch) -> logits` (float32 numpy) with a device-synchronized timing.

    BACKENDS = {"torch": TorchBackend, "ort-cpu": OrtBackend, "ort-cuda": OrtBackend}

Heavy libraries are imported inside the backend that needs them. A backend that
cannot run here says why (`unavailable_reason`) and is reported as skipped.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TORCH_DTYPES = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class BackendSpec:
    """`torch:bf16`, `ort-cpu:int8`, `ort-cuda:O4`: backend name and its precision or export variant."""

    name: str
    precision: str = "fp32"

    @classmethod
    def parse(cls, text: str) -> BackendSpec:
        name, _, precision = text.partition(":")
        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
        return cls(name, precision or "fp32")

    @property
    def label(self) -> str:
        return f"{self.name}:{self.precision}"


def cpu_peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


class TorchBackend:
    """Eager PyTorch (SDPA attention), weights cast to the precision; optionally torch.compile."""

    def __init__(self, spec: BackendSpec, model, compile: bool = False):
        import torch

        self.torch = torch
        self.spec = spec
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[spec.precision]
        self.model = model.eval().to(self.device, dtype)
        self.forward = torch.compile(self.model, dynamic=True) if compile else self.model
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()

    @staticmethod
    def unavailable_reason(spec: BackendSpec) -> str | None:
        import torch

        if spec.precision not in TORCH_DTYPES:
            return f"torch precision must be one of {', '.join(TORCH_DTYPES)}"
        if spec.precision == "fp16" and not torch.cuda.is_available():
            return "fp16 needs a CUDA GPU (CPU kernels emulate it); use torch:bf16 on CPU"
        return None

    def predict(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        """Logits and the model call's milliseconds (CUDA events on GPU, so the time is the device's)."""
        torch = self.torch
        with torch.inference_mode():
            inputs = {k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in batch.items()}
            if self.device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                logits = self.forward(**inputs).logits
                end.record()
                torch.cuda.synchronize()
                ms = start.elapsed_time(end)
            else:
                t0 = time.perf_counter()
                logits = self.forward(**inputs).logits
                ms = (time.perf_counter() - t0) * 1e3
        return logits.float().cpu().numpy(), ms

    def peak_memory_mb(self) -> float:
        if self.device.type == "cuda":
            return self.torch.cuda.max_memory_allocated() / (1 << 20)
        return cpu_peak_rss_mb()


class OrtBackend:
    """ONNX Runtime on one export variant. On CUDA, IO binding keeps outputs on the device and
    binds inputs once per call, so host copies do not dominate small batches."""

    def __init__(self, spec: BackendSpec, export_dir: Path, threads: int | None = None):
        from kit.onnx_model import OnnxClassifier

        self.spec = spec
        self.provider = "cuda" if spec.name == "ort-cuda" else "cpu"
        self.classifier = OnnxClassifier(export_dir, spec.precision, self.provider, threads)
        self.session = self.classifier.session
        self.input_names = [i.name for i in self.session.get_inputs()]

    @staticmethod
    def unavailable_reason(spec: BackendSpec) -> str | None:
        try:
            import onnxruntime as ort
        except ImportError:
            return "onnxruntime is not installed"
        if spec.name == "ort-cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
            return "no CUDAExecutionProvider (needs onnxruntime-gpu and a CUDA GPU)"
        if spec.name == "ort-cpu" and spec.precision == "O4":
            return "O4 is an fp16 GPU export; use it with ort-cuda"
        return None

    def predict(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
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
        return None if self.provider == "cuda" else cpu_peak_rss_mb()


BACKENDS = {"torch": TorchBackend, "ort-cpu": OrtBackend, "ort-cuda": OrtBackend}
