"""`nsmckit export --onnx`: Optimum export, ORT optimization/quantization, validation, manifest.

    from kit.onnx_export import ExportConfig, export_onnx
    result = export_onnx(ExportConfig(model="runs/nsmc", output="exports/nsmc", optimize=("O2",), quantize=("int8",)))

One export folder holds the tokenizer, the config and one ONNX file per variant
(`model.onnx` fp32, `model_O2.onnx`, `model_int8.onnx`, ...), plus `export.json`.
It is built in a hidden sibling folder and renamed into place only when complete,
so an interrupted export never leaves a folder that looks valid.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.environment import library_versions
from kit.errors import KitError, ModelError, RunError
from kit.export_check import VariantCheck, compare, logits_per_strategy, validation_texts
from kit.manifest import MANIFEST, checksums
from kit.modeling import load_model, load_tokenizer

LEVELS = ("O1", "O2", "O3", "O4")
QUANTIZATIONS = ("int8",)
EXACT_LEVELS = ("O1", "O2")  # graph fusions only; O3 approximates GELU, O4 computes in fp16


@dataclass
class ExportConfig:
    model: str  # a `nsmckit finetune` output folder, a local model folder or a hub id
    output: str | None = None  # default: exports/<model folder name>
    optimize: tuple[str, ...] = ()  # any of O1..O4
    quantize: tuple[str, ...] = ()  # int8 (dynamic, for CPU)
    no_weights: bool = False  # architecture only, random weights (speed work)
    config_overrides: str | None = None
    max_length: int | None = None  # truncation length at inference; default: the run's, else the model's
    opset: int | None = None  # default: Optimum's for the architecture
    data_dir: str | None = None  # NSMC folder for validation texts
    validate_rows: int = 256
    batch_size: int = 16
    force: bool = False
    seed: int = 0


@dataclass
class ExportResult:
    path: Path
    manifest: dict = field(repr=False)

    @property
    def valid(self) -> bool:
        return all(v["valid"] for v in self.manifest["variants"])


def default_output(model: str) -> Path:
    return Path("exports") / Path(model.rstrip("/")).name


def cuda_available() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


def check_request(config: ExportConfig, out: Path) -> None:
    """Everything that can be refused before any work is done."""
    for level in config.optimize:
        if level not in LEVELS:
            raise KitError(f"--optimize {level}: choose from {', '.join(LEVELS)}")
    for q in config.quantize:
        if q not in QUANTIZATIONS:
            raise KitError(f"--quantize {q}: choose from {', '.join(QUANTIZATIONS)}")
    if "O4" in config.optimize and not cuda_available():
        raise KitError(
            "O4 (fp16 mixed precision) needs a CUDA GPU with onnxruntime-gpu, and this machine has none; "
            "use O1-O3 or --quantize int8 for CPU"
        )
    if out.exists() and not config.force:
        raise RunError(f"{out} already exists; pass --force to replace it")
    parent = out.parent if out.parent != Path("") else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"cannot create {parent}: {e.strerror}") from e
    if not os.access(parent, os.W_OK):
        raise RunError(f"cannot write to {parent}: permission denied")


def check_classifier(model: str, no_weights: bool) -> None:
    from transformers import AutoConfig

    if no_weights:
        return
    try:
        architectures = AutoConfig.from_pretrained(model).architectures or []
    except (OSError, ValueError) as e:
        raise ModelError(f"{model}: no model config could be loaded ({str(e).splitlines()[0]})") from e
    if not any(a.endswith("ForSequenceClassification") for a in architectures):
        raise ModelError(
            f"{model} is not a sequence classifier (architectures: {', '.join(architectures) or 'none'}); "
            "fine-tune it first with `nsmckit finetune`, or pass --no-weights for the architecture only"
        )


def quantization_config():
    """Dynamic int8 config for this CPU's instruction set (VNNI has int8 dot products)."""
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64", AutoQuantizationConfig.arm64(is_static=False, per_channel=False)
    flags = set()
    if Path("/proc/cpuinfo").is_file():
        flags = {
            w
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
            for w in line.split(":", 1)[1].split()
        }
    for isa in ("avx512_vnni", "avx512"):
        if isa == "avx512_vnni" and "avx512_vnni" in flags or isa == "avx512" and "avx512f" in flags:
            return isa, getattr(AutoQuantizationConfig, isa)(is_static=False, per_channel=False)
    return "avx2", AutoQuantizationConfig.avx2(is_static=False, per_channel=False)


def _run_max_length(model: str) -> int | None:
    run = Path(model) / "run.json"
    return json.loads(run.read_text())["config"]["max_length"] if run.is_file() else None


def _build_variants(stage: Path, config: ExportConfig) -> list[dict]:
    """Write model_<variant>.onnx files next to model.onnx; returns their descriptions."""
    from optimum.onnxruntime import ORTOptimizer, ORTQuantizer
    from optimum.onnxruntime.configuration import AutoOptimizationConfig

    variants = [{"name": "fp32", "file": "model.onnx", "precision": "fp32", "provider": "cpu", "exact": True}]
    work = stage / "_work"
    for level in config.optimize:
        optimizer = ORTOptimizer.from_pretrained(stage, file_names=["model.onnx"])
        opt_config = AutoOptimizationConfig.with_optimization_level(level, for_gpu=level == "O4")
        optimizer.optimize(opt_config, save_dir=work, file_suffix=level)
        shutil.move(work / f"model_{level}.onnx", stage / f"model_{level}.onnx")
        variants.append(
            {
                "name": level,
                "file": f"model_{level}.onnx",
                "precision": "fp16" if level == "O4" else "fp32",
                "provider": "cuda" if level == "O4" else "cpu",
                "exact": level in EXACT_LEVELS,
                "optimization": opt_config.__dict__ | {"optimization_level": opt_config.optimization_level},
            }
        )
    for q in config.quantize:
        isa, q_config = quantization_config()
        ORTQuantizer.from_pretrained(stage, file_name="model.onnx").quantize(q_config, save_dir=work, file_suffix=q)
        shutil.move(work / f"model_{q}.onnx", stage / f"model_{q}.onnx")
        variants.append(
            {
                "name": q,
                "file": f"model_{q}.onnx",
                "precision": q,
                "provider": "cpu",
                "exact": False,
                "quantization": {"scheme": "dynamic", "isa": isa, "per_channel": False},
            }
        )
    shutil.rmtree(work, ignore_errors=True)
    return variants


def _validate(stage: Path, variants: list[dict], model, config: ExportConfig, max_length: int, pad_id: int) -> str:
    """Attach a VariantCheck to every variant; returns a description of the texts used."""
    from kit.onnx_model import create_session, load_tokenizer_json, session_runner
    from kit.torch_model import TorchPredictor

    texts, described = validation_texts(config.data_dir, config.validate_rows)
    tokenizer = load_tokenizer_json(stage / "tokenizer.json", max_length)
    seqs = [np.asarray(e.ids, dtype=np.int64) for e in tokenizer.encode_batch(texts)]
    reference = logits_per_strategy(TorchPredictor(model, "fp32", "cpu"), seqs, config.batch_size, max_length, pad_id)
    for variant in variants:
        run = session_runner(create_session(stage / variant["file"], variant["provider"]))
        check: VariantCheck = compare(
            reference, logits_per_strategy(run, seqs, config.batch_size, max_length, pad_id), variant.pop("exact")
        )
        variant["validation"] = check.to_dict()
        variant["valid"] = check.valid
    return described


def export_onnx(config: ExportConfig, progress=print) -> ExportResult:
    """Export, optimize, validate and atomically publish; `progress` receives one line per step."""
    from optimum.exporters.onnx import onnx_export_from_model
    from transformers import set_seed

    out = Path(config.output) if config.output else default_output(config.model)
    check_request(config, out)
    tokenizer = load_tokenizer(config.model)
    check_classifier(config.model, config.no_weights)
    set_seed(config.seed)
    model = load_model(config.model, config.no_weights, config.config_overrides, attn="eager").eval()
    max_length = (
        config.max_length
        or _run_max_length(config.model)
        or min(tokenizer.model_max_length, model.config.max_position_embeddings)
    )

    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        progress(f"exporting {config.model} to ONNX (Optimum, text-classification)")
        onnx_export_from_model(model, stage, opset=config.opset, task="text-classification", do_validation=False)
        tokenizer.save_pretrained(stage)
        if config.optimize or config.quantize:
            progress(f"building variants: {', '.join(config.optimize + config.quantize)}")
        variants = _build_variants(stage, config)
        progress("validating every variant against PyTorch fp32 (fixed, dynamic, bucketed batches)")
        described = _validate(stage, variants, model, config, max_length, tokenizer.pad_token_id)
        manifest = _manifest(stage, config, variants, described, max_length, tokenizer.pad_token_id, model)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        _publish(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return ExportResult(out, manifest)


def _manifest(
    stage: Path, config: ExportConfig, variants: list[dict], described: str, max_length: int, pad_id: int, model
) -> dict:
    import onnx

    run = Path(config.model) / "run.json"
    fp32 = next(v for v in variants if v["name"] == "fp32")
    for variant in variants:
        variant["bytes"] = (stage / variant["file"]).stat().st_size
    return {
        "format": 1,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "source": {
            "model": config.model,
            "no_weights": config.no_weights,
            "config_overrides": config.config_overrides,
            "run": json.loads(run.read_text()) if run.is_file() else None,
        },
        "libraries": library_versions(),
        "opset": onnx.load(stage / fp32["file"], load_external_data=False).opset_import[0].version,
        "max_length": max_length,
        "pad_token_id": pad_id,
        "labels": [model.config.id2label[i] for i in range(model.config.num_labels)],
        "inputs": ["input_ids", "attention_mask", "token_type_ids"],
        "default_variant": "fp32",
        "validation_texts": described,
        "variants": variants,
        "files": checksums(stage),
    }


def _publish(stage: Path, out: Path) -> None:
    """Move the finished export into place; an old one (with --force) goes only after the new one is in."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    stage.rename(out)
    shutil.rmtree(old, ignore_errors=True)
