"""The GPU run's call sequence (bench/gpu), rehearsed on this CPU through the same scripts, so that a renamed
flag or a broken stage fails CI instead of the rare GPU lease."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import ROOT


def test_the_whole_call_sequence_runs_at_toy_size(real_nsmc_dir, klue_dir, tmp_path):
    results = tmp_path / "results"
    env = {**os.environ, "NSMC_DATA_DIR": str(real_nsmc_dir), "KLUE_DIR": str(klue_dir)}
    proc = subprocess.run(
        ["bash", "bench/gpu/rehearse.sh", str(results)], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "FAILED" not in proc.stdout
    for stage, expected in {
        "s1": ["export.json", "probe.json", "probe-export.json"],
        "s2": ["torch-fp32/results.json", "ort-cpu-fp32/results.json"],
        "s3": ["torch-bf16/results.json", "ort-cpu-O2/results.json", "latency-batch1/results.json"],
        "s4": ["train-bf16/results.json", "train-notebook/results.json", "run.json"],
        "s5": ["loadtest-dynamic/results.json", "loadtest-batch1/results.json", "info-dynamic.json"],
    }.items():
        assert (results / stage / f"{stage}.log").is_file()
        for name in expected:
            assert (results / stage / name).is_file(), f"{stage}/{name}"
    summary = (results / "summary.md").read_text()
    for section in ("## Export", "## Inference", "## Latency", "## Training", "## Serving", "## Targets"):
        assert section in summary


def test_a_stage_on_a_machine_given_back_says_so(tmp_path):
    """After 30 s idle the machine goes back and /tmp with it: a later stage must refuse, not half-run."""
    env = {
        **os.environ,
        "OUT": str(tmp_path / "out"),
        "GPU_WORK": str(tmp_path / "gpu"),
        "GPU_SITE": str(tmp_path / "site"),
    }
    (tmp_path / "out").mkdir()
    proc = subprocess.run(["bash", "bench/gpu/s2_inference_fp32.sh"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 3
    assert "was given back" in (tmp_path / "out" / "s2.log").read_text()
    assert (tmp_path / "out" / "s2.tar.gz").is_file()  # the EXIT trap still leaves the stage's archive
