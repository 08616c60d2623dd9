"""ONNX Runtime on one export variant, with onnxruntime + tokenizers only (no torch, no transformers): the
serving path, `predict` on an export, export validation and the `ort-*` benchmark backends.

`ort-cpu` runs on the CPU, `ort-cuda` on CUDA or not at all (IO binding: inputs copied once, logits left
on the GPU until the call is done); `ort` runs where `BackendOptions.provider` says (auto: CUDA where it
really loads) and is then named for where it runs.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from kit.runtime.backend import BackendOptions, BackendSpec
from kit.runtime.export_folder import ExportBackend
from kit.runtime.ort_providers import create_session, cuda_built, session_provider


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


class OrtBackend(ExportBackend):
    runs = "onnxruntime"
    devices = ("cpu", "cuda")

    def __init__(self, spec: BackendSpec, model: str | Path, options: BackendOptions = BackendOptions()):
        export = self._open(model, spec, options)
        self.session = create_session(export.model_path, options.provider, options.threads, options.spinning)
        self.runs_on = session_provider(self.session)  # where it really runs, whatever was asked
        export.check_logits(self.session.get_outputs()[0].shape[-1])
        self.spec = BackendSpec(f"ort-{self.runs_on}", export.name)
        self.providers = self.session.get_providers()
        self.tf32 = False if self.runs_on == "cuda" else None  # kit.runtime.ort_providers.CUDA_OPTIONS
        self.description = f"onnxruntime {self.runs_on}, {export.folder} {export.name}"
        self._inputs = [i.name for i in self.session.get_inputs()]  # only those the graph declares

    @staticmethod
    def unavailable_reason(spec: BackendSpec, provider: str) -> str | None:
        if importlib.util.find_spec("onnxruntime") is None:
            return "onnxruntime is not installed"
        if provider == "cuda" and not cuda_built():
            return "no CUDAExecutionProvider (needs onnxruntime-gpu and a CUDA GPU)"
        if provider == "cpu" and spec.variant == "O4":
            return "O4 is an fp16 GPU export; run it on CUDA"
        return None

    def timed(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        if self.runs_on == "cuda":
            return bound_run(self.session, batch, "cuda")
        t0 = time.perf_counter()
        logits = self.session.run(["logits"], {name: batch[name] for name in self._inputs})[0]
        return logits.astype(np.float32, copy=False), (time.perf_counter() - t0) * 1e3

    def peak_memory_mb(self) -> float | None:
        return None if self.runs_on == "cuda" else super().peak_memory_mb()
