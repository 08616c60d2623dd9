"""What a benchmark measures, decided before anything is timed: the backends (those given, else PyTorch and
every variant of the export that its validation did not find invalid and that can run here), the export (the
one given, or one made on the fly for export backends), the model PyTorch runs (--model, else the export's
source), one tokenizer for every backend, and the evaluation rows with their labels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from kit.bench.config import BenchConfig
from kit.data.splits import Split, load_splits, task_data
from kit.errors import KitError
from kit.manifest import Export
from kit.runtime.backend import Backend, BackendOptions, BackendSpec
from kit.runtime.hf import load_config, run_task
from kit.runtime.registry import (
    backend_for,
    build_backend,
    folder_backend,
    needs_export,
    parse_backend,
    unavailable_reason,
)
from kit.runtime.text_classifier import load_tokenizer_json
from kit.task import Task


@dataclass
class Subjects:
    specs: list[BackendSpec]
    reasons: dict[BackendSpec, str | None]  # why a backend cannot run here; None: it can
    export: Export | None
    torch_model: str | None
    torch_options: BackendOptions
    export_options: BackendOptions
    tokenizer: object  # truncating at the config's max_length on the task's side: every backend sees these ids
    rows: Split
    random_weights: bool  # accuracy means nothing for an untrained architecture, given directly or exported

    def build(self, spec: BackendSpec) -> Backend:
        if needs_export(spec):
            return build_backend(spec, self.export, self.export_options)
        return build_backend(spec, self.torch_model, self.torch_options)


def prepare(config: BenchConfig, export: Export | None, workdir: Path) -> Subjects:
    """Everything the inference scenario measures; an export made on the fly goes into `workdir`."""
    if config.model is None and export is None:
        raise KitError("give --model (a model folder or hub id) or --export (an export folder)")
    specs = [parse_backend(b) for b in config.backends] or default_backends(export)
    check_lengths(config)
    task = model_task(config, export)
    rows = Split(list(config.texts), None) if config.texts else evaluation_rows(config, task)
    reasons = {spec: unavailable_reason(spec) for spec in specs}
    export = export or _ensure_export(config, [s for s in specs if reasons[s] is None], workdir)
    tokenizer_json, side = (
        (export.verify("tokenizer.json"), export.task.truncation_side)
        if export
        else _save_tokenizer(config, task, workdir)
    )
    source = export.manifest["source"] if export else None
    torch_model, torch_options = torch_source(config, export)
    return Subjects(
        specs=specs,
        reasons=reasons,
        export=export,
        torch_model=torch_model,
        torch_options=torch_options,
        export_options=BackendOptions(threads=config.threads, allow_invalid=True),
        tokenizer=load_tokenizer_json(tokenizer_json, config.max_length, side),
        rows=rows,
        random_weights=config.no_weights or bool(source and source["no_weights"]),
    )


MODEL_DEFAULT = ("torch:fp32", "ort-cpu:fp32")  # without an export: PyTorch, and ONNX Runtime on one made here


def default_backends(export: Export | None) -> list[BackendSpec]:
    """What `bench` measures when no backends are given: PyTorch fp32 (the reference), then, for an export,
    each variant that was not judged invalid on the backend that runs it here (its CUDA variants on CUDA)."""
    if export is None:
        return [parse_backend(b) for b in MODEL_DEFAULT]
    specs = [BackendSpec(folder_backend())]
    for name, variant in export.variants.items():
        spec = BackendSpec(backend_for(variant, variant.get("provider", "cpu")), name)
        if variant["valid"] and unavailable_reason(spec) is None:  # valid: usable, undecided included
            specs.append(spec)
    return specs


def model_task(config: BenchConfig, export: Export | None) -> Task | None:
    """The task the benched model records: its export's, else its finetune run's."""
    if export:
        return export.task
    return run_task(config.model) if config.model else None


def evaluation_rows(config: BenchConfig, task: Task | None) -> Split:
    """The test rows accuracy is measured on (capped at `limit`): the data given, else the data the model's
    task was trained on, else NSMC; labels mapped onto the model's own."""
    if task:
        labels, keys = task.labels, task.data.get("label_keys")
    else:
        model_config = load_config(config.model)
        labels, keys = [model_config.id2label[i] for i in range(model_config.num_labels)], None
    data = task_data(config.data, task.data if task else {}) or config.data
    data = dataclasses.replace(data, val_ratio=0.0, limit=config.limit)
    return load_splits(data, ("test",), labels, keys).test


def _ensure_export(config: BenchConfig, specs: list[BackendSpec], workdir: Path) -> Export | None:
    """An export made on the fly when an export backend (ort-*, openvino) needs one and none was given."""
    if not any(map(needs_export, specs)):
        return None
    from kit.export.onnx import ExportConfig, export_onnx

    variants = {s.variant for s in specs if needs_export(s)} - {"fp32"}
    result = export_onnx(
        ExportConfig(
            model=config.model,
            output=str(workdir / "export"),
            no_weights=config.no_weights,
            config_overrides=config.config_overrides,
            max_length=max(config.max_length, *config.fixed_lengths),
            optimize=tuple(sorted(v for v in variants if v.startswith("O"))),
            quantize=tuple(sorted(v for v in variants if v.startswith("int8"))),
            openvino=any(v.startswith("ov-") for v in variants),
            data=config.data,
            seed=config.seed,
        ),
        progress=lambda line: None,
    )
    return Export.open(result.path)


def torch_source(config: BenchConfig, export: Export | None) -> tuple[str, BackendOptions]:
    """The torch backend's model and options: --model, else the export's source (same seed and
    architecture, so random weights match the export's)."""
    options = BackendOptions(
        no_weights=config.no_weights, config_overrides=config.config_overrides, seed=config.seed, compile=config.compile
    )
    if config.model is not None or export is None:
        return config.model, options
    source = export.manifest["source"]
    return export.source_model(), dataclasses.replace(
        options, no_weights=source["no_weights"], config_overrides=source["config_overrides"]
    )


def check_lengths(config: BenchConfig) -> None:
    """Every pad and truncation length within the model's positions, before any work."""
    from kit.runtime.hf import check_length

    source = config.export if config.export and (Path(config.export) / "config.json").is_file() else config.model
    if source is None:
        return
    model_config = load_config(source)
    check_length(model_config, config.max_length)
    fixed = config.scenario == "inference" and "fixed" in config.strategies
    for length in config.fixed_lengths if fixed else ():
        check_length(model_config, length, "--fixed-lengths")


def _save_tokenizer(config: BenchConfig, task: Task | None, folder: Path) -> tuple[Path, str]:
    """The model's tokenizer.json and the side it truncates on (its task's, else its own)."""
    from kit.runtime.hf import load_tokenizer

    tokenizer = load_tokenizer(config.model, task.truncation_side if task else None)
    tokenizer.save_pretrained(folder / "tokenizer")
    return folder / "tokenizer" / "tokenizer.json", tokenizer.truncation_side
