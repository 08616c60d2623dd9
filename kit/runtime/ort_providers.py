"""Where an ONNX Runtime session runs: the provider asked for, and the one it really got.

onnxruntime-gpu lists CUDAExecutionProvider as available whether or not it can load CUDA, and a session
asked for CUDA that cannot load it runs on the CPU without failing. So the kit never trusts the list:

    session = create_session(path, "cuda")   # ProviderUnavailable unless the session really runs on CUDA
    session = create_session(path, "auto")   # CUDA when it really loads, else the CPU
    session_provider(session)                # "cuda" or "cpu": what ran, for /info, export.json, results

CUDA sessions compute fp32 as fp32 (`use_tf32` off), like PyTorch's default, so an fp32 row of ONNX Runtime
and one of PyTorch compare like for like.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from kit.errors import ModelError
from kit.runtime.backend import BackendUnavailable

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
CUDA_OPTIONS = {"use_tf32": "0"}  # strict fp32: TF32 matmuls would differ from torch fp32 in the 3rd decimal


class ProviderUnavailable(BackendUnavailable):
    """The provider asked for cannot run here (the benchmark reports such a backend as skipped)."""


def cuda_built() -> bool:
    """Whether this onnxruntime is a CUDA build (onnxruntime-gpu); not whether CUDA loads."""
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return PROVIDERS["cuda"] in ort.get_available_providers()


def preload_cuda_libraries() -> None:
    """Load the CUDA and cuDNN libraries that pip packages (nvidia-*) bring, which the loader would not find
    on its own: a server that imports no torch has nothing else putting them on its path."""
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls"):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
            ort.preload_dlls()  # prints what it could not find; the session check below is what decides


def session_options(threads: int | None = None, spinning: bool = True):
    """`spinning=False` makes idle intra-op threads sleep instead of busy-waiting: a server whose cores
    also run the HTTP stack loses less to threads spinning against it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def session_provider(session) -> str:
    """ "cuda" or "cpu": where the session's nodes run first (ONNX Runtime's own answer, not the request)."""
    return "cuda" if session.get_providers()[0] == PROVIDERS["cuda"] else "cpu"


def _session(path: Path, providers: list, threads: int | None, spinning: bool):
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), session_options(threads, spinning), providers=providers)
    except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelError(f"{path}: onnxruntime cannot load it ({str(e).splitlines()[0]})") from e


def create_session(path: Path, provider: str = "cpu", threads: int | None = None, spinning: bool = True):
    """An InferenceSession that runs where asked. `cuda` that ONNX Runtime cannot use is ProviderUnavailable,
    never a silent CPU run; `auto` takes CUDA where it really loads, else the CPU."""
    import onnxruntime as ort

    if provider not in (*PROVIDERS, "auto"):
        raise ModelError(f"provider {provider!r}: choose from auto, {', '.join(PROVIDERS)}")
    if provider == "cpu" or (provider == "auto" and not cuda_built()):
        return _session(path, [PROVIDERS["cpu"]], threads, spinning)
    if not cuda_built():
        raise ProviderUnavailable(
            f"onnxruntime has no {PROVIDERS['cuda']} here (available: {', '.join(ort.get_available_providers())}); "
            "install onnxruntime-gpu on a CUDA machine for --provider cuda"
        )
    preload_cuda_libraries()
    session = _session(path, [(PROVIDERS["cuda"], CUDA_OPTIONS), PROVIDERS["cpu"]], threads, spinning)
    if session_provider(session) == "cuda":
        return session
    if provider == "auto":
        return _session(path, [PROVIDERS["cpu"]], threads, spinning)
    raise ProviderUnavailable(
        "onnxruntime-gpu could not start CUDA here (no GPU or driver, or missing CUDA 13/cuDNN 9 libraries: "
        "its log above says which), so the session would run on the CPU; use --provider cpu or auto"
    )
