"""The backend registry: adding a backend is one class in `kit/runtime` and one line here.

    spec = parse_backend("ort-cpu:int8"); BACKENDS[spec.name].unavailable_reason(spec)

Backend modules import their heavy libraries (torch, onnxruntime) only when built, so this
registry is cheap to import.
"""

from __future__ import annotations

from kit.errors import KitError
from kit.runtime.backend import BackendSpec
from kit.runtime.ort_backend import OrtBackend
from kit.runtime.torch_backend import TorchBackend

BACKENDS = {"torch": TorchBackend, "ort-cpu": OrtBackend, "ort-cuda": OrtBackend}


def parse_backend(text: str) -> BackendSpec:
    """`torch:bf16` -> BackendSpec("torch", "bf16"); the precision defaults to fp32."""
    name, _, precision = text.partition(":")
    if name not in BACKENDS:
        raise KitError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    return BackendSpec(name, precision or "fp32")
