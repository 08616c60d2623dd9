"""`nsmckit bench`: which batching strategy and runtime give the best throughput, at what
latency, and does accuracy change?

    from kit.bench.runner import BenchConfig, run_bench
    result = run_bench(BenchConfig(model="runs/nsmc", backends=("torch:fp32", "ort-cpu:int8"), batch_sizes=(32,)))

Inference scenario: for every backend x strategy x batch size, a warm-up, then
`repeats` timed passes over the evaluation rows (NSMC test split). Tokenization
is timed once, separately, and added to end-to-end throughput. Training scenario:
a fixed number of optimizer steps per strategy through `kit.train.finetune`.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kit.batching import STRATEGIES, pad_batch, plan_batches, restore_order
from kit.bench.results import BenchResult, InferenceCell, TrainCell
from kit.bench.stats import summarize
from kit.data.splits import SPLITS, DataConfig, Split, Splits, load_splits, task_data
from kit.environment import environment
from kit.errors import KitError
from kit.export.validation import paired_accuracy
from kit.manifest import Export
from kit.metrics import classification_metrics, per_class_f1
from kit.progress import progress_bar
from kit.runtime.backend import BackendOptions, BackendSpec, BackendUnavailable
from kit.runtime.hf import load_config, model_setting, no_weights_setting, overrides_setting, run_task
from kit.runtime.registry import (
    backend_for,
    build_backend,
    folder_backend,
    needs_export,
    parse_backend,
    unavailable_reason,
)
from kit.runtime.text_classifier import encode_ids, load_tokenizer_json
from kit.settings import check_settings, setting
from kit.task import Task

SCENARIOS = ("inference", "train")  # `nsmckit loadtest` writes scenario "loadtest" cells


@dataclass
class BenchConfig:
    model: str | None = model_setting(
        None, "Torch source: finetune folder, local folder or hub id.  [default: the export's source]"
    )
    export: str | None = setting(None, "Export folder for the ort-* backends.  [default: export --model on the fly]")
    no_weights: bool = no_weights_setting()
    config_overrides: str | None = overrides_setting()
    scenario: str = setting(
        "inference", "inference: evaluate the test split; train: fixed optimizer steps per strategy.", choices=SCENARIOS
    )
    backends: tuple[str | BackendSpec, ...] = setting(
        (),
        "Comma-separated BACKEND:VARIANT. torch:fp32|bf16|fp16, ort-cpu:fp32|O1-O3|int8[-scheme], "
        "ort-cuda:fp32|O1-O4, openvino:fp32|ov-bf16|ov-int8 (an export's variants). Unavailable ones are "
        "reported as skipped.  [default: with --export, torch:fp32 and every variant of the export that its "
        "validation did not find invalid and that can run here; else torch:fp32,ort-cpu:fp32]",
    )
    strategies: tuple[str, ...] = setting(
        STRATEGIES,
        "fixed: pad to each --fixed-lengths; dynamic: dataset order, pad to batch max; "
        "bucketed: length-sorted batches (results restored to the original order).",
        choices=STRATEGIES,
    )
    fixed_lengths: tuple[int, ...] = setting((128, 512), "Pad lengths for the fixed strategy.", min=2)
    max_length: int = setting(128, "Truncation for dynamic/bucketed (and for fixed shorter than it).", min=2)
    batch_sizes: tuple[int, ...] = setting((1, 8, 32, 128), "Comma-separated batch sizes.", min=1)
    data: DataConfig = field(default_factory=lambda: DataConfig(val_ratio=0.0))
    limit: int | None = setting(1024, "Evaluation rows from the test split (--all-rows: all of them).", min=1)
    texts: tuple[str, ...] = ()  # evaluate on these (no labels: no accuracy) instead of the test split
    warmup: int = setting(3, "Untimed batches before each cell.", min=0)
    repeats: int = setting(1, "Timed passes per cell.", min=1)
    train_steps: int = setting(20, "Train scenario: optimizer steps per strategy.", min=1)
    compile: bool = setting(False, "torch.compile the torch backend.")
    threads: int | None = setting(
        None, "ONNX Runtime and OpenVINO intra-op threads per call.  [default: all cores]", min=1
    )
    seed: int = 0
    name: str | None = None  # the model's name on every cell, where several are benched side by side


def _strategy_cells(config: BenchConfig):
    """(bench strategy name, pad/truncation length) pairs: fixed once per fixed length."""
    for name in config.strategies:
        for length in config.fixed_lengths if name == "fixed" else (config.max_length,):
            yield name, length


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


def _train_data(config: BenchConfig) -> Splits:
    """The training data without a validation split, every split capped at `limit`."""
    return load_splits(dataclasses.replace(config.data, val_ratio=0.0, limit=config.limit), SPLITS)


class Tokenized:
    """Token ids per truncation length, each encoded the way serving encodes (the closing [SEP] kept), and
    how long each took: a fixed-512 cell and a 128-token cell see different ids for a long review."""

    def __init__(self, tokenizer, texts: list[str], progress):
        self.tokenizer, self.texts, self.progress = tokenizer, texts, progress
        self._ids: dict[int, tuple[list[np.ndarray], float]] = {}

    def at(self, length: int) -> tuple[list[np.ndarray], float]:
        if length not in self._ids:
            start = time.perf_counter()
            seqs = encode_ids(self.tokenizer, self.texts, length)
            self._ids[length] = seqs, time.perf_counter() - start
            self.progress(f"{len(seqs):,} evaluation rows tokenized at {length} in {self._ids[length][1]:.2f}s")
        return self._ids[length]


def measure(
    backend,
    seqs: list[np.ndarray],
    labels: np.ndarray | None,
    strategy: str,
    length: int,
    batch_size: int,
    warmup: int,
    repeats: int,
    pad_id: int,
) -> dict:
    """Warm-up, then timed passes over `seqs` (already truncated at `length`); returns the measured fields
    of a Cell (without tokenization)."""
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    plan = plan_batches(lengths, batch_size, strategy, length)
    batches = list(zip(plan.batches, plan.padded_lengths))

    def padded(rows: np.ndarray, pad_to: int) -> dict[str, np.ndarray]:
        return pad_batch([seqs[i] for i in rows], int(pad_to), pad_id, backend.inputs)

    for rows, pad_to in batches[:warmup]:
        backend.timed(padded(rows, pad_to))
    latencies, pass_seconds, logits = [], [], None
    with progress_bar(repeats * len(seqs), f"{backend.spec.label} {strategy} b{batch_size}", leave=False) as bar:
        for _ in range(repeats):
            outputs = []
            start = time.perf_counter()  # the pass includes padding: it is part of serving a batch
            for rows, pad_to in batches:
                out, ms = backend.timed(padded(rows, pad_to))
                outputs.append(out)
                latencies.append(ms)
                bar.update(len(rows))
            pass_seconds.append(time.perf_counter() - start)
            logits = np.concatenate(outputs)
    logits = restore_order(logits, plan.order)
    return {
        "rows": len(seqs),
        **(classification_metrics(labels, logits) if labels is not None else {}),
        "per_class_f1": per_class_f1(labels, logits, backend.labels) if labels is not None else None,
        "preds": logits.argmax(-1),
        "latency_ms": summarize(latencies).to_dict(),
        "pass_s": float(np.median(pass_seconds)),
        "real_tokens": int(lengths.sum()),
        "padding_efficiency": plan.padding_efficiency(lengths),
        "peak_memory_mb": backend.peak_memory_mb(),
    }


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
    from kit.runtime.hf import check_length, load_config

    source = config.export if config.export and (Path(config.export) / "config.json").is_file() else config.model
    if source is None:
        return
    model_config = load_config(source)
    check_length(model_config, config.max_length)
    fixed = config.scenario == "inference" and "fixed" in config.strategies
    for length in config.fixed_lengths if fixed else ():
        check_length(model_config, length, "--fixed-lengths")


MODEL_DEFAULT = ("torch:fp32", "ort-cpu:fp32")  # without an export: PyTorch, and ONNX Runtime on one made here


def default_backends(export: Export | None) -> list[BackendSpec]:
    """What `bench` measures when no backends are given: PyTorch fp32 (the reference), then, for an export,
    each variant that was not judged invalid on the backend that runs it here (its CUDA variants on CUDA)."""
    if export is None:
        return [parse_backend(b) for b in MODEL_DEFAULT]
    specs = [BackendSpec(folder_backend())]
    for name, variant in export.variants.items():
        spec = BackendSpec(backend_for(variant, variant.get("provider", "cpu")), name)
        if variant["valid"] or variant.get("verdict") == "undecided":
            if unavailable_reason(spec) is None:
                specs.append(spec)
    return specs


def run_bench(
    config: BenchConfig,
    progress=print,
    on_cell: Callable[[BenchResult], None] | None = None,
    export: Export | None = None,
) -> BenchResult:
    """Every cell of the grid; `on_cell(result so far)` after each one, so a run cut off by a time limit
    still leaves what it measured (the CLI writes results.json/csv there). `export`: `config.export` as the
    caller already opened it."""
    check_settings(config)
    if export is None and config.export:
        export = Export.open(config.export)
    specs = [parse_backend(b) for b in config.backends] or default_backends(export)
    if config.scenario == "train":
        check_lengths(config)
        return run_train_bench(config, progress, on_cell)
    if config.model is None and config.export is None:
        raise KitError("give --model (a model folder or hub id) or --export (an export folder)")
    check_lengths(config)
    task = model_task(config, export)
    rows = Split(list(config.texts), None) if config.texts else evaluation_rows(config, task)
    with tempfile.TemporaryDirectory() as tmp:
        reasons = {spec: unavailable_reason(spec) for spec in specs}
        runnable = [s for s in specs if reasons[s] is None]
        export = export or _ensure_export(config, runnable, Path(tmp))
        tokenizer_json, side = (
            (export.verify("tokenizer.json"), export.task.truncation_side)
            if export
            else _save_tokenizer(config, task, Path(tmp))
        )
        source = export.manifest["source"] if export else None
        # Accuracy means nothing for an untrained architecture, given directly or through its export.
        random_weights = config.no_weights or bool(source and source["no_weights"])
        settings = asdict(config) | {"backends": [spec.label for spec in specs]}
        result = BenchResult(settings, environment(), not random_weights, [])
        # One tokenizer for every backend (the export's, else the model's), so all of them see the same ids.
        tokenized = Tokenized(load_tokenizer_json(tokenizer_json, config.max_length, side), rows.texts, progress)
        export_options = BackendOptions(threads=config.threads, allow_invalid=True)
        torch_model, torch_options = torch_source(config, export)
        reference = None
        # Agreement and accuracy deltas are against torch fp32 where it runs, else the first fp32 backend.
        fp32 = [s for s in specs if s.variant == "fp32" and reasons[s] is None]
        pytorch = BackendSpec(folder_backend())
        reference_spec = pytorch if pytorch in fp32 else next(iter(fp32), None)
        for spec in specs:
            reason = reasons[spec]
            if reason is None:
                model, options = (export, export_options) if needs_export(spec) else (torch_model, torch_options)
                try:
                    backend = build_backend(spec, model, options)
                except BackendUnavailable as e:  # e.g. a CUDA build that cannot start CUDA here: skipped, not faked
                    reason = str(e)
            for strategy, length in _strategy_cells(config):
                for batch_size in config.batch_sizes:
                    cell = InferenceCell(
                        backend=spec.name,
                        precision=spec.variant,
                        strategy=strategy,
                        max_length=length,
                        batch_size=batch_size,
                        model=config.name,
                    )
                    result.cells.append(cell)
                    if reason is not None:
                        cell.status, cell.reason = "skipped", reason
                        continue
                    seqs, tokenize_s = tokenized.at(length)
                    m = measure(
                        backend,
                        seqs,
                        rows.labels,
                        strategy,
                        length,
                        batch_size,
                        config.warmup,
                        config.repeats,
                        pad_id=backend.pad_id,
                    )
                    if reference is None and spec == reference_spec:
                        reference = m["preds"]
                    if reference is not None:
                        cell.agreement = float(np.mean(m["preds"] == reference))
                    if reference is not None and rows.labels is not None:
                        paired = paired_accuracy(rows.labels, reference, m["preds"], tolerance=0.0)
                        cell.accuracy_delta, cell.accuracy_delta_ci95 = paired.difference, list(paired.ci95)
                    seconds = m["pass_s"] + tokenize_s
                    cell.rows, cell.accuracy = m["rows"], m.get("accuracy")
                    cell.macro_f1, cell.f1, cell.per_class_f1 = m.get("macro_f1"), m.get("f1"), m["per_class_f1"]
                    cell.latency_ms, cell.padding_efficiency = m["latency_ms"], m["padding_efficiency"]
                    cell.samples_per_s, cell.real_tokens_per_s = m["rows"] / seconds, m["real_tokens"] / seconds
                    cell.tokenize_s, cell.peak_memory_mb = tokenize_s, m["peak_memory_mb"]
                    cell.runs_on, cell.tf32, cell.reason = backend.runs_on, backend.tf32, backend.note
                    progress(f"{cell.label}: {cell.samples_per_s:,.1f} samples/s, p50 {cell.latency_ms['p50']:.2f} ms")
                    if on_cell:
                        on_cell(result)
            if reason is not None:
                progress(f"{spec.label}: skipped ({reason})")
    return result


def run_side_by_side(
    configs: list[BenchConfig],
    progress=print,
    on_cell: Callable[[BenchResult], None] | None = None,
    exports: list[Export | None] | None = None,
) -> BenchResult:
    """Several models or exports in one table (model x backend x strategy x batch size): each benched as
    `run_bench` benches it, on the test rows of its task's data (the same rows where they were trained on the
    same data, or where `--test-file` is given), each cell named by its model."""
    names = [c.name or c.export or c.model for c in configs]
    if len(set(names)) != len(names):
        raise KitError(f"a model is named twice ({', '.join(names)}): each one once")
    merged = BenchResult({"models": [asdict(c) for c in configs]}, environment(), True, [])
    for config, name, export in zip(configs, names, exports or [None] * len(configs)):
        done = list(merged.cells)

        def partial(result: BenchResult, done=done) -> None:
            merged.cells = done + result.cells
            if on_cell:
                on_cell(merged)

        result = run_bench(dataclasses.replace(config, name=name), progress, partial, export)
        merged.cells = done + result.cells
        merged.accuracy_meaningful = merged.accuracy_meaningful and result.accuracy_meaningful
    return merged


def _save_tokenizer(config: BenchConfig, task: Task | None, folder: Path) -> tuple[Path, str]:
    """The model's tokenizer.json and the side it truncates on (its task's, else its own)."""
    from kit.runtime.hf import load_tokenizer

    tokenizer = load_tokenizer(config.model, task.truncation_side if task else None)
    tokenizer.save_pretrained(folder / "tokenizer")
    return folder / "tokenizer" / "tokenizer.json", tokenizer.truncation_side


def run_train_bench(config: BenchConfig, progress=print, on_cell=None) -> BenchResult:
    """Fixed optimizer steps per strategy (`fixed` pads to max_length): samples/s, real tokens/s, padding
    efficiency."""
    from kit.train.finetune import FinetuneConfig, finetune

    if config.model is None:
        raise KitError("the train scenario needs --model (a model folder or hub id; --no-weights for random weights)")
    splits = _train_data(config)
    specs = [parse_backend(b) for b in config.backends] or default_backends(None)
    precisions = {spec.variant for spec in specs if not needs_export(spec)} or {"fp32"}  # training runs PyTorch
    bench = BenchResult(asdict(config) | {"backends": [spec.label for spec in specs]}, environment(), False, [])
    for precision in sorted(precisions):
        for strategy in config.strategies:
            for batch_size in config.batch_sizes:
                with tempfile.TemporaryDirectory() as tmp:
                    result = finetune(
                        FinetuneConfig(
                            model=config.model,
                            no_weights=config.no_weights,
                            config_overrides=config.config_overrides,
                            output_dir=tmp,
                            strategy=strategy,
                            max_length=config.max_length,
                            batch_size=batch_size,
                            max_steps=config.train_steps,
                            precision=precision,
                            evaluate_test=False,
                            save_model=False,
                            seed=config.seed,
                            data=config.data,
                        ),
                        splits,
                    )
                t = result.train
                cell = TrainCell(
                    backend=folder_backend(),
                    precision=t["precision"],
                    strategy=strategy,
                    max_length=config.max_length,
                    batch_size=batch_size,
                    rows=t["samples"],
                    samples_per_s=t["samples_per_s"],
                    real_tokens_per_s=t["real_tokens_per_s"],
                    padding_efficiency=t["padding_efficiency"],
                )
                bench.cells.append(cell)
                progress(
                    f"train {cell.label}: {cell.samples_per_s:,.2f} samples/s, "
                    f"padding efficiency {cell.padding_efficiency:.3f}"
                )
                if on_cell:
                    on_cell(bench)
    return bench
