"""The CLI as a user meets it: help, real output, and one-line errors with exit code 1."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kit.cli import main
from tests.helpers import run_args


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_lists_commands_and_defaults():
    result = invoke("--help")
    assert result.exit_code == 0 and "finetune" in result.output and "data" in result.output
    result = invoke("finetune", "--help")
    assert "NSMC_DATA_DIR" in result.output and "default: bucketed" in result.output


def test_data_reports_lengths_and_writes_plot(tiny_model_dir, nsmc_dir, tmp_path):
    plot = tmp_path / "lengths.png"
    result = invoke(
        "data",
        "--model",
        str(tiny_model_dir),
        "--data-dir",
        str(nsmc_dir),
        "--plot",
        str(plot),
        *"--max-length 32 --max-length 64".split(),
    )
    assert result.exit_code == 0, result.output
    for text in ("600", "200", "efficiency fixed-32", "efficiency fixed-64", "efficiency bucketed", "mean tokens"):
        assert text in result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_finetune_end_to_end_prints_summary(tiny_model_dir, nsmc_dir, tmp_path):
    out = tmp_path / "run"
    result = invoke("finetune", *run_args(tiny_model_dir, nsmc_dir, out, "--max-length 64 --epochs 1 --strategy fixed"))
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and "padding efficiency" in result.output
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["strategy"] == "fixed" and run["train"]["padding_efficiency"] < 0.6


def _bad_data(tmp_path, train: str):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "ratings_train.txt").write_text(train, encoding="utf-8")
    (folder / "ratings_test.txt").write_text("id\tdocument\tlabel\n1\t좋다\t1\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing-dir", "no such folder"),
        ("bad-header", "ratings_train.txt:1: header"),
        ("bad-label", "ratings_train.txt:3: label 'x' is not 0 or 1"),
        ("bad-model", "no tokenizer could be loaded"),
        ("bad-override", "is not KEY=VALUE"),
        ("override-without-no-weights", "need --no-weights"),
        ("unknown-override", "has no such field"),
        ("resume-nothing", "no checkpoint to resume"),
        ("fp16-on-cpu", "fp16 mixed precision needs a CUDA GPU"),
    ],
)
def test_bad_input_is_one_line_error(case, message, tiny_model_dir, nsmc_dir, tmp_path):
    args = ["finetune", "--model", str(tiny_model_dir), "--data-dir", str(nsmc_dir), "--output", str(tmp_path / "o")]
    extra = {
        "missing-dir": lambda: ["--data-dir", str(tmp_path / "nowhere")],
        "bad-header": lambda: ["--data-dir", str(_bad_data(tmp_path, "id\ttext\tlabel\n1\t좋다\t1\n"))],
        "bad-label": lambda: ["--data-dir", str(_bad_data(tmp_path, "id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\tx\n"))],
        "bad-model": lambda: ["--model", str(tmp_path)],
        "bad-override": lambda: ["--no-weights", "--config-overrides", "num_hidden_layers"],
        "override-without-no-weights": lambda: ["--config-overrides", "num_hidden_layers=1"],
        "unknown-override": lambda: ["--no-weights", "--config-overrides", "not_a_field=1"],
        "resume-nothing": lambda: ["--resume"],
        "fp16-on-cpu": lambda: ["--precision", "fp16"],
    }[case]()
    result = CliRunner().invoke(main, args + extra)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1


def test_existing_run_is_not_overwritten(tmp_path, tiny_model_dir, nsmc_dir):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text("{}")
    result = CliRunner().invoke(
        main, ["finetune", "--model", str(tiny_model_dir), "--data-dir", str(nsmc_dir), "--output", str(out)]
    )
    assert result.exit_code == 1 and "--overwrite" in result.output
    assert (out / "run.json").read_text() == "{}"
