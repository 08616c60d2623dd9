"""PyTorch inference on padded numpy batches: the benchmark's torch backend, `predict` on a
finetune folder, and the fp32 reference every export is validated against."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from kit.errors import ModelError
from kit.runtime.backend import Backend, BackendSpec, cpu_peak_rss_mb
from kit.runtime.text_classifier import TextClassifier, load_tokenizer_json

TORCH_DTYPES = ("fp32", "fp16", "bf16")


class TorchBackend(Backend):
    """Eager PyTorch (SDPA attention), weights cast to the precision; optionally torch.compile."""

    def __init__(self, spec: BackendSpec, model, compile: bool = False, device: str | None = None):
        import torch

        self.torch = torch
        self.spec = spec
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[spec.precision]
        self.model = model.eval().to(self.device, dtype)
        self.forward = torch.compile(self.model, dynamic=True) if compile else self.model
        self.runs_on = self.device.type
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            # TF32 only concerns fp32 matmuls; "highest" (PyTorch's default) keeps them fp32
            self.tf32 = torch.get_float32_matmul_precision() != "highest" if spec.precision == "fp32" else None

    @staticmethod
    def unavailable_reason(spec: BackendSpec) -> str | None:
        import torch

        if spec.precision not in TORCH_DTYPES:
            return f"torch precision must be one of {', '.join(TORCH_DTYPES)}"
        if spec.precision == "fp16" and not torch.cuda.is_available():
            return "fp16 needs a CUDA GPU (CPU kernels emulate it); use torch:bf16 on CPU"
        return None

    def timed(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        """CUDA events on GPU, so the time is the device's, not the launch's."""
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


class TorchClassifier(TextClassifier):
    """A `nsmckit finetune` folder (or any local classifier folder with tokenizer.json) on PyTorch, fed by
    the same fast tokenizer and batching as the ONNX path, so both predict from identical inputs."""

    def __init__(self, folder: str | Path, precision: str = "fp32", device: str | None = None):
        import torch

        from kit.runtime.hf import load_model, run_max_length

        if device == "cuda" and not torch.cuda.is_available():
            raise ModelError("--provider cuda: PyTorch sees no CUDA device here; use --provider cpu or auto")
        model = load_model(str(folder))
        config = model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.max_length = run_max_length(folder) or min(512, config.max_position_embeddings)
        self.pad_id = config.pad_token_id or 0
        self.tokenizer = load_tokenizer_json(Path(folder) / "tokenizer.json", self.max_length)
        self.backend = TorchBackend(BackendSpec("torch", precision), model, device=device)
        self.run = self.backend.predict
        self.description = f"torch {self.backend.device.type} {precision}, {folder}"
