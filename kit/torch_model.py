"""PyTorch inference on padded numpy batches: the reference the exports are checked against."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class TorchPredictor:
    """`predict(batch) -> logits` (float32 numpy) for a transformers sequence classifier."""

    def __init__(self, model, dtype: str = "fp32", device: str | None = None):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = dtype
        self.model = model.eval().to(self.device)

    def _autocast(self):
        if self.dtype == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=DTYPES[self.dtype])

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode(), self._autocast():
            inputs = {k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in batch.items()}
            logits = self.model(**inputs).logits
        return logits.float().cpu().numpy()
