"""The GPU run (bench/gpu): its worst-case device time computed from the call scripts themselves, and the whole
call sequence rehearsed on this CPU through the same scripts and install paths, so that a renamed flag, a
broken call or a plan that outgrew the lease fails CI instead of the rare GPU lease."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import wait_until

GPU = ROOT / "bench" / "gpu"
spec = importlib.util.spec_from_file_location("gpu_plan", GPU / "plan.py")
plan = sys.modules["gpu_plan"] = importlib.util.module_from_spec(spec)  # a script folder, not a package
spec.loader.exec_module(plan)


def test_the_whole_plan_fits_twelve_minutes_of_device_time_in_the_worst_case():
    steps = {call.name: plan.steps(call.script) for call in plan.CALLS}
    assert all(steps.values()), f"a call without bounded steps: {steps}"
    for call in plan.CALLS:
        assert plan.timeout_s(call) == sum(s for _, s in steps[call.name]) + plan.STAGE_OVERHEAD_S
        assert plan.timeout_s(call) <= 600, f"{call.name}: one command runs 10 minutes at most"
        assert plan.carry_mib(call, plan.tree_mib()) <= plan.CARRY_LIMIT_MIB, call.name
    assert plan.worst_case_s() <= plan.BUDGET_S == 720


def test_every_step_bound_is_a_literal_the_plan_reads():
    """A step whose bound is not a number on its line would escape the plan's sum."""
    for call in plan.CALLS:
        text = (GPU / call.script).read_text()
        calls_of_step = [line for line in text.splitlines() if line.lstrip().startswith("step ")]
        assert len(calls_of_step) == len(plan.steps(call.script)), call.script


def test_the_readme_shows_the_plan_as_computed():
    table = plan.table()
    assert table in (GPU / "README.md").read_text(), "run: python3 bench/gpu/plan.py table, into bench/gpu/README.md"


def test_bundle_b_is_cut_into_the_planned_parts_and_refused_when_too_large(tmp_path):
    bundle = tmp_path / "b.tar.xz"
    bundle.write_bytes(os.urandom(10_000))
    parts = plan.cut(bundle, tmp_path)
    assert [p.name for p in parts] == ["b-aa", "b-ab", "b-ac", "b-ad"]
    assert b"".join(p.read_bytes() for p in parts) == bundle.read_bytes()
    with bundle.open("r+b") as f:
        f.truncate((sum(plan.B_PART_MIB) + 1) * 2**20)
    with pytest.raises(SystemExit, match="does not fit the planned parts"):
        plan.cut(bundle, tmp_path)


@pytest.fixture
def rehearsal_bundle(real_nsmc_dir, klue_dir, tmp_path_factory):
    """The rehearsal's bundles (tiny wheels, this Python's onnxruntime); a second fetch reuses them."""
    folder = tmp_path_factory.mktemp("bundle")
    env = {**os.environ, "REHEARSAL": "1", "GPU_BUNDLE": str(folder), "NSMC_DATA_DIR": str(real_nsmc_dir)}
    env["KLUE_DIR"] = str(klue_dir)
    for attempt in ("made", "reused"):
        proc = subprocess.run(["bash", "bench/gpu/fetch.sh"], cwd=ROOT, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        assert attempt in proc.stdout, proc.stdout
    return env


@pytest.mark.slow
def test_the_whole_call_sequence_runs_at_toy_size(rehearsal_bundle, tmp_path):
    results = tmp_path / "results"
    proc = subprocess.run(
        ["bash", "bench/gpu/rehearse.sh", str(results)], cwd=ROOT, capture_output=True, text=True, env=rehearsal_bundle
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "FAILED" not in proc.stdout and "exited" not in proc.stdout, proc.stdout[-4000:]
    for call, expected in {
        "c1": ["device.json", "train/results.json", "inference/results.json", "latency/results.json"],
        "c2": ["train-notebook/results.json"],
        "c3": ["inference-bf16/results.json"],
        "c4": ["probe.json", "export.json", "inference/results.json", "latency/results.json"],
        "c5": ["closed-dynamic/results.json", "open-dynamic/results.json", "closed-batch1/results.json"],
    }.items():
        assert (results / call / f"{call}.log").is_file()
        for name in expected:
            assert (results / call / name).is_file(), f"{call}/{name}"
    logs = "".join(p.read_text() for p in results.glob("c*/c*.log"))
    # the real install path: pip into the target folder, each carried distribution imported from there, and
    # the CPU onnxruntime gone from the (scratch) image environment, the carried build imported instead
    assert logs.count("1 of 1 carried distributions import from") == 3  # A's wheel, B's wheel, onnxruntime
    assert "the image's onnxruntime is uninstalled" in logs
    probe = json.loads((results / "c4" / "probe.json").read_text())
    assert "/machine/site/onnxruntime/" in probe["onnxruntime"]["file"]

    def cells(run: str) -> list[dict]:
        return json.loads((results / run / "results.json").read_text())["cells"]

    assert [c["strategy"] for c in cells("c1/train")] == ["bucketed", "fixed"]  # headline cells first, only those
    assert [c["concurrency"] for c in cells("c5/closed-dynamic")] == [1, 64]
    summary = (results / "summary.md").read_text()
    for section in ("## Calls and steps", "## Training", "## Inference", "## Batch-1", "## Serving", "## Targets"):
        assert section in summary


def _kill_session(sid: int) -> None:
    """SIGKILL to every process of a session: what the device tool does to a call past its timeout_s."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            try:
                os.kill(int(stat.parent.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.slow
def test_a_call_killed_at_a_random_step_returns_every_finished_step(rehearsal_bundle, tmp_path):
    steps = [name for name, _ in plan.steps("c1_torch.sh")]
    finished = random.Random().randint(1, len(steps) - 1)
    out = tmp_path / "out"
    out.mkdir()
    env = {**rehearsal_bundle, "OUT": str(out), "GPU_WORK": str(tmp_path / "gpu"), "GPU_SITE": str(tmp_path / "site")}
    call = subprocess.Popen(["bash", "bench/gpu/c1_torch.sh"], cwd=ROOT, env=env, start_new_session=True)
    log = out / "c1.log"
    try:
        wait_until(
            lambda: log.is_file() and log.read_text().count(": ok in ") + log.read_text().count(": FAILED") >= finished,
            timeout=300,
            what=f"{finished} finished steps of c1",
        )
    finally:
        _kill_session(call.pid)
        call.wait()
    with tarfile.open(out / "c1.tar.gz") as archive:
        names = archive.getnames()
        done = archive.extractfile("c1/steps.tsv").read().decode().splitlines()
    done = [line.split("\t")[0] for line in done]
    assert done[:finished] == steps[:finished], f"killed after {finished} steps"
    outputs = {"train": "c1/train/results.json", "inference": "c1/inference/results.json", "device": "c1/device.json"}
    for step in done:
        if step in outputs:
            assert outputs[step] in names, f"{step} finished but its results are not in $OUT"


def test_a_call_on_a_machine_given_back_says_so(tmp_path):
    """After 30 s idle the machine goes back and /tmp with it: a later call must refuse, not half-run."""
    env = {**os.environ, "OUT": str(tmp_path / "out"), "GPU_WORK": str(tmp_path / "gpu"), "GPU_SITE": str(tmp_path)}
    (tmp_path / "out").mkdir()
    proc = subprocess.run(["bash", "bench/gpu/c2_torch.sh"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 3
    assert "given back" in proc.stdout and "Start again from c1" in (tmp_path / "out" / "c2.log").read_text()
    assert (tmp_path / "out" / "c2.tar.gz").is_file()  # the EXIT trap still leaves the call's archive
