"""Fine-tuning with the real Trainer on a tiny BERT: it learns, padding does not change
results, run.json holds what users read, interrupted runs resume, DDP works."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from transformers import AutoTokenizer

from kit.batching import STRATEGIES, restore_order
from kit.cli import main
from kit.data.encoding import encode
from kit.data.splits import DataConfig, load_splits
from kit.runtime.hf import load_model, load_tokenizer
from kit.train.batches import PaddingCollator, StrategyBatchSampler, TokenDataset
from kit.train.checkpoints import checkpoints, is_complete, step
from kit.train.curves import Curves
from kit.train.finetune import FinetuneConfig, finetune
from tests.families import save_tiny_family
from tests.helpers import run_args, wait_until
from tests.synthetic import write_nsmc


@pytest.fixture(scope="module")
def learn_dir(tmp_path_factory):
    return write_nsmc(tmp_path_factory.mktemp("learn"), n_train=2500, n_test=400, seed=3)


@pytest.mark.slow
def test_tiny_bert_learns_synthetic_sentiment(tiny_model_dir, learn_dir, tmp_path):
    config = FinetuneConfig(
        model=str(tiny_model_dir),
        output_dir=str(tmp_path / "run"),
        data=DataConfig(data_dir=str(learn_dir), val_ratio=0.1),
        strategy="bucketed",
        max_length=64,
        batch_size=32,
        learning_rate=1e-3,
        epochs=3,
    )
    result = finetune(config)
    assert result.train["steps"] >= 200
    assert result.test["accuracy"] > 0.8  # chance is 0.5
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    for key in ("accuracy", "macro_f1", "f1", "loss"):
        assert 0 <= run["test"][key] == result.test[key]
    for key in ("wall_s", "samples_per_s", "real_tokens_per_s", "padding_efficiency"):
        assert run["train"][key] > 0
    assert run["train"]["padding_efficiency"] > 0.85  # bucketed
    assert [e["epoch"] for e in run["epochs"]] == [1, 2, 3]
    assert run["environment"]["libraries"]["transformers"].startswith("4.")
    assert run["config"]["strategy"] == "bucketed"
    assert (tmp_path / "run" / "model.safetensors").is_file()
    reloaded = load_tokenizer(str(tmp_path / "run"))
    assert reloaded("좋다")["input_ids"] == load_tokenizer(str(tiny_model_dir))("좋다")["input_ids"]


@pytest.mark.slow
def test_step_evaluation_includes_the_last_step(tiny_model_dir, learn_dir, tmp_path):
    """The fully decayed model competes for best checkpoint even when eval steps do not divide the run."""
    config = FinetuneConfig(
        model=str(tiny_model_dir),
        output_dir=str(tmp_path / "run"),
        data=DataConfig(data_dir=str(learn_dir), val_ratio=0.1, limit=600),
        max_length=64,
        max_steps=25,
        eval_steps=10,
        evaluate_test=False,
    )
    result = finetune(config)
    assert [e["step"] for e in result.epochs] == [10, 20, 25]


def test_label_smoothing_reaches_the_trainer(tmp_path):
    from kit.train.finetune import _training_arguments

    args = _training_arguments(FinetuneConfig(label_smoothing=0.1), tmp_path, "fp32", True, [])
    assert args.label_smoothing_factor == 0.1


def test_strategies_give_the_same_logits(tiny_model_dir, nsmc_dir):
    """Padding must not change results: fixed, dynamic and sorted batches agree on fp32 logits."""
    tokenizer = load_tokenizer(str(tiny_model_dir))
    model = load_model(str(tiny_model_dir)).eval()
    split = load_splits(DataConfig(data_dir=str(nsmc_dir))).test
    dataset = TokenDataset(encode(tokenizer, split.texts, 64), split.labels)
    assert dataset.encoded.lengths.max() == 64  # some reviews are truncated
    logits = {}
    for strategy in STRATEGIES:
        sampler = StrategyBatchSampler(dataset.encoded.lengths, 16, strategy, shuffle=False)
        collate = PaddingCollator(strategy, 64, tokenizer.pad_token_id)
        with torch.no_grad():
            out = [
                model(**{k: v for k, v in collate([dataset[i] for i in b]).items() if k != "labels"}).logits
                for b in sampler
            ]
        logits[strategy] = restore_order(torch.cat(out).numpy(), np.concatenate(sampler.batches()))
    for strategy in ("dynamic", "bucketed"):
        assert np.abs(logits[strategy] - logits["fixed"]).max() <= 1e-4


def test_sampler_reshuffles_per_epoch_deterministically():
    lengths = np.arange(100) % 37 + 3
    sampler = StrategyBatchSampler(lengths, 8, "bucketed", shuffle=True, seed=7)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) == first != second


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "kit.cli", "finetune", *args]


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_end(tiny_model_dir, learn_dir, tmp_path):
    out = tmp_path / "run"
    args = run_args(
        tiny_model_dir,
        learn_dir,
        out,
        "--max-length 64 --max-steps 400 --eval-steps 20 --lr 1e-3 --limit 2000 --no-test",
    )
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: any(map(is_complete, checkpoints(out / "checkpoints"))), 120, "a saved checkpoint")
    proc.send_signal(signal.SIGKILL)  # at any point: maybe in the middle of saving the next checkpoint
    proc.wait()
    assert not (out / "run.json").exists(), "the run finished before it could be interrupted"
    # Another model's checkpoints, or other settings, are refused in one line, and the checkpoints kept.
    other = save_tiny_family(tmp_path / "electra", "electra", AutoTokenizer.from_pretrained(tiny_model_dir))
    another = [str(other) if a == str(tiny_model_dir) else a for a in args]
    refused = subprocess.run(_cli(*another, "--resume"), capture_output=True, text=True)
    assert refused.returncode == 1 and "another model's checkpoint (it has no tensor electra." in refused.stderr
    refused = subprocess.run(_cli(*args, "--resume", "--max-length", "32"), capture_output=True, text=True)
    assert refused.returncode == 1 and "--max-length is 32, but the interrupted run in" in refused.stderr
    assert "Traceback" not in refused.stderr and "started with 64" in refused.stderr
    # And for certain: a newest checkpoint cut off before its trainer_state.json was written.
    newest = next(c for c in checkpoints(out / "checkpoints") if is_complete(c))
    cut_off = newest.with_name(f"checkpoint-{step(newest) + 20}")
    shutil.copytree(newest, cut_off, dirs_exist_ok=True)
    (cut_off / "trainer_state.json").unlink()

    refused = subprocess.run(_cli(*args), capture_output=True, text=True)
    assert refused.returncode == 1 and "--resume" in refused.stderr

    resumed = subprocess.run(_cli(*args, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{cut_off.name} was cut off while saving" in resumed.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["train"]["steps"] == 400 and run["train"]["resumed"]
    # The curves of a resumed run start at its first step, not at the resume point.
    evaluated = Curves.of_run(out).series["eval_accuracy"][0]
    assert evaluated == list(range(20, 401, 20))
    assert run["train"]["samples"] < 400 * 32  # only the remaining steps ran


@pytest.mark.slow
def test_ddp_with_two_cpu_processes(tiny_model_dir, learn_dir, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        *"-m torch.distributed.run --standalone --nproc_per_node 2 -m kit.cli finetune".split(),
        *run_args(tiny_model_dir, learn_dir, out, "--max-length 64 --epochs 3 --lr 1e-3 --batch-size 16 --limit 1000"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    train_rows = run["data"]["train"]
    # each of the 2 ranks ran half the batches; together they saw every row once per epoch
    assert run["train"]["steps"] == 3 * -(-train_rows // 32)
    assert 3 * train_rows <= run["train"]["samples"] < 3 * (train_rows + 32)

    # The test accuracy gathered across ranks equals a single-process evaluation of the saved model.
    from kit.batching import predict_in_batches
    from kit.metrics import accuracy
    from kit.runtime.backend import BackendOptions, BackendSpec
    from kit.runtime.torch_backend import TorchBackend

    test = load_splits(DataConfig(data_dir=str(learn_dir), limit=1000)).test
    seqs = list(map(encode(load_tokenizer(str(out)), test.texts, 64).__getitem__, range(len(test))))
    logits = predict_in_batches(
        TorchBackend(BackendSpec("torch"), out, BackendOptions(provider="cpu")).predict, seqs, "dynamic", 32, 64
    )
    assert run["test"]["rows"] == 400
    assert run["test"]["accuracy"] == pytest.approx(accuracy(test.labels, logits.argmax(-1)))
    assert run["test"]["accuracy"] > 0.6  # it learned something, so order mistakes would show


def _architecture_only(model_dir, folder):
    """A model folder with its config and tokenizer but no weights, like ../shared/models/klue-bert-base."""
    shutil.copytree(model_dir, folder, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    return folder


@pytest.mark.slow
def test_a_quick_run_shows_the_kits_progress_and_keeps_only_the_final_model(tiny_model_dir, nsmc_dir, tmp_path):
    model = _architecture_only(tiny_model_dir, tmp_path / "architecture")
    out = tmp_path / "quick"
    args = run_args(model, nsmc_dir, out, "--no-weights --epochs 1 --max-length 64 --limit 80 --batch-size 8")
    proc = subprocess.run(_cli(*args), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "{'loss'" not in proc.stdout + proc.stderr and "{'eval_loss'" not in proc.stdout + proc.stderr
    assert "validation accuracy" in proc.stderr  # the kit's line per evaluation
    assert "test accuracy (from random weights)" in proc.stdout  # near chance, and said so
    assert not (out / "checkpoints").exists()  # they were for --resume; the run completed
    assert (out / "model.safetensors").is_file() and (out / "run.json").is_file()
    run = json.loads((out / "run.json").read_text())
    assert any("loss" in entry for entry in run["log_history"])  # the Trainer's logs still reach run.json
    # What it leads to says so too: the export (whose labels say nothing about such a model: int8 is judged
    # on its logits, and valid, so the newcomer's first export exits 0) and predict.
    export = tmp_path / "export"
    exported = CliRunner().invoke(
        main, ["export", "--onnx", str(out), "--quantize", "int8", "--data-dir", str(nsmc_dir), "--output", str(export)]
    )
    assert exported.exit_code == 0 and "accuracy (from random weights)" in exported.output, exported.output
    int8 = next(v for v in json.loads((export / "export.json").read_text())["variants"] if v["name"] == "int8")
    assert int8["why"].startswith("judged on logits (the source model started from random weights)")
    predicted = CliRunner().invoke(main, ["predict", str(export), "재밌어요"])
    assert predicted.exit_code == 0 and "started from random weights" in predicted.output


@pytest.mark.slow
def test_keep_checkpoints_keeps_them(tiny_model_dir, nsmc_dir, tmp_path):
    out = tmp_path / "kept"
    args = run_args(tiny_model_dir, nsmc_dir, out, "--epochs 1 --max-length 64 --limit 40 --keep-checkpoints --no-test")
    proc = subprocess.run(_cli(*args), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any(map(is_complete, checkpoints(out / "checkpoints")))
