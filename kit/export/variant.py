"""One variant of an export as it is built: checked where it is made (a runtime, precision and provider
the loaders know, files inside the folder), then written as its export.json entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

RUNTIMES = ("onnxruntime", "openvino")
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
PROVIDERS = ("cpu", "cuda")


@dataclass
class Variant:
    name: str
    file: str  # relative to the export folder
    precision: str
    provider: str  # where it must run: a cuda variant runs on CUDA or not at all
    exact: bool  # held to fp32's logits; else judged on labeled reviews (or agreement without them)
    runtime: str = "onnxruntime"
    companions: list[str] = field(default_factory=list)  # further files it reads (an OpenVINO IR's weights)
    details: dict = field(default_factory=dict)  # how it was made: optimization, quantization, openvino

    def __post_init__(self):
        for value, allowed, what in (
            (self.runtime, RUNTIMES, "runtime"),
            (self.precision, PRECISIONS, "precision"),
            (self.provider, PROVIDERS, "provider"),
        ):
            if value not in allowed:
                raise ValueError(f"variant {self.name}: {what} {value!r} is not one of {', '.join(allowed)}")
        for path in (self.file, *self.companions):
            if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
                raise ValueError(f"variant {self.name}: {path!r} is not a path inside the export folder")

    @property
    def files(self) -> list[str]:
        return [self.file, *self.companions]

    def entry(self) -> dict:
        """The export.json entry, not yet judged (`valid` false until validation says otherwise)."""
        entry = {"name": self.name, "file": self.file, "precision": self.precision, "provider": self.provider}
        if self.runtime != "onnxruntime":
            entry["runtime"] = self.runtime
        if self.companions:
            entry["companions"] = self.companions
        return entry | self.details | {"valid": False}
