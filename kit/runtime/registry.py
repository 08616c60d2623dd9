"""The backend registry: adding a backend is one class in `kit/runtime` and one entry here. What a backend
can do (the artifact it runs, the devices it runs on) is asked of its class; what its name fixes (ort-cpu
runs on the CPU) is its entry's. Nothing outside this module compares backend names.

    spec = parse_backend("ort-cpu:int8"); unavailable_reason(spec)
    backend = build_backend(spec, "exports/nsmc", BackendOptions())

Backend modules import their heavy libraries (torch, onnxruntime, openvino) only when built, so this
registry is cheap to import.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kit.errors import KitError, ModelError
from kit.runtime.backend import MODEL_FOLDER, Backend, BackendOptions, BackendSpec
from kit.runtime.openvino_backend import OpenVinoBackend
from kit.runtime.ort_backend import OrtBackend
from kit.runtime.torch_backend import TorchBackend


@dataclass(frozen=True)
class Entry:
    backend: type[Backend]
    provider: str | None = None  # the device the name fixes; None: where BackendOptions.provider says


# "ort" runs where BackendOptions.provider says (auto: CUDA where it really loads) and is renamed for where it ran
BACKENDS: dict[str, Entry] = {
    "torch": Entry(TorchBackend),
    "ort": Entry(OrtBackend),
    "ort-cpu": Entry(OrtBackend, provider="cpu"),
    "ort-cuda": Entry(OrtBackend, provider="cuda"),
    "openvino": Entry(OpenVinoBackend),
}


def parse_backend(text: str | BackendSpec) -> BackendSpec:
    """`torch:bf16` -> BackendSpec("torch", "bf16"); the variant defaults to fp32."""
    if isinstance(text, BackendSpec):
        return text
    name, _, variant = text.partition(":")
    if name not in BACKENDS:
        raise KitError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    return BackendSpec(name, variant or "fp32")


def build_backend(spec: BackendSpec, model, options: BackendOptions = BackendOptions()) -> Backend:
    """The backend `spec` names, on `model` (a model folder or hub id, or an export: folder or `Export`)."""
    entry = BACKENDS[spec.name]
    if entry.provider:
        options = dataclasses.replace(options, provider=entry.provider)
    return entry.backend(spec, model, options)


def unavailable_reason(spec: BackendSpec, provider: str = "auto") -> str | None:
    """Why `spec` cannot run here (on `provider`, unless its name fixes the device), else None."""
    entry = BACKENDS[spec.name]
    return entry.backend.unavailable_reason(spec, entry.provider or provider)


def needs_export(spec: BackendSpec) -> bool:
    """Whether the backend runs an export's variant (else a model folder)."""
    return BACKENDS[spec.name].backend.runs != MODEL_FOLDER


def folder_backend() -> str:
    """The backend that runs a model folder (a `nsmckit finetune` output, a hub id)."""
    return next(name for name, entry in BACKENDS.items() if entry.backend.runs == MODEL_FOLDER)


def variant_backend(variant: dict) -> str:
    """The backend that runs an export variant: the one for the runtime the variant records (ONNX Runtime when
    it records none), where the device is left to BackendOptions.provider."""
    runtime = variant.get("runtime", "onnxruntime")
    for name, entry in BACKENDS.items():
        if entry.backend.runs == runtime and entry.provider is None:
            return name
    raise ModelError(f"variant {variant.get('name')!r} is built for {runtime}, which no backend here runs")


def backend_for(variant: dict, device: str) -> str:
    """The backend that runs an export variant on `device` ("cpu" or "cuda"): one whose name fixes that device
    where there is one (ort-cpu), else the variant's own (openvino)."""
    runtime = variant.get("runtime", "onnxruntime")
    fixed = [name for name, e in BACKENDS.items() if e.backend.runs == runtime and e.provider == device]
    return fixed[0] if fixed else variant_backend(variant)


def runs_on_device(name: str, device: str) -> bool:
    """Whether backend `name` can run on `device` ("cpu" or "cuda")."""
    entry = BACKENDS[name]
    return device in entry.backend.devices and entry.provider in (None, device)
