"""Fine-tune any encoder (BERT, RoBERTa, ELECTRA, DistilBERT, XLM-R) as a classifier on NSMC or your own
data, with a chosen batching strategy.

    from kit import DataConfig, FinetuneConfig, finetune
    result = finetune(FinetuneConfig(model="klue/bert-base", strategy="bucketed", output_dir="runs/nsmc"))
    result.test["accuracy"]
    finetune(FinetuneConfig(model="klue/roberta-base", data=DataConfig(train_file="reviews.csv", test_file="test.csv")))

This is where data and model meet, so the task contract (`kit.task`: labels, the model's real inputs,
max_length within its positions, pad id, truncation side, attention) is decided here, recorded in run.json,
and read back by export, bench, predict and serve.

Runs on the Hugging Face Trainer with our own batch sampler and collator (so padding
really happens per batch), bf16/fp16 on GPUs, SDPA attention, fused AdamW on CUDA, and
works unchanged under `torchrun` (DDP). The output folder gets the model
(safetensors), its tokenizer, `run.json` and `curves.png`; `checkpoints/` exists while training (for
`--resume`) and is removed when the run completes, unless `keep_checkpoints`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kit.atomic import CLAIM, claimed, write_atomic
from kit.batching import STRATEGIES, restore_order
from kit.data.encoding import encode
from kit.data.splits import DataConfig, Splits, load_splits
from kit.environment import environment
from kit.errors import KitError, RunError
from kit.metrics import classification_metrics, per_class_f1
from kit.runtime.hf import (
    check_length,
    checkpoint_labels,
    load_config,
    load_model,
    load_tokenizer,
    model_inputs,
    model_setting,
    no_weights_setting,
    overrides_setting,
)
from kit.settings import check_settings, setting
from kit.task import SIDES, Task
from kit.train.checkpoints import check_resume, last_complete_checkpoint, record_settings
from kit.train.curves import RUN_FILE, Curves, plot_curves
from kit.train.progress import training_progress

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CHECKPOINTS = "checkpoints"
CURVES = "curves.png"
LOG_POINTS = 50  # training-loss points per run on the curves
TRACKERS = {"none": None, "tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}  # name -> its package


@dataclass
class FinetuneConfig:
    """Everything a fine-tuning run depends on; saved verbatim in run.json."""

    model: str = model_setting()
    output_dir: str = setting(
        "runs/nsmc", "Folder for the model, its tokenizer, checkpoints and run.json.", flag="--output"
    )
    data: DataConfig = field(default_factory=DataConfig)
    no_weights: bool = no_weights_setting()
    config_overrides: str | None = overrides_setting()
    strategy: str = setting(
        "bucketed",
        "fixed: pad to --max-length; dynamic: pad per random batch; bucketed: batches of similar length.",
        choices=STRATEGIES,
    )
    max_length: int = setting(128, "Truncate to (and for fixed, pad to) this many tokens.", min=2)
    truncation_side: str | None = setting(
        None,
        "Which end of a long text is cut, the same in training and at inference (recorded).  "
        "[default: the tokenizer's own]",
        choices=SIDES,
    )
    new_head: bool = setting(
        False, "Train a new classification head where the checkpoint's has another label count than the data."
    )
    batch_size: int = setting(32, "Training batch size per device.", min=1)
    eval_batch_size: int = setting(64, "Evaluation batch size per device.", min=1)
    learning_rate: float = setting(5e-5, "Peak learning rate (AdamW, linear decay).", flag="--lr", min=0)
    epochs: float = setting(3.0, "Training epochs.", min=0)
    max_steps: int = setting(-1, "Stop after this many optimizer steps (overrides --epochs if > 0).")
    weight_decay: float = setting(0.01, "AdamW weight decay.", min=0)
    label_smoothing: float = setting(
        0.0,
        "Spread this share of each target over all labels: curbs over-confidence on noisy labels (losses include it).",
        min=0,
        max=1,
        max_open=True,
    )
    warmup_ratio: float = setting(0.1, "Share of steps for linear warm-up.", min=0, max=1)
    seed: int = 42
    precision: str = setting(
        "auto",
        "auto: bf16 (else fp16) on a GPU, fp32 on CPU. bf16 is fast only on CPUs with AVX-512 BF16/AMX.",
        choices=PRECISIONS,
    )
    eval_steps: int | None = setting(None, "Evaluate and checkpoint every N steps (default: every epoch).", min=1)
    early_stopping: int = setting(
        0, "Stop after N evaluations without a better validation accuracy (0: off). The best checkpoint is kept.", min=0
    )
    pad_to_multiple_of: int | None = setting(
        None, "Round dynamic/bucketed pad lengths up to a multiple (8 helps GPU tensor cores).", min=1
    )
    resume: bool = setting(False, "Continue an interrupted run from its last checkpoint in --output.")
    overwrite: bool = setting(False, "Replace an existing run in --output.")
    report_to: tuple[str, ...] = setting(
        (),
        "Log to an experiment tracker through Trainer's integration, repeatable (TensorBoard logs go to "
        "<output>/tensorboard). Each needs its package: pip install 'nsmckit[tensorboard]'.",
        choices=tuple(TRACKERS),
        multiple=True,
    )
    evaluate_test: bool = setting(True, "Evaluate the best model on the test split.", flag="--test/--no-test")
    keep_checkpoints: bool = setting(
        False,
        "Keep checkpoints/ (model and optimizer state) after the run completes. They are written while training "
        "either way, so an interrupted run can --resume; a completed run keeps only its final model.",
    )
    save_model: bool = True


@dataclass
class FinetuneResult:
    """What run.json holds."""

    config: dict
    environment: dict
    task: dict  # kit.task.Task: what export, bench, predict and serve read back
    data: dict
    epochs: list[dict]
    train: dict
    test: dict
    output_dir: str
    log_history: list[dict] = field(default_factory=list)  # Trainer's logs (losses, evaluations): the curves

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_precision(precision: str) -> str:
    import torch

    if precision == "auto":
        if not torch.cuda.is_available():
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp16" and not torch.cuda.is_available():
        raise KitError("fp16 mixed precision needs a CUDA GPU; on CPU use --precision bf16 or fp32")
    return precision


def check_trackers(report_to: tuple[str, ...]) -> list[str]:
    """The trackers to report to, after checking each one's package is installed (before any work)."""
    import importlib.util

    trackers = [t for t in report_to if t != "none"]
    for tracker in trackers:
        if importlib.util.find_spec(TRACKERS[tracker]) is None:
            raise KitError(
                f"--report-to {tracker} needs the {TRACKERS[tracker]} package: pip install 'nsmckit[{tracker}]'"
            )
    return trackers


def check_output_dir(config: FinetuneConfig) -> tuple[Path, str | None]:
    """The output folder and, with `resume`, the checkpoint to continue from; refuse to clobber earlier work."""
    out = Path(config.output_dir)
    if config.resume:
        checkpoint = last_complete_checkpoint(out / CHECKPOINTS)
        if checkpoint is None:
            raise RunError(f"{out / CHECKPOINTS}: no checkpoint to resume from (run without --resume to start)")
        return out, str(checkpoint)
    if out.exists() and any(p.name != CLAIM for p in out.iterdir()) and not config.overwrite:
        raise RunError(f"{out} already holds a run; pass --resume to continue it or --overwrite to replace it")
    return out, None


def _make_trainer_class():
    """Trainer that builds its loaders from the kit's batching (imported lazily: torch is heavy)."""
    from torch.utils.data import DataLoader
    from transformers import Trainer

    from kit.train.batches import PaddingMeter, StrategyBatchSampler

    class StrategyTrainer(Trainer):
        def __init__(self, *args, strategy: str, meter: PaddingMeter, **kwargs):
            super().__init__(*args, **kwargs)
            self.strategy = strategy
            self.meter = meter

        def training_step(self, model, inputs, *args, **kwargs):
            self.meter.add(inputs)
            return super().training_step(model, inputs, *args, **kwargs)

        def _loader(self, dataset, batch_size: int, shuffle: bool, collator) -> DataLoader:
            sampler = StrategyBatchSampler(dataset.encoded.lengths, batch_size, self.strategy, shuffle, self.args.seed)
            loader = DataLoader(
                dataset,
                batch_sampler=sampler,
                collate_fn=collator,
                num_workers=self.args.dataloader_num_workers,
                pin_memory=self.args.dataloader_pin_memory,
            )
            return self.accelerator.prepare(loader)

        def get_train_dataloader(self) -> DataLoader:
            return self._loader(self.train_dataset, self._train_batch_size, True, self.data_collator)

        def get_eval_dataloader(self, eval_dataset=None) -> DataLoader:
            dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
            return self._loader(dataset, self.args.eval_batch_size, False, self.data_collator)

        def get_test_dataloader(self, test_dataset) -> DataLoader:
            return self.get_eval_dataloader(test_dataset)

        def predict_in_order(self, dataset) -> tuple[np.ndarray, dict[str, float]]:
            """Logits in the dataset's own row order (bucketed evaluation runs length-sorted)."""
            output = self.predict(dataset)
            sampler = StrategyBatchSampler(dataset.encoded.lengths, self.args.eval_batch_size, self.strategy, False)
            order = np.concatenate(sampler.batches())
            return restore_order(output.predictions, order), output.metrics

    return StrategyTrainer


def _evaluate_last_step():
    """With eval steps, Trainer saves the last step without evaluating it, so the best-checkpoint choice
    would skip the fully decayed model whenever the step count is not a multiple; evaluate it too."""
    from transformers import TrainerCallback

    class EvaluateLastStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if args.eval_strategy == "steps" and state.global_step >= state.max_steps:
                control.should_evaluate = True
            return control

    return EvaluateLastStep()


def _training_arguments(config: FinetuneConfig, out: Path, precision: str, evaluate: bool, trackers: list[str]):
    import torch
    from transformers import TrainingArguments

    per = "steps" if config.eval_steps else "epoch"
    return TrainingArguments(
        output_dir=str(out / CHECKPOINTS),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        weight_decay=config.weight_decay,
        label_smoothing_factor=config.label_smoothing,
        warmup_ratio=config.warmup_ratio,
        seed=config.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=not torch.cuda.is_available(),
        optim="adamw_torch_fused" if torch.cuda.is_available() else "adamw_torch",
        eval_strategy=per if evaluate else "no",
        save_strategy=per if config.save_model else "no",
        eval_steps=config.eval_steps,
        save_steps=config.eval_steps,
        save_total_limit=2,
        load_best_model_at_end=evaluate and config.save_model,
        metric_for_best_model="accuracy",
        greater_is_better=True,
        logging_steps=1 / LOG_POINTS,  # a ratio of the run: about LOG_POINTS training-loss points, however long
        report_to=trackers or "none",
        logging_dir=str(out / "tensorboard"),
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,  # rows are pre-tokenized: collation is cheap, workers cost more than they save
        disable_tqdm=True,  # kit.train.progress draws the bars; Trainer's would print raw log dicts between them
    )


def _epoch_metrics(log_history: list[dict]) -> list[dict]:
    return [
        {"epoch": round(e["epoch"], 3), "step": e["step"]}
        | {f"val_{k}": e[f"eval_{k}"] for k in ("loss", "accuracy", "macro_f1", "f1") if f"eval_{k}" in e}
        for e in log_history
        if "eval_accuracy" in e
    ]


def _task_splits(config: FinetuneConfig, splits: Splits | None) -> Splits:
    """The data, its labels named as the checkpoint names them where it is already a classifier with named
    labels of the same count (a binary 부정/긍정 model keeps its names)."""
    splits = splits or load_splits(config.data)
    own = None if config.no_weights or config.new_head else checkpoint_labels(load_config(config.model))
    if own and len(own) == len(splits.labels.names):
        try:
            return splits.onto(own)
        except KitError as e:
            raise KitError(f"{config.model}: {e}; or pass --new-head to train a new head with the data's labels") from e
    return splits


def decide_task(config: FinetuneConfig, model, tokenizer, splits: Splits) -> Task:
    """The task contract, asked of the model and its tokenizer and the data, never assumed."""
    data = {"label_keys": list(splits.labels.keys), "sources": splits.source, "notes": splits.notes}
    if config.data.kind != "nsmc":
        data |= {"text_column": config.data.text_column, "label_column": config.data.label_column}
    return Task(
        labels=list(splits.labels.names),
        inputs=model_inputs(model),
        max_length=config.max_length,
        pad_token_id=tokenizer.pad_token_id or 0,
        truncation_side=tokenizer.truncation_side,
        family=model.config.model_type,
        attention=model.config._attn_implementation,
        data=data,
    )


def resume_settings(config: FinetuneConfig, task: Task, splits: Splits, precision: str) -> dict:
    """What a --resume must share with the run it continues, by the option that sets it: the model, the
    task and its data, and the recipe. Epochs, steps, evaluation and logging may change."""
    model = Path(config.model)
    return {
        "--model": str(model.resolve()) if model.is_dir() else config.model,
        "--max-length": config.max_length,
        "--truncation-side": task.truncation_side,
        "labels": task.labels,
        "data": {  # each split's rows and the sha256 of its source, wherever the files now lie
            split: {"rows": len(getattr(splits, split))}
            | {k: v for k, v in splits.source.get(split, {}).items() if k != "path"}
            for split in ("train", "val", "test")
        },
        "--strategy": config.strategy,
        "--batch-size": config.batch_size,
        "--lr": config.learning_rate,
        "--seed": config.seed,
        "--precision": precision,
        "--no-weights": config.no_weights,
        "--new-head": config.new_head,
        "--config-overrides": config.config_overrides,
        "--label-smoothing": config.label_smoothing,
        "--weight-decay": config.weight_decay,
        "--warmup-ratio": config.warmup_ratio,
        "--pad-to-multiple-of": config.pad_to_multiple_of,
    }


def _all_reduce(values: list[float]) -> list[float]:
    """Sum counters over DDP ranks (each rank only saw its own batches)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def finetune(
    config: FinetuneConfig, splits: Splits | None = None, note: Callable[[str], None] | None = None
) -> FinetuneResult:
    """Train, evaluate per epoch on validation, evaluate the best model on test, save. `note` receives a line
    for what was decided for the user (a new head). The output folder is claimed for the run (rank 0 under
    DDP): a second finetune into it fails at once."""
    check_settings(config)
    trackers = check_trackers(config.report_to)
    out = Path(config.output_dir)
    with claimed(out, "finetune") if int(os.environ.get("RANK", "0")) == 0 else contextlib.nullcontext():
        out, resume_from = check_output_dir(config)
        return _train(config, out, resume_from, trackers, splits, note)


def _train(
    config: FinetuneConfig,
    out: Path,
    resume_from: str | None,
    trackers: list[str],
    splits: Splits | None,
    note: Callable[[str], None] | None,
) -> FinetuneResult:
    from transformers import EarlyStoppingCallback, PrinterCallback, set_seed

    from kit.train.batches import PaddingCollator, PaddingMeter, TokenDataset

    precision = resolve_precision(config.precision)
    # the tokenizer before the data: an unreachable hub should fail in seconds
    tokenizer = load_tokenizer(config.model, config.truncation_side)
    splits = _task_splits(config, splits)
    set_seed(config.seed)
    model = load_model(
        config.model,
        list(splits.labels.names),
        config.no_weights,
        config.config_overrides,
        new_head=config.new_head,
        note=note or (lambda line: print(f"Note: {line}", file=sys.stderr)),
    )
    check_length(model.config, config.max_length)
    task = decide_task(config, model, tokenizer, splits)
    settings = resume_settings(config, task, splits, precision)
    if resume_from:
        shapes = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
        check_resume(out / CHECKPOINTS, settings, Path(resume_from), shapes)
    elif int(os.environ.get("RANK", "0")) == 0:
        record_settings(out / CHECKPOINTS, settings)

    datasets = {
        name: TokenDataset(encode(tokenizer, split.texts, config.max_length, progress=True), split.labels)
        for name, split in (("train", splits.train), ("val", splits.val), ("test", splits.test))
    }
    meter = PaddingMeter()
    evaluate = len(datasets["val"]) > 0
    callbacks = [_evaluate_last_step(), training_progress()]
    if config.early_stopping:
        callbacks.append(EarlyStoppingCallback(config.early_stopping))
    trainer = _make_trainer_class()(
        model=model,
        args=_training_arguments(config, out, precision, evaluate, trackers),
        train_dataset=datasets["train"],
        eval_dataset=datasets["val"] if evaluate else None,
        processing_class=tokenizer,
        compute_metrics=lambda p: classification_metrics(p.label_ids, p.predictions),
        callbacks=callbacks,
        data_collator=PaddingCollator(
            config.strategy, config.max_length, task.pad_token_id, config.pad_to_multiple_of, task.inputs
        ),
        strategy=config.strategy,
        meter=meter,
    )
    trainer.remove_callback(PrinterCallback)  # with the Trainer's bars off, it would print every log dict

    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume_from)
    wall = time.perf_counter() - start
    eval_s = sum(e.get("eval_runtime", 0.0) for e in trainer.state.log_history if "eval_accuracy" in e)
    samples, real, computed = _all_reduce([meter.samples, int(meter.real_tokens), meter.computed_tokens])
    train_s = max(wall - eval_s, 1e-9)
    train = {
        "wall_s": wall,
        "eval_s": eval_s,
        "steps": trainer.state.global_step,
        "samples": int(samples),
        "samples_per_s": samples / train_s,
        "real_tokens_per_s": real / train_s,
        "padding_efficiency": real / computed if computed else 1.0,
        "precision": precision,
        "final_loss": next((e["train_loss"] for e in reversed(trainer.state.log_history) if "train_loss" in e), None),
        "resumed": config.resume,
    }

    test: dict[str, float] = {}
    if config.evaluate_test:
        logits, metrics = trainer.predict_in_order(datasets["test"])
        test = {
            **classification_metrics(splits.test.labels, logits),
            "per_class_f1": per_class_f1(splits.test.labels, logits, task.labels),
            "loss": metrics["test_loss"],
            "rows": len(splits.test),
        }

    result = FinetuneResult(
        config=asdict(config),
        environment=environment(),
        task=task.to_dict(),
        data={
            "train": len(splits.train),
            "val": len(splits.val),
            "test": len(splits.test),
            "empty_documents": splits.empty,
            "source": splits.source,
            "described": splits.describe(),
        },
        epochs=_epoch_metrics(trainer.state.log_history),
        train=train,
        test=test,
        output_dir=str(out),
        log_history=trainer.state.log_history,
    )
    if trainer.is_world_process_zero():
        if config.save_model:
            trainer.save_model(str(out))  # best model when load_best_model_at_end
            tokenizer.save_pretrained(str(out))
            if not config.keep_checkpoints:  # they were for resuming; the run is complete
                shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / RUN_FILE, json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        plot_curves({out.name: Curves.of(result.log_history)}, out / CURVES)
    return result
