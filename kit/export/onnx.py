"""`nsmckit export --onnx`: Optimum export, ORT optimization/quantization, validation, manifest.

    from kit.export.onnx import ExportConfig, export_onnx
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

from kit.batching import STRATEGIES, predict_in_batches
from kit.data.splits import DataConfig, task_data
from kit.environment import cpu_features, cpu_flags, library_versions
from kit.errors import KitError, ModelError, RunError
from kit.export.openvino import build_openvino_variants, check_openvino
from kit.export.validation import LABEL_ROUND, ExportTexts, LabeledRounds, compare, export_texts, strategy_rows
from kit.export.variant import Variant
from kit.manifest import Export, checksums, write_manifest
from kit.progress import counting_rows, progress_bar
from kit.runtime.hf import (
    check_length,
    is_classifier,
    load_config,
    load_model,
    load_tokenizer,
    no_weights_setting,
    overrides_setting,
    run_max_length,
    run_task,
)
from kit.runtime.ort_providers import cuda_built
from kit.settings import check_settings, setting
from kit.task import Task, usable_positions

LEVELS = ("O1", "O2", "O3", "O4")
INT8_SCHEMES = tuple(f"{base}{pc}" for base in ("u8s8", "u8s8-rr", "u8u8") for pc in ("", "-pc"))
QUANTIZATIONS = ("int8", *(f"int8-{scheme}" for scheme in INT8_SCHEMES))
# `int8` per instruction set. avx2: measured on the reference model (bench/results/int8-configs-avx2/);
# the others keep Optimum's defaults for their ISA until measured on such a CPU.
AUTO_INT8 = {"avx2": "u8s8-rr", "avx512": "u8s8", "avx512_vnni": "u8s8", "arm64": "u8s8"}
EXACT_LEVELS = ("O1", "O2")  # graph fusions only; O3 approximates GELU, O4 computes in fp16


@dataclass
class ExportConfig:
    model: str  # a `nsmckit finetune` output folder, a local model folder or a hub id
    output: str | None = setting(None, "Export folder.  [default: exports/<model folder name>]")
    optimize: tuple[str, ...] = setting(
        (),
        "ORTOptimizer level, repeatable. O1-O2: fusions (exact); O3: + approximate GELU; O4: + fp16 (GPU only).",
        choices=LEVELS,
        multiple=True,
    )
    quantize: tuple[str, ...] = setting(
        (),
        "Dynamic int8 quantization for CPU, repeatable: int8 picks the config measured best for this CPU's "
        "instruction set; int8-<scheme> names one (u8s8, u8u8; -rr reduce range; -pc per channel).",
        choices=QUANTIZATIONS,
        multiple=True,
    )
    no_weights: bool = no_weights_setting()
    config_overrides: str | None = overrides_setting()
    max_length: int | None = setting(
        None, "Truncation length at inference.  [default: the fine-tuning run's, else the model's limit]", min=2
    )
    opset: int | None = setting(None, "ONNX opset.  [default: Optimum's choice]")
    data: DataConfig = field(default_factory=DataConfig)  # [default: the data the source run was trained on]
    validate_rows: int = setting(
        256, "Test rows whose logits every variant must reproduce, per batching strategy.", min=1
    )
    label_rows: int = setting(
        2000,
        "Labeled test rows (of the run's own data, or the data given) on which approximate variants (O3, O4, "
        "int8, ov-*) must keep PyTorch fp32's accuracy; 0: judge them on agreement only.",
        min=0,
    )
    accuracy_tolerance: float = setting(
        0.005, "Largest accuracy drop an approximate variant may show on the labeled reviews (0.005 = 0.5 pt).", min=0
    )
    openvino: bool = setting(
        False,
        "Also build OpenVINO variants: ov-bf16 (bf16 compute, for CPUs with AMX or AVX-512 BF16) and ov-int8 "
        "(NNCF static int8 calibrated on the task's training rows); judged on labels like int8.",
    )
    calibration_rows: int = setting(300, "Training rows that calibrate ov-int8's activation ranges.", min=1)
    batch_size: int = 16
    force: bool = setting(False, "Replace an existing export folder.")
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


def check_request(config: ExportConfig, out: Path) -> None:
    """Everything that can be refused before any work is done."""
    check_settings(config)
    if config.openvino:
        check_openvino()
    if "O4" in config.optimize and not cuda_built():
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
    if no_weights:
        return
    config = load_config(model)
    if not is_classifier(config):
        raise ModelError(
            f"{model} is not a sequence classifier (architectures: {', '.join(config.architectures or []) or 'none'}); "
            "fine-tune it first with `nsmckit finetune`, or pass --no-weights for the architecture only"
        )


def cpu_isa() -> str:
    """The instruction set int8 kernels use here: VNNI has int8 dot products; without it, U8S8 can saturate."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    flags = cpu_flags()
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    return "avx512" if "avx512f" in flags else "avx2"


def int8_config(name: str):
    """(isa, scheme, Optimum config) for a quantize variant: `int8` is the scheme measured best for this CPU's
    instruction set (AUTO_INT8, bench/results/int8-configs-*), `int8-u8s8-rr-pc` names one: activations u8,
    weights s8 or u8, `-rr` reduce_range (7-bit weights, no saturation without VNNI), `-pc` per channel."""
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    isa = cpu_isa()
    scheme = AUTO_INT8[isa] if name == "int8" else name.removeprefix("int8-")
    per_channel = scheme.endswith("-pc")
    base = scheme.removesuffix("-pc")
    reduce_range = base.endswith("-rr")
    factories = {"u8u8": AutoQuantizationConfig.avx2, "u8s8": AutoQuantizationConfig.avx512}
    factory = AutoQuantizationConfig.arm64 if isa == "arm64" else factories[base.removesuffix("-rr")]
    config = factory(is_static=False, per_channel=per_channel)
    config.reduce_range = reduce_range  # not every factory takes it as an argument
    return isa, scheme, config


def _build_variants(stage: Path, config: ExportConfig) -> list[Variant]:
    """Write model_<variant>.onnx files next to model.onnx."""
    from optimum.onnxruntime import ORTOptimizer, ORTQuantizer
    from optimum.onnxruntime.configuration import AutoOptimizationConfig

    variants = [Variant("fp32", "model.onnx", "fp32", "cpu", exact=True)]
    work = stage / "_work"
    for level in config.optimize:
        optimizer = ORTOptimizer.from_pretrained(stage, file_names=["model.onnx"])
        opt_config = AutoOptimizationConfig.with_optimization_level(level, for_gpu=level == "O4")
        optimizer.optimize(opt_config, save_dir=work, file_suffix=level)
        shutil.move(work / f"model_{level}.onnx", stage / f"model_{level}.onnx")
        gpu = level == "O4"
        optimization = opt_config.__dict__ | {"optimization_level": opt_config.optimization_level}
        variants.append(
            Variant(
                level,
                f"model_{level}.onnx",
                "fp16" if gpu else "fp32",
                "cuda" if gpu else "cpu",
                exact=level in EXACT_LEVELS,
                details={"optimization": optimization},
            )
        )
    for q in config.quantize:
        isa, scheme, q_config = int8_config(q)
        ORTQuantizer.from_pretrained(stage, file_name="model.onnx").quantize(q_config, save_dir=work, file_suffix=q)
        shutil.move(work / f"model_{q}.onnx", stage / f"model_{q}.onnx")
        quantization = {
            "scheme": "dynamic",
            "isa": isa,
            "config": scheme,
            "weights": "s8" if "s8" in scheme else "u8",
            "per_channel": q_config.per_channel,
            "reduce_range": q_config.reduce_range,
        }
        variants.append(
            Variant(q, f"model_{q}.onnx", "int8", "cpu", exact=False, details={"quantization": quantization})
        )
    shutil.rmtree(work, ignore_errors=True)
    return variants


def _validate(stage: Path, manifest: dict, built: list[Variant], config: ExportConfig, texts: ExportTexts, progress):
    """Judge every variant against PyTorch fp32, each loaded from `stage` through the backend that will run
    it (checksums and all, as a user's load would); sets each variant's `validation`, `verdict` and `valid`.
    Returns a description of the texts used."""
    from kit.records import started_from_random_weights
    from kit.runtime.backend import BackendOptions, BackendSpec
    from kit.runtime.registry import build_backend, folder_backend, variant_backend
    from kit.runtime.text_classifier import encode_ids, load_tokenizer_json

    task, variants = Task.of_record(manifest), manifest["variants"]
    tokenizer = load_tokenizer_json(stage / "tokenizer.json", task.max_length, task.truncation_side)

    def batches(run, seqs: list[np.ndarray], strategy: str, batch_size: int) -> np.ndarray:
        return predict_in_batches(run, seqs, strategy, batch_size, task.max_length, task.pad_token_id, task.inputs)

    def per_strategy(run, seqs: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {s: batches(run, strategy_rows(seqs, s), s, config.batch_size) for s in STRATEGIES}

    def predicted_labels(run, seqs: list[np.ndarray]) -> np.ndarray:
        return batches(run, seqs, "bucketed", config.batch_size * 4).argmax(-1)

    seqs = encode_ids(tokenizer, texts.validation)
    described, labeled = texts.described, texts.labeled
    random = "the source model started from random weights" if started_from_random_weights(manifest) else None
    approximate = sum(not v.exact for v in built) if labeled and not random else 0
    labeled_seqs: list[np.ndarray] = []
    if approximate:
        progress(f"judging approximate variants on up to {labeled[2]}, in rounds of {LABEL_ROUND}")
        labeled_seqs = encode_ids(tokenizer, labeled[0])
        described += f"; approximate variants judged on up to {labeled[2]}"
    source = BackendOptions(
        provider="cpu", no_weights=config.no_weights, config_overrides=config.config_overrides, seed=config.seed
    )
    # Every row each model may score: PyTorch and each variant per strategy, PyTorch and each approximate
    # variant on the labeled rows (rounds that decide early leave the bar short of its total).
    checked = sum(len(strategy_rows(seqs, s)) for s in STRATEGIES)
    total = (1 + len(variants)) * checked + (1 + approximate) * len(labeled_seqs)
    with progress_bar(total, "validating") as bar:
        pytorch = build_backend(BackendSpec(folder_backend()), config.model, source)  # fp32
        torch_fp32 = counting_rows(pytorch.predict, bar)
        reference = per_strategy(torch_fp32, seqs)
        if not all(np.isfinite(logits).all() for logits in reference.values()):
            raise ModelError(
                f"{config.model}: PyTorch fp32 gives outputs that are not finite (NaN or inf): its weights are "
                "broken, and no variant can be judged against it"
            )
        rounds = LabeledRounds(
            labeled_seqs, labeled[1] if labeled else None, torch_fp32, predicted_labels, config.accuracy_tolerance
        )
        staged = Export.open(stage)  # as a user will open it, checksums included
        for made, variant in zip(built, variants):
            name = variant_backend(variant)
            # strict: a CUDA variant runs on CUDA or fails
            options = BackendOptions(provider=variant["provider"], allow_invalid=True)
            backend = build_backend(BackendSpec(name, variant["name"]), staged, options)
            run = counting_rows(backend.predict, bar)
            check = compare(reference, per_strategy(run, seqs), made.exact)
            if not made.exact:
                check.on_logits = random
            if approximate and not made.exact:
                check.labeled = rounds.judge(run)
                if check.labeled.near_chance:
                    paired = check.labeled
                    check.on_logits = (
                        f"fp32's accuracy {paired.reference_accuracy:.3f} on {paired.rows:,} rows is within chance, "
                        f"the majority label's {paired.majority_share:.3f}"
                    )
            variant["validation"] = check.to_dict() | {"providers": backend.providers}
            variant["verdict"], variant["why"], variant["valid"] = check.verdict, check.why, check.valid
        bar.total = bar.n  # rounds that decided early: the bar ends full
        bar.refresh()
    return described


def decide_export_task(config: ExportConfig, model, tokenizer, run: Task | None) -> Task:
    """The export's task: the source run's where there is one (labels, truncation side, data), the model's
    own otherwise; max_length as given, else the run's, else the model's limit."""
    max_length = (
        config.max_length
        or run_max_length(config.model)
        or min(tokenizer.model_max_length, usable_positions(model.config.to_dict()))
    )
    check_length(model.config, max_length)
    return Task(
        labels=[model.config.id2label[i] for i in range(model.config.num_labels)],
        inputs=[],  # the graph's own, once exported
        max_length=max_length,
        pad_token_id=tokenizer.pad_token_id or 0,
        truncation_side=run.truncation_side if run else tokenizer.truncation_side,
        family=model.config.model_type,
        attention=run.attention if run else None,
        data=run.data if run else {},
    )


def export_onnx(config: ExportConfig, progress=print) -> ExportResult:
    """Export, optimize, validate and atomically publish; `progress` receives one line per step."""
    import onnx
    from optimum.exporters.onnx import onnx_export_from_model
    from transformers import set_seed

    out = Path(config.output) if config.output else default_output(config.model)
    check_request(config, out)
    replacing = out.exists()  # --force replaces only what was there when the export started
    run = run_task(config.model)
    tokenizer = load_tokenizer(config.model, run.truncation_side if run else None)
    check_classifier(config.model, config.no_weights)
    set_seed(config.seed)
    # eager attention: what Optimum traces on every version (SDPA's trace differs between families)
    model = load_model(
        config.model, no_weights=config.no_weights, config_overrides=config.config_overrides, attn="eager"
    )
    task = decide_export_task(config, model.eval(), tokenizer, run)
    data = task_data(config.data, run.data if run else {})
    # the data is read (and its labels checked against the model's) before any work is done
    texts = export_texts(data, task, config.validate_rows, config.label_rows, config.calibration_rows)

    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        progress(f"exporting {config.model} ({task.family}) to ONNX (Optimum, text-classification)")
        onnx_export_from_model(model, stage, opset=config.opset, task="text-classification", do_validation=False)
        tokenizer.save_pretrained(stage)
        task.inputs = [i.name for i in onnx.load(stage / "model.onnx", load_external_data=False).graph.input]
        if config.optimize or config.quantize:
            progress(f"building variants: {', '.join(config.optimize + config.quantize)}")
        variants = _build_variants(stage, config)
        if config.openvino:
            variants += build_openvino_variants(stage, texts, task, progress)
        del model  # validation loads its reference through the torch backend, like every other model
        # Written before validation (every variant not yet valid) so that validation loads each variant the
        # way a user will, checksums included; written again with the verdicts.
        manifest = _manifest(stage, out, config, variants, task)
        write_manifest(stage, manifest)
        progress("validating every variant against PyTorch fp32 (fixed, dynamic, bucketed batches)")
        manifest["validation_texts"] = _validate(stage, manifest, variants, config, texts, progress)
        write_manifest(stage, manifest)
        _publish(stage, out, replacing)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return ExportResult(out, manifest)


def _manifest(stage: Path, out: Path, config: ExportConfig, variants: list[Variant], task: Task) -> dict:
    """export.json with every variant `valid: false` until `_validate` judges it."""
    import onnx

    run = Path(config.model) / "run.json"
    fp32 = next(v for v in variants if v.name == "fp32")
    entries = [v.entry() | {"bytes": sum((stage / f).stat().st_size for f in v.files)} for v in variants]
    return {
        "format": 2,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "source": {
            "model": config.model,
            # resolvable from anywhere: the model folder relative to the export (None for a hub id)
            "model_dir": os.path.relpath(Path(config.model).resolve(), out.resolve())
            if Path(config.model).is_dir()
            else None,
            "no_weights": config.no_weights,
            "config_overrides": config.config_overrides,
            "run": json.loads(run.read_text()) if run.is_file() else None,
        },
        "libraries": library_versions(),
        "validated_on": cpu_features(),  # the CPU every variant was judged (and int8 calibrated) on
        "opset": onnx.load(stage / fp32.file, load_external_data=False).opset_import[0].version,
        "task": task.to_dict(),
        "default_variant": "fp32",
        "variants": entries,
        "files": checksums(stage),
    }


def _publish(stage: Path, out: Path, replacing: bool) -> None:
    """Move the finished export into place in one rename, which fails where another writer's export appeared
    in the meantime (nothing of it is replaced); an old one (with --force, there when this export started) goes
    only after the new one is in."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if replacing and out.exists():
        out.rename(old)
    try:
        stage.rename(out)
    except OSError as e:  # ENOTEMPTY / EEXIST / ENOTDIR: something is at `out` now that was not at the start
        if old.exists():
            old.rename(out)
        raise RunError(f"{out} appeared while this export ran (another export?); it is left as it is") from e
    shutil.rmtree(old, ignore_errors=True)
