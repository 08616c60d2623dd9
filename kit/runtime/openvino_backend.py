"""OpenVINO on one export variant, on the CPU: the path to a CPU's matrix units (AMX and AVX-512 BF16 for
bf16, VNNI and AMX for int8) that ONNX Runtime's CPU kernels leave unused.

    backend = OpenVinoBackend(BackendSpec("openvino", "ov-bf16"), "exports/nsmc")

It reads the variant's file as exported: `model.onnx` for fp32 and `ov-bf16` (the precision is a compile
hint, no second copy of the weights), the NNCF-quantized IR for `ov-int8`. The inference precision is
always set explicitly: OpenVINO's own default is bf16 wherever the CPU has it, which would make an "fp32"
row silently approximate. `streams` > 1 compiles for throughput with that many parallel streams (one
infer request per calling thread); 1 is the latency setting, all threads on one call.

The weights are read into the process, not memory-mapped (OpenVINO's default for an IR's `.bin`): the file
was checked against its sha256 just before, and a file copied over or truncated under a running server
must change nothing (mapped, another model's weights changed live answers, and truncation killed the
server with SIGBUS).
"""

from __future__ import annotations

import functools
import importlib.util
import threading
import time
from pathlib import Path

import numpy as np

from kit.errors import ModelError
from kit.runtime.backend import BackendOptions, BackendSpec, BackendUnavailable
from kit.runtime.export_folder import ExportBackend


@functools.cache
def bf16_hardware() -> bool:
    """Whether this CPU computes bf16 in hardware (AMX or AVX-512 BF16), OpenVINO's own answer (asked once per
    process): elsewhere a bf16 hint runs as fp32 (or emulated), never faster."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def inference_precision(variant: dict) -> str:
    """The compile hint for a variant: its recorded OpenVINO precision, else exact fp32."""
    return variant.get("openvino", {}).get("inference_precision", "f32")


def openvino_reason(error: Exception) -> str:
    """The reason in an OpenVINO error, whose first line is only where it was raised
    (`Exception from src/inference/src/cpp/core.cpp:84:`)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reasons = [line for line in lines if not line.startswith(("Exception from", "Check '"))]
    return (reasons or lines or [type(error).__name__])[0]


class OpenVinoBackend(ExportBackend):
    runs = "openvino"
    also_runs = ("onnxruntime",)  # model.onnx too (`openvino:fp32` reproduces ONNX Runtime's fp32)
    devices = ("cpu",)

    def __init__(self, spec: BackendSpec, model: str | Path, options: BackendOptions = BackendOptions()):
        import openvino as ov

        if options.provider == "cuda":
            raise BackendUnavailable("OpenVINO runs the export on the CPU here; use --provider cpu or auto")
        export = self._open(model, spec, options)
        self.spec = spec
        self.precision = inference_precision(export.variant)
        core = ov.Core()
        core.set_property({"ENABLE_MMAP": False})  # the checked weights, owned by the process (see above)
        config = {
            "INFERENCE_PRECISION_HINT": self.precision,
            "PERFORMANCE_HINT": "THROUGHPUT" if options.streams > 1 else "LATENCY",
            "NUM_STREAMS": options.streams,
        }
        if options.threads:  # per call, as ONNX Runtime's: each stream runs one call
            config["INFERENCE_NUM_THREADS"] = options.threads * options.streams
        try:
            self.compiled = core.compile_model(core.read_model(export.model_path), "CPU", config)
        except RuntimeError as e:  # OpenVINO raises RuntimeError for unreadable or unsupported models
            raise ModelError(f"{export.model_path}: OpenVINO cannot load it ({openvino_reason(e)})") from e
        export.check_logits(self.compiled.outputs[0].get_partial_shape()[-1].get_max_length())
        self._inputs = {i.get_any_name() for i in self.compiled.inputs}
        self._requests = threading.local()  # an infer request serves one call at a time: one per thread
        self.runs_on = "cpu"
        self.providers = list(self.compiled.get_property("EXECUTION_DEVICES"))
        self.description = f"openvino cpu, {export.folder} {export.name}"

    @staticmethod
    def unavailable_reason(spec: BackendSpec, provider: str) -> str | None:
        if provider == "cuda":
            return "OpenVINO runs the export on the CPU here"
        if importlib.util.find_spec("openvino") is None:
            return "openvino is not installed (pip install 'nsmckit[openvino]')"
        if "bf16" in spec.variant and not bf16_hardware():
            return "this CPU has no bf16 instructions (AMX or AVX-512 BF16): bf16 would not be faster than fp32"
        return None

    def timed(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self.compiled.create_infer_request()
        inputs = {name: batch[name] for name in self._inputs}
        t0 = time.perf_counter()
        request.infer(inputs)
        ms = (time.perf_counter() - t0) * 1e3
        return np.array(request.get_output_tensor(0).data, dtype=np.float32), ms
