"""onnxruntime-gpu on a machine where CUDA cannot load (this CPU machine, or a GPU machine missing its CUDA
libraries): it lists CUDAExecutionProvider anyway and runs a CUDA session on the CPU without failing. Every
command must say where it really runs and none may claim CUDA. The GPU build is the one the GPU image pins,
installed beside the tests (not over the CPU build); the IO-binding path runs here on the CPU."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.serving import start_server

CUDA_REFUSED = "onnxruntime-gpu could not start CUDA here"


def gpu_image_ort() -> str:
    """The onnxruntime-gpu requirement the Dockerfile's GPU build uses (one place for the pin)."""
    return re.search(r"^ARG ORT_GPU=(\S+)", (ROOT / "Dockerfile").read_text(), re.M).group(1)


@pytest.fixture(scope="module")
def gpu_build(tmp_path_factory):
    """An environment whose `import onnxruntime` is the GPU build (without its CUDA wheels, as on a GPU host
    that lacks them)."""
    target = tmp_path_factory.mktemp("onnxruntime-gpu")
    requirement = re.sub(r"\[.*?\]", "", gpu_image_ort())
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), requirement],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"{requirement} could not be installed here: {proc.stderr.strip().splitlines()[-1]}")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}


def nsmckit(env, *args: str) -> subprocess.CompletedProcess:
    code = "from kit.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_the_gpu_build_is_the_one_loaded(gpu_build):
    proc = subprocess.run(
        [sys.executable, "-c", "import onnxruntime as o; print(o.get_available_providers())"],
        capture_output=True,
        text=True,
        env=gpu_build,
    )
    assert "CUDAExecutionProvider" in proc.stdout  # listed, though it cannot load here


@pytest.mark.slow
def test_predict_says_where_it_runs(gpu_build, tiny_export, tmp_path):
    refused = nsmckit(gpu_build, "predict", str(tiny_export.path), "좋다", "--provider", "cuda")
    assert refused.returncode == 1 and refused.stderr.strip().splitlines()[-1].startswith(f"Error: {CUDA_REFUSED}")
    source = tmp_path / "in.txt"
    source.write_text("좋다\n별로\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    auto = nsmckit(gpu_build, "predict", str(tiny_export.path), "--input", str(source), "--output", str(out))
    assert auto.returncode == 0, auto.stderr
    assert "onnxruntime cpu" in auto.stderr and len(out.read_text().splitlines()) == 2


@pytest.mark.slow
def test_an_o4_export_is_never_validated_on_a_cpu_posing_as_cuda(gpu_build, tiny_model_dir, tmp_path):
    out = tmp_path / "o4"
    args = ["export", "--onnx", str(tiny_model_dir), "--optimize", "O4", "--output", str(out), "--max-length", "64"]
    proc = nsmckit(gpu_build, *args)
    assert proc.returncode == 1 and CUDA_REFUSED in proc.stderr.strip().splitlines()[-1]
    assert not out.exists()


@pytest.mark.slow
def test_bench_skips_ort_cuda_with_the_reason(gpu_build, tiny_export, nsmc_dir, tmp_path):
    out = tmp_path / "bench"
    args = ["bench", "--export", str(tiny_export.path), "--data-dir", str(nsmc_dir), "--output", str(out)]
    flags = "--backends ort-cuda:fp32,ort-cpu:fp32 --strategies bucketed --batch-sizes 8 --max-length 64 --limit 40"
    proc = nsmckit(gpu_build, *args, *flags.split())
    assert proc.returncode == 0, proc.stderr
    cells = {c["backend"]: c for c in json.loads((out / "results.json").read_text())["cells"]}
    assert cells["ort-cuda"]["status"] == "skipped" and CUDA_REFUSED in cells["ort-cuda"]["reason"]
    assert cells["ort-cpu"]["status"] == "ok" and cells["ort-cpu"]["runs_on"] == "cpu"


@pytest.mark.slow
def test_serve_reports_the_cpu_or_refuses_to_start(gpu_build, tiny_export):
    import httpx

    proc, url = start_server(tiny_export.path, "--provider", "auto", env=gpu_build)
    try:
        info = httpx.get(f"{url}/info").json()
        assert info["provider"] == "cpu" and info["providers"] == ["CPUExecutionProvider"]
    finally:
        proc.kill()
    with pytest.raises(RuntimeError, match=CUDA_REFUSED):  # the server exits 1 instead of serving
        start_server(tiny_export.path, "--provider", "cuda", env=gpu_build)


def test_io_binding_runs_on_the_cpu_and_matches(tiny_export):
    """ort-cuda's call path (IO binding), with the binding device as a parameter: here the CPU."""
    from kit.batching import pad_batch
    from kit.runtime.classifiers import load_classifier
    from kit.runtime.ort_backend import bound_run

    classifier = load_classifier(tiny_export.path, provider="cpu")
    seqs = classifier.encode(["정말 재미있어요 최고", "시간 아깝다", ""])
    batch = pad_batch(seqs, max(len(s) for s in seqs), classifier.pad_id)
    logits, ms = bound_run(classifier.backend.session, batch, "cpu")
    np.testing.assert_allclose(logits, classifier.run(batch), atol=1e-6)
    assert logits.dtype == np.float32 and ms > 0
