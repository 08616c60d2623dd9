"""The OpenVINO backend and variants, through the real pipeline: Optimum export, NNCF quantization, OpenVINO
on whatever CPU runs the tests (bf16 where it has the instructions, left out where it does not)."""

from __future__ import annotations

import json
import shutil
import signal

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.errors import ModelError
from kit.runtime.backend import BackendOptions, BackendSpec
from kit.runtime.classifiers import load_backend, load_classifier
from kit.runtime.openvino_backend import OpenVinoBackend, bf16_hardware
from kit.runtime.variant_choice import choose_variant
from tests.serving import start_server

TEXTS = ["정말 재미있어요 최고", "시간 아깝다 최악", "배우 연기 좋았다", "", "그냥 그랬다 " * 40]


@pytest.fixture(scope="module")
def ov_export(tiny_ov_export):
    return tiny_ov_export


def test_export_builds_judges_and_records_the_openvino_variants(ov_export, nsmc_dir):
    variants = {v["name"]: v for v in ov_export.manifest["variants"]}
    assert list(variants) == ["fp32", "int8", "ov-bf16", "ov-int8"]
    for name in ("ov-bf16", "ov-int8"):
        variant = variants[name]
        assert variant["runtime"] == "openvino" and variant["valid"] is True
        assert variant["validation"]["labeled"]["rows"] == 200  # judged on labels, like ONNX Runtime's int8
    int8 = variants["ov-int8"]
    assert (
        int8["quantization"]["scheme"] == "static"
        and str(nsmc_dir / "ratings_train.txt") in int8["quantization"]["calibration"]
    )
    for path in (int8["file"], *int8["companions"]):  # the IR's graph and weights, both checksummed
        assert path in ov_export.manifest["files"]
    assert variants["ov-bf16"]["file"] == "model.onnx"  # a compile setting, not a second copy of the weights
    assert "cpu_flags" in ov_export.manifest["validated_on"]


def test_openvino_fp32_reproduces_onnx_runtime_fp32(ov_export):
    """OpenVINO's default precision is bf16 wherever the CPU has it: the fp32 row must set f32 explicitly."""
    ort = load_classifier(ov_export.path, "fp32", provider="cpu").predict_logits(TEXTS)
    ov = OpenVinoBackend(BackendSpec("openvino", "fp32"), ov_export.path)
    assert ov.precision == "f32" and ov.runs_on == "cpu"
    from kit.runtime.text_classifier import TextClassifier

    np.testing.assert_allclose(TextClassifier(ov).predict_logits(TEXTS), ort, atol=1e-4)


def test_ov_int8_agrees_with_fp32_and_loads_by_variant_name(ov_export):
    classifier = load_classifier(ov_export.path, "ov-int8")
    assert classifier.backend.spec.name == "openvino" and "ov-int8" in classifier.description
    fp32 = load_classifier(ov_export.path, "fp32").predict_logits(TEXTS)
    assert np.abs(classifier.predict_logits(TEXTS) - fp32).max() < 0.05


def test_a_corrupt_ir_weights_file_fails_at_load(ov_export, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(ov_export.path, copy)
    (copy / "openvino" / "model_int8.bin").write_bytes(b"\0" * 16)
    with pytest.raises(ModelError, match="model_int8.bin: sha256 does not match"):
        load_classifier(copy, "ov-int8")
    load_classifier(copy, "fp32")  # the other variants still load


@pytest.mark.slow
def test_auto_picks_a_timed_valid_variant_and_never_an_invalid_one(ov_export, tmp_path):
    choice = choose_variant(ov_export.path)
    assert choice.name in choice.speeds and choice.speeds[choice.name] == max(choice.speeds.values())
    if bf16_hardware():
        assert "ov-bf16" in choice.speeds
    else:  # emulated bf16 is never faster: not a candidate
        assert "bf16 instructions" in choice.left_out["ov-bf16"]
    copy = tmp_path / "copy"
    shutil.copytree(ov_export.path, copy)
    manifest = json.loads((copy / "export.json").read_text())
    for variant in manifest["variants"]:
        variant["valid"] = variant["name"] == "int8"
    (copy / "export.json").write_text(json.dumps(manifest))
    backend = load_backend(copy, "auto", BackendOptions(provider="cpu"))
    assert backend.variant["name"] == "int8" and "--variant auto chose int8" in backend.choice
    assert "judged invalid at export" in backend.choice


@pytest.mark.slow
def test_bench_runs_openvino_and_skips_its_variants_on_onnx_runtime(ov_export, nsmc_dir, tmp_path):
    out = tmp_path / "bench"
    args = ["bench", "--export", str(ov_export.path), "--backends", "ort-cpu:fp32,openvino:ov-int8,ort-cpu:ov-int8"]
    args += ["--strategies", "bucketed", "--batch-sizes", "8", "--max-length", "64", "--limit", "40", "--output"]
    result = CliRunner().invoke(main, [*args, str(out), "--data-dir", str(nsmc_dir)])
    assert result.exit_code == 0, result.output
    cells = {(c["backend"], c["precision"]): c for c in json.loads((out / "results.json").read_text())["cells"]}
    assert cells[("openvino", "ov-int8")]["status"] == "ok" and cells[("openvino", "ov-int8")]["runs_on"] == "cpu"
    skipped = cells[("ort-cpu", "ov-int8")]
    assert skipped["status"] == "skipped" and "built for openvino" in skipped["reason"]
    assert cells[("openvino", "ov-int8")]["agreement"] is not None  # against ort-cpu:fp32, the run's reference


@pytest.mark.slow
def test_server_serves_ov_int8_with_two_streams(ov_export):
    proc, url = start_server(ov_export.path, "--variant", "ov-int8", "--parallel-calls", "2", "--threads", "1")
    try:
        info = httpx.get(f"{url}/info").json()
        assert info["backend"] == "openvino" and info["variant"] == "ov-int8" and info["providers"] == ["CPU"]
        got = httpx.post(f"{url}/predict", json={"texts": TEXTS}).json()["predictions"]
        expected = load_classifier(ov_export.path, "ov-int8").predict_proba(TEXTS)
        np.testing.assert_allclose([p["probabilities"] for p in got], expected, atol=1e-4)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_weights_changed_under_a_running_server_change_nothing(ov_export, tmp_path):
    """OpenVINO memory-mapped ov-int8's .bin: another model's weights copied over it (same inode) changed live
    answers, and truncating it killed the server with SIGBUS. The server reads the checked weights once."""
    import httpx

    from tests.serving import start_server

    copy = tmp_path / "export"
    shutil.copytree(ov_export.path, copy)
    weights = copy / "openvino" / "model_int8.bin"
    proc, url = start_server(copy, "--variant", "ov-int8")
    try:
        before = httpx.post(f"{url}/predict", json={"texts": TEXTS}, timeout=30).json()["predictions"]
        size = weights.stat().st_size
        with weights.open("r+b") as f:  # in place: the same inode a mapping would read through
            f.write(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes())
        after = httpx.post(f"{url}/predict", json={"texts": TEXTS}, timeout=30).json()["predictions"]
        with weights.open("r+b") as f:
            f.truncate(0)
        truncated = httpx.post(f"{url}/predict", json={"texts": TEXTS}, timeout=30).json()["predictions"]
        assert proc.poll() is None  # still serving
    finally:
        proc.terminate()
        proc.wait()
    assert after == before and truncated == before


def test_info_names_files_not_the_folders_they_lie_in(ov_export, nsmc_dir):
    """/info is shown to anyone: the calibration and the task's data sources name files, not local paths."""
    from kit.serve.app import public_manifest

    shown = json.dumps(public_manifest(ov_export.manifest))
    assert str(nsmc_dir) not in shown and str(ov_export.path) not in shown
    assert "ratings_train.txt" in shown  # what calibrated ov-int8, by name


def test_an_ir_openvino_cannot_read_says_why(ov_export, tmp_path):
    """Every OpenVINO load failure read `Exception from src/inference/src/cpp/core.cpp:84:`, which says where,
    not why."""
    from kit.errors import ModelError
    from kit.manifest import sha256_file

    copy = tmp_path / "export"
    shutil.copytree(ov_export.path, copy)
    (copy / "openvino" / "model_int8.xml").write_text("<net><layers>")  # checksummed, but no IR
    manifest = json.loads((copy / "export.json").read_text())
    manifest["files"]["openvino/model_int8.xml"] = sha256_file(copy / "openvino" / "model_int8.xml")
    (copy / "export.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="OpenVINO cannot load it") as raised:
        load_classifier(copy, "ov-int8")
    reason = str(raised.value).split("OpenVINO cannot load it (", 1)[1]
    assert not reason.startswith(("Exception from", "Check '")) and len(reason) > 10, str(raised.value)
