"""PyTorch on padded numpy batches: the benchmark's torch backend, `predict` on a finetune folder, and the
fp32 reference every export is validated against. It reads the model's own fast tokenizer, so it is fed
exactly what the ONNX Runtime and OpenVINO backends are."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from kit.errors import ModelError
from kit.runtime.backend import MODEL_FOLDER, Backend, BackendOptions, BackendSpec, cpu_peak_rss_mb
from kit.runtime.text_classifier import truncating

TORCH_DTYPES = ("fp32", "fp16", "bf16")


def _device(provider: str):
    import torch

    if provider == "cuda" and not torch.cuda.is_available():
        raise ModelError("--provider cuda: PyTorch sees no CUDA device here; use --provider cpu or auto")
    return torch.device("cuda" if provider == "cuda" or (provider == "auto" and torch.cuda.is_available()) else "cpu")


class TorchBackend(Backend):
    """Eager PyTorch (SDPA attention), weights cast to the precision (the spec's variant); optionally
    torch.compile."""

    runs = MODEL_FOLDER
    devices = ("cpu", "cuda")

    def __init__(self, spec: BackendSpec, model: str | Path, options: BackendOptions = BackendOptions()):
        import torch
        from transformers import set_seed

        from kit.runtime.hf import load_model, load_tokenizer, model_inputs, run_max_length, run_task
        from kit.task import usable_positions

        self.torch = torch
        self.spec = spec
        self.device = _device(options.provider)
        set_seed(options.seed)  # random weights (no_weights) come out the same for every precision and the export
        loaded = load_model(str(model), no_weights=options.no_weights, config_overrides=options.config_overrides)
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[spec.variant]
        self.model = loaded.eval().to(self.device, dtype)
        self.forward = torch.compile(self.model, dynamic=True) if options.compile else self.model
        self.runs_on = self.device.type
        self.providers = [str(self.device)]
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.inputs = model_inputs(self.model)
        task = run_task(model)  # a finetune folder's task; else the model's own limits and tokenizer
        self.max_length = run_max_length(model) or min(512, usable_positions(config.to_dict()))
        tokenizer = load_tokenizer(str(model), task.truncation_side if task else None)
        self.pad_id = tokenizer.pad_token_id or 0
        self.tokenizer = truncating(tokenizer.backend_tokenizer, self.max_length, tokenizer.truncation_side)
        self.description = f"torch {self.runs_on} {spec.variant}, {model}"
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            # TF32 only concerns fp32 matmuls; "highest" (PyTorch's default) keeps them fp32
            self.tf32 = torch.get_float32_matmul_precision() != "highest" if spec.variant == "fp32" else None

    @staticmethod
    def unavailable_reason(spec: BackendSpec, provider: str) -> str | None:
        import torch

        if spec.variant not in TORCH_DTYPES:
            return f"torch precision must be one of {', '.join(TORCH_DTYPES)}"
        if spec.variant == "fp16" and not torch.cuda.is_available():
            return "fp16 needs a CUDA GPU (CPU kernels emulate it); use torch:bf16 on CPU"
        return None

    def timed(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        """CUDA events on GPU, so the time is the device's, not the launch's."""
        torch = self.torch
        with torch.inference_mode():
            # what the model takes of what the batch holds (an export of RoBERTa is fed no token_type_ids)
            inputs = {
                k: torch.from_numpy(batch[k]).to(self.device, non_blocking=True) for k in self.inputs if k in batch
            }
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
