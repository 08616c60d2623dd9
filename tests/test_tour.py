"""The README's tour (bench/tour.sh: finetune, export, bench, predict, serve and one request, a load test,
tune) runs end to end, here on the tiny model, so the tour cannot rot."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ROOT
from tests.serving import free_port


@pytest.mark.slow
def test_the_tour_runs_from_the_quick_run_to_a_tuned_configuration(config_only_dir, nsmc_dir, tmp_path):
    env = os.environ | {
        "NSMC_MODEL": str(config_only_dir),
        "NSMC_NO_WEIGHTS": "1",
        "NSMC_DATA_DIR": str(nsmc_dir),
        "PORT": str(free_port()),
    }
    out = tmp_path / "tour"
    done = subprocess.run(["bash", str(ROOT / "bench" / "tour.sh"), str(out)], env=env, capture_output=True, text=True)
    logs = {p.name: p.read_text()[-1500:] for p in out.glob("*.log")} if done.returncode else {}
    assert done.returncode == 0, (done.stderr[-2000:], logs)
    steps = [line.split("\t")[0] for line in (out / "tour.tsv").read_text().splitlines()[1:]]
    assert steps[:7] == ["finetune", "export", "bench", "predict", "loadtest", "serve (to healthy)", "tune"]
    assert steps[7:] == ["size of runs/quick", "size of exports/quick"]
    answer = json.loads((out / "request.json").read_text())
    assert answer["label_name"] in ("negative", "positive") and len(answer["probabilities"]) == 2
    assert len((out / "scored.jsonl").read_text().splitlines()) == 200  # the synthetic test file's rows
    assert (out / "runs" / "tune-quick" / "tune.json").is_file()
    assert json.loads((out / "runs" / "loadtest-quick" / "results.json").read_text())["cells"]
