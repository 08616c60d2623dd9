"""The GPU run's probe (stage S1, and check_image.sh here): prints, as JSON, which onnxruntime is imported
and where a session really runs, and fails unless it runs where the stage needs it.

    python3 bench/gpu/probe.py --provider cuda                       # a torch-free ONNX Runtime session on CUDA
    python3 bench/gpu/probe.py --provider cuda --export E --variant O4  # the export itself, as the server loads it

It also imports the server (FastAPI stack) without torch, as `nsmckit serve` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def tiny_model(folder: Path) -> Path:
    """A one-MatMul ONNX graph: enough for ONNX Runtime to place a node on a provider."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 2), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        [weight],
    )
    path = folder / "probe.onnx"
    # IR 9: what every onnxruntime since 1.15 reads (onnx 1.23 writes IR 14 by default, onnxruntime 1.31 reads <= 13)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=("cpu", "cuda"), required=True)
    parser.add_argument("--export", help="an export folder to load as the server does")
    parser.add_argument("--variant")
    args = parser.parse_args()

    import onnxruntime as ort

    from kit.runtime.ort_providers import create_session, session_provider

    report: dict = {
        "onnxruntime": {"version": ort.__version__, "file": ort.__file__, "listed": ort.get_available_providers()}
    }
    with tempfile.TemporaryDirectory() as tmp:
        session = create_session(tiny_model(Path(tmp)), args.provider)  # strict: CUDA or an error
        report["session"] = {"providers": session.get_providers(), "runs_on": session_provider(session)}
    import kit.serve.app  # noqa: F401  (the server's imports: FastAPI, pydantic, uvicorn, prometheus)

    report["torch_imported_by_server"] = "torch" in sys.modules
    if args.export:
        from kit.runtime.backend import BackendOptions
        from kit.runtime.classifiers import load_backend
        from kit.runtime.text_classifier import TextClassifier

        backend = load_backend(args.export, args.variant, BackendOptions(provider=args.provider, allow_invalid=True))
        probs = TextClassifier(backend).predict_proba(["정말 재밌어요", "시간 아깝다"])
        report["export"] = {
            "variant": backend.variant["name"],
            "valid": backend.variant["valid"],
            "runs_on": backend.runs_on,
            "probabilities": probs.tolist(),
        }
    print(json.dumps(report, indent=2))
    return 0 if not report["torch_imported_by_server"] else 1


if __name__ == "__main__":
    sys.exit(main())
