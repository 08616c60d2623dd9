"""Training you can watch: TensorBoard through Trainer, curves.png in every run, `runs compare`, and an
offline start that fails in seconds instead of minutes of hub retries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.train.curves import Curves
from tests.helpers import run_args

TINY_RUN = "--max-length 64 --batch-size 16 --max-steps 24 --eval-steps 8 --limit 300 --lr 1e-3"


def finetune(tiny_model_dir, nsmc_dir, out: Path, extra: str = ""):
    return CliRunner().invoke(main, ["finetune", *run_args(tiny_model_dir, nsmc_dir, out, f"{TINY_RUN} {extra}")])


@pytest.fixture(scope="module")
def two_runs(tiny_model_dir, nsmc_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    results = {
        name: finetune(tiny_model_dir, nsmc_dir, root / name, extra)
        for name, extra in (("tb", "--report-to tensorboard --strategy bucketed"), ("fixed", "--strategy fixed"))
    }
    for result in results.values():
        assert result.exit_code == 0, result.output
    return root / "tb", root / "fixed", results["tb"].output


def test_curves_png_holds_every_logged_metric(two_runs):
    out, _, printed = two_runs
    run = json.loads((out / "run.json").read_text())
    curves = Curves.of_run(out)
    logged_losses = [e["step"] for e in run["log_history"] if "loss" in e]
    assert curves.series["loss"][0] == logged_losses and logged_losses
    assert curves.series["eval_accuracy"][0] == [8, 16, 24] == curves.series["eval_loss"][0]
    assert curves.series["eval_accuracy"][1] == [e["val_accuracy"] for e in run["epochs"]]
    image = matplotlib.image.imread(out / "curves.png")
    assert image.shape[0] > 300 and image.shape[1] > 600 and image.std() > 0  # a drawn picture, not a blank one
    assert f"training curves: {out}/curves.png" in printed


def test_tensorboard_events_are_written_offline(two_runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _, _ = two_runs
    events = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"
    accumulator = EventAccumulator(str(events[0].parent)).Reload()
    assert {"train/loss", "eval/accuracy"} <= set(accumulator.Tags()["scalars"])
    assert [e.step for e in accumulator.Scalars("eval/accuracy")] == [8, 16, 24]


def test_runs_compare_overlays_two_runs(two_runs, tmp_path, monkeypatch):
    tb, fixed, _ = two_runs
    monkeypatch.chdir(tmp_path)  # the default output is runs/compare.png under the working directory
    png = tmp_path / "runs" / "compare.png"
    result = CliRunner().invoke(main, ["runs", "compare", str(tb), str(fixed)])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output  # piped output: no column cut to an ellipsis
    for folder in (tb, fixed):
        accuracy = json.loads((folder / "run.json").read_text())["test"]["accuracy"]
        assert f"{accuracy:.4f}" in result.output
    assert "bucketed" in result.output and "fixed" in result.output
    assert matplotlib.image.imread(png).std() > 0


def test_missing_tracker_package_fails_before_any_work(tiny_model_dir, nsmc_dir, tmp_path):
    import importlib.util

    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed here")
    result = finetune(tiny_model_dir, nsmc_dir, tmp_path / "run", "--report-to wandb")
    assert result.exit_code == 1
    assert "--report-to wandb needs the wandb package: pip install 'nsmckit[wandb]'" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_unreachable_hub_fails_in_seconds(nsmc_dir, tmp_path):
    """A closed port on 127.0.0.1 as the proxy: the hub client alone would retry for about a minute."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    env.update(HTTPS_PROXY=closed, HTTP_PROXY=closed, HF_HOME=str(tmp_path / "hf"), NO_PROXY="")
    cmd = [sys.executable, "-m", "kit.cli", "finetune", "--model", "klue/bert-base", "--data-dir", str(nsmc_dir)]
    proc = subprocess.run(
        [*cmd, "--output", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=40
    )
    assert proc.returncode == 1
    assert "the Hugging Face hub cannot be reached" in proc.stderr and "NSMC_MODEL" in proc.stderr
    assert "Traceback" not in proc.stderr
