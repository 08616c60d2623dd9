"""The backend registry: adding a backend is one class in `kit/runtime` and one line here.

    spec = parse_backend("ort-cpu:int8"); BACKENDS[spec.name].unavailable_reason(spec)
    backend = BACKENDS[spec.name](spec, "exports/nsmc", BackendOptions())

Backend modules import their heavy libraries (torch, onnxruntime, openvino) only when built, so this
registry is cheap to import.
"""

from __future__ import annotations

from kit.errors import KitError
from kit.runtime.backend import BackendSpec
from kit.runtime.openvino_backend import OpenVinoBackend
from kit.runtime.ort_backend import OrtBackend
from kit.runtime.torch_backend import TorchBackend

# "ort" runs where BackendOptions.provider says (auto: CUDA where it really loads) and is renamed for where it ran
BACKENDS = {
    "torch": TorchBackend,
    "ort": OrtBackend,
    "ort-cpu": OrtBackend,
    "ort-cuda": OrtBackend,
    "openvino": OpenVinoBackend,
}


def parse_backend(text: str) -> BackendSpec:
    """`torch:bf16` -> BackendSpec("torch", "bf16"); the precision defaults to fp32."""
    name, _, precision = text.partition(":")
    if name not in BACKENDS:
        raise KitError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    return BackendSpec(name, precision or "fp32")


def variant_backend(variant: dict) -> str:
    """The backend that runs an export variant: OpenVINO for its own variants, else ONNX Runtime."""
    return "openvino" if variant.get("runtime") == "openvino" else "ort"
