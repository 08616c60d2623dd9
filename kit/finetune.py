"""Fine-tune a BERT-style classifier on NSMC with a chosen batching strategy.

    from kit import FinetuneConfig, finetune
    result = finetune(FinetuneConfig(model="klue/bert-base", strategy="bucketed", output_dir="runs/nsmc"))
    result.test["accuracy"]

Runs on the Hugging Face Trainer with our own batch sampler and collator (so padding
really happens per batch), bf16/fp16 on GPUs, SDPA attention, fused AdamW on CUDA, and
works unchanged under `torchrun` (DDP). The output folder gets the model
(safetensors), its tokenizer, `checkpoints/` for `--resume`, and `run.json`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kit.batching import STRATEGIES, restore_order
from kit.data import DataConfig, NsmcSplits, load_nsmc
from kit.encoding import encode
from kit.environment import environment
from kit.errors import KitError, RunError
from kit.metrics import classification_metrics
from kit.modeling import load_model, load_tokenizer

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
RUN_FILE = "run.json"
CHECKPOINTS = "checkpoints"


@dataclass
class FinetuneConfig:
    """Everything a fine-tuning run depends on; saved verbatim in run.json."""

    model: str = "klue/bert-base"  # hub id or local folder
    output_dir: str = "runs/nsmc"
    data: DataConfig = field(default_factory=DataConfig)
    no_weights: bool = False  # architecture from its config, random weights
    config_overrides: str | None = None  # with no_weights, e.g. "num_hidden_layers=4,hidden_size=256"
    strategy: str = "bucketed"  # fixed | dynamic | bucketed
    max_length: int = 128
    batch_size: int = 32
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    epochs: float = 3.0
    max_steps: int = -1  # stop after this many optimizer steps (overrides epochs when > 0)
    weight_decay: float = 0.01
    label_smoothing: float = 0.0  # Trainer's label_smoothing_factor
    warmup_ratio: float = 0.1
    seed: int = 42
    precision: str = "auto"  # auto: bf16 (else fp16) on a GPU, fp32 on CPU
    eval_steps: int | None = None  # evaluate and checkpoint every N steps instead of every epoch
    early_stopping: int = 0  # stop after N evaluations without improvement (0: off)
    pad_to_multiple_of: int | None = None
    resume: bool = False
    overwrite: bool = False
    evaluate_test: bool = True
    save_model: bool = True


@dataclass
class FinetuneResult:
    """What run.json holds."""

    config: dict
    environment: dict
    data: dict
    epochs: list[dict]
    train: dict
    test: dict
    output_dir: str

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_precision(precision: str) -> str:
    import torch

    if precision not in PRECISIONS:
        raise KitError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        if not torch.cuda.is_available():
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp16" and not torch.cuda.is_available():
        raise KitError("fp16 mixed precision needs a CUDA GPU; on CPU use --precision bf16 or fp32")
    return precision


def check_output_dir(config: FinetuneConfig) -> Path:
    """Refuse to clobber earlier work; `resume` needs a checkpoint to resume from."""
    out = Path(config.output_dir)
    if config.resume:
        if not _last_checkpoint(out):
            raise RunError(f"{out / CHECKPOINTS}: no checkpoint to resume from (run without --resume to start)")
        return out
    if out.exists() and any(out.iterdir()) and not config.overwrite:
        raise RunError(f"{out} already holds a run; pass --resume to continue it or --overwrite to replace it")
    return out


def _last_checkpoint(out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = out / CHECKPOINTS
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def _make_trainer_class():
    """Trainer that builds its loaders from the kit's batching (imported lazily: torch is heavy)."""
    from torch.utils.data import DataLoader
    from transformers import Trainer

    from kit.torchdata import PaddingMeter, StrategyBatchSampler

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


def _training_arguments(config: FinetuneConfig, out: Path, precision: str, evaluate: bool):
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
        logging_steps=50,
        report_to="none",
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,  # rows are pre-tokenized: collation is cheap, workers cost more than they save
    )


def _epoch_metrics(log_history: list[dict]) -> list[dict]:
    return [
        {
            "epoch": round(e["epoch"], 3),
            "step": e["step"],
            "val_loss": e["eval_loss"],
            "val_accuracy": e["eval_accuracy"],
            "val_f1": e["eval_f1"],
        }
        for e in log_history
        if "eval_accuracy" in e
    ]


def _all_reduce(values: list[float]) -> list[float]:
    """Sum counters over DDP ranks (each rank only saw its own batches)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def finetune(config: FinetuneConfig, splits: NsmcSplits | None = None) -> FinetuneResult:
    """Train, evaluate per epoch on validation, evaluate the best model on test, save."""
    from transformers import EarlyStoppingCallback, set_seed

    from kit.torchdata import PaddingCollator, PaddingMeter, TokenDataset

    if config.strategy not in STRATEGIES:
        raise KitError(f"strategy must be one of {', '.join(STRATEGIES)}, got {config.strategy!r}")
    out = check_output_dir(config)
    precision = resolve_precision(config.precision)
    splits = splits or load_nsmc(config.data)
    tokenizer = load_tokenizer(config.model)
    set_seed(config.seed)
    model = load_model(config.model, config.no_weights, config.config_overrides)
    if config.max_length > model.config.max_position_embeddings:
        raise KitError(
            f"max_length {config.max_length} exceeds the model's {model.config.max_position_embeddings} positions"
        )

    datasets = {
        name: TokenDataset(encode(tokenizer, split.texts, config.max_length, progress=True), split.labels)
        for name, split in (("train", splits.train), ("val", splits.val), ("test", splits.test))
    }
    meter = PaddingMeter()
    evaluate = len(datasets["val"]) > 0
    callbacks = [_evaluate_last_step()]
    if config.early_stopping:
        callbacks.append(EarlyStoppingCallback(config.early_stopping))
    trainer = _make_trainer_class()(
        model=model,
        args=_training_arguments(config, out, precision, evaluate),
        train_dataset=datasets["train"],
        eval_dataset=datasets["val"] if evaluate else None,
        processing_class=tokenizer,
        compute_metrics=lambda p: classification_metrics(p.label_ids, p.predictions),
        callbacks=callbacks,
        data_collator=PaddingCollator(
            config.strategy, config.max_length, tokenizer.pad_token_id, config.pad_to_multiple_of
        ),
        strategy=config.strategy,
        meter=meter,
    )

    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=_last_checkpoint(out) if config.resume else None)
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
            "loss": metrics["test_loss"],
            "rows": len(splits.test),
        }

    result = FinetuneResult(
        config=asdict(config),
        environment=environment(),
        data={
            "train": len(splits.train),
            "val": len(splits.val),
            "test": len(splits.test),
            "empty_documents": splits.empty,
            "source": splits.source,
        },
        epochs=_epoch_metrics(trainer.state.log_history),
        train=train,
        test=test,
        output_dir=str(out),
    )
    if trainer.is_world_process_zero():
        if config.save_model:
            trainer.save_model(str(out))  # best model when load_best_model_at_end
            tokenizer.save_pretrained(str(out))
        out.mkdir(parents=True, exist_ok=True)
        (out / RUN_FILE).write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return result
