"""The OpenVINO variants of an export (`nsmckit export --openvino`), beside ONNX Runtime's:

- `ov-bf16`: the fp32 `model.onnx` compiled with OpenVINO's bf16 inference precision, for CPUs that compute
  bf16 in hardware (AMX, AVX-512 BF16). No second file: the precision is a compile setting.
- `ov-int8`: NNCF post-training (static) quantization of the same model.onnx, calibrated on the task's
  training rows (the sample shipped with the kit without data), saved as an OpenVINO IR
  (`openvino/model_int8.xml` + `.bin`).

Both are approximate, so the export judges them like ONNX Runtime's int8: on labeled reviews against
PyTorch fp32.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from kit.errors import KitError
from kit.export.validation import ExportTexts
from kit.export.variant import Variant
from kit.task import Task

OV_VARIANTS = ("ov-bf16", "ov-int8")
INT8_IR = "openvino/model_int8.xml"


def check_openvino() -> None:
    from importlib.util import find_spec

    missing = [name for name in ("openvino", "nncf") if find_spec(name) is None]
    if missing:
        raise KitError(f"--openvino needs {' and '.join(missing)}: pip install 'nsmckit[openvino]'")


def _quantize_int8(stage: Path, seqs: list[np.ndarray], task: Task) -> dict:
    """model.onnx -> an int8 IR; returns how it was quantized."""
    import nncf
    import openvino as ov

    from kit.batching import pad_batch

    logging.getLogger("nncf").setLevel(logging.WARNING)  # its INFO lines would bury the kit's progress
    model = ov.Core().read_model(stage / "model.onnx")
    names = {i.get_any_name() for i in model.inputs}
    # One review per sample at its own length: the activations' ranges are those of real, unpadded text.
    samples = [
        {k: v for k, v in pad_batch([s], len(s), task.pad_token_id, task.inputs).items() if k in names} for s in seqs
    ]
    quantized = nncf.quantize(
        model, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples)
    )
    path = stage / INT8_IR
    path.parent.mkdir(exist_ok=True)
    ov.save_model(quantized, path, compress_to_fp16=False)  # weights int8, the rest fp32 as exported
    return {"scheme": "static", "tool": f"nncf {nncf.__version__}", "model_type": "transformer"}


def build_openvino_variants(stage: Path, texts: ExportTexts, task: Task, progress) -> list[Variant]:
    """The `ov-*` variants, files written into `stage` (which holds model.onnx and tokenizer.json)."""
    from kit.runtime.text_classifier import encode_ids, load_tokenizer_json

    # Training rows: the test split, which validation judges on, stays unseen.
    described = texts.calibration_described
    progress(f"quantizing ov-int8 with NNCF, calibrated on {described}")
    tokenizer = load_tokenizer_json(stage / "tokenizer.json", task.max_length, task.truncation_side)
    quantization = _quantize_int8(stage, encode_ids(tokenizer, texts.calibration), task)
    int8_weights = INT8_IR.removesuffix(".xml") + ".bin"
    return [
        Variant(
            "ov-bf16",
            "model.onnx",
            "bf16",
            "cpu",
            exact=False,
            runtime="openvino",
            details={"openvino": {"inference_precision": "bf16"}},
        ),
        Variant(
            "ov-int8",
            INT8_IR,
            "int8",
            "cpu",
            exact=False,
            runtime="openvino",
            companions=[int8_weights],
            details={
                "openvino": {"inference_precision": "f32"},
                "quantization": quantization | {"calibration": described},
            },
        ),
    ]
