"""One precedence for settings: an explicit option, then what the artifact records, then the environment.
Each case here gave a silent wrong result before: random weights exported in place of trained ones, and
an export benchmarked against another model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.runtime.classifiers import load_classifier
from tests.helpers import run_args

TEXTS = ["정말 재미있어요 최고", "시간 아깝다 최악", "배우 연기 좋았다", ""]


def invoke(args: list[str], **env: str):
    return CliRunner().invoke(main, args, env=env)


def torch_logits(model_dir, texts):
    return load_classifier(model_dir).predict_logits(texts)


@pytest.mark.slow
def test_no_weights_from_the_environment_keeps_a_folders_trained_weights(tiny_model_dir, tmp_path):
    out = tmp_path / "export"
    args = ["export", "--onnx", str(tiny_model_dir), "--output", str(out), "--max-length", "64", "--validate-rows", "8"]
    result = invoke(args, NSMC_NO_WEIGHTS="1")
    assert result.exit_code == 0, result.output
    assert "NSMC_NO_WEIGHTS ignored" in result.output and "model.safetensors" in result.output
    assert json.loads((out / "export.json").read_text())["source"]["no_weights"] is False
    exported = load_classifier(out).predict_logits(TEXTS)
    np.testing.assert_allclose(exported, torch_logits(tiny_model_dir, TEXTS), atol=1e-4)


def test_explicit_no_weights_on_trained_weights_is_refused(tiny_model_dir, tmp_path):
    result = invoke(["export", "--onnx", str(tiny_model_dir), "--output", str(tmp_path / "e"), "--no-weights"])
    assert result.exit_code == 1 and "holds trained weights (model.safetensors)" in result.output
    assert not (tmp_path / "e").exists()


@pytest.mark.slow
def test_no_weights_from_the_environment_applies_where_there_are_none(config_only_dir, tmp_path):
    out = tmp_path / "export"
    args = ["export", "--onnx", str(config_only_dir), "--output", str(out), "--max-length", "64"]
    result = invoke(args, NSMC_NO_WEIGHTS="1")
    assert result.exit_code == 0, result.output
    assert "ignored" not in result.output
    assert json.loads((out / "export.json").read_text())["source"]["no_weights"] is True


def _bench(tiny_export, nsmc_dir, out, extra: str = "", **env):
    flags = "--backends torch:fp32,ort-cpu:fp32 --strategies bucketed --batch-sizes 8 --max-length 64 --limit 40"
    args = ["bench", "--export", str(tiny_export.path), *run_args(tiny_export.path, nsmc_dir, out, flags)[2:]]
    result = invoke([*args, *extra.split()], **env)
    assert result.exit_code == 0, result.output
    cells = json.loads((out / "results.json").read_text())["cells"]
    return result.output, {c["backend"]: c for c in cells}


def test_bench_on_an_export_runs_its_source_not_nsmc_model(tiny_export, other_model_dir, nsmc_dir, tmp_path):
    output, cells = _bench(tiny_export, nsmc_dir, tmp_path / "env", NSMC_MODEL=str(other_model_dir))
    assert "NSMC_MODEL ignored" in output
    assert cells["ort-cpu"]["agreement"] == 1.0  # torch ran the export's own source


def test_an_explicit_model_wins_and_is_named(tiny_export, other_model_dir, nsmc_dir, tmp_path):
    output, cells = _bench(tiny_export, nsmc_dir, tmp_path / "explicit", f"--model {other_model_dir}")
    assert "--model" in output and "the torch backends run it" in output
    assert cells["ort-cpu"]["agreement"] == 0.0  # the other model predicts the opposite of the export
