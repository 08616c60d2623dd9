"""`nsmckit bench` on a small matrix: real torch and onnxruntime, every output, sane numbers."""

from __future__ import annotations

import csv
import json
from dataclasses import fields

import numpy as np
import pytest
from click.testing import CliRunner

from kit.bench.results import InferenceCell
from kit.cli import main
from tests.helpers import run_args


def run_bench_cli(out, data, flags: str, **sources) -> tuple[dict, str]:
    """`nsmckit bench` with --model/--export from `sources`; the results.json it wrote and its output."""
    args = ["bench", "--data-dir", str(data), "--output", str(out), *flags.split()]
    for name, path in sources.items():
        args += [f"--{name}", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text()), result.output


@pytest.fixture(scope="module")
def bench_run(tiny_model_dir, tiny_export, nsmc_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "run"
    flags = "--backends torch:fp32,ort-cpu:fp32,ort-cpu:int8,ort-cuda:fp32 --batch-sizes 4,16 --fixed-lengths 64 "
    data, output = run_bench_cli(
        out, nsmc_dir, flags + "--max-length 64 --limit 60", model=tiny_model_dir, export=tiny_export.path
    )
    return out, data, output


def test_every_output_file_is_written(bench_run):
    out, _, output = bench_run
    for name in ("results.json", "results.csv", "results.md", "throughput.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "throughput.png").read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 4 * 3 * 2  # backends x strategies x batch sizes
    assert "ort-cpu:int8" in (out / "results.md").read_text()
    assert "best cell per backend" in output
    assert "…" not in output  # piped output is wide enough: no header or cell cut to an ellipsis


def test_json_has_the_documented_fields(bench_run):
    _, data, _ = bench_run
    assert {"config", "environment", "accuracy_meaningful", "cells"} <= set(data)
    for key in ("device", "cpu", "libraries", "git_commit", "command", "python"):
        assert key in data["environment"]
    for cell in data["cells"]:
        assert set(cell) == {f.name for f in fields(InferenceCell)}
        if cell["status"] == "ok":
            for key in ("accuracy", "f1", "samples_per_s", "real_tokens_per_s", "tokenize_s", "padding_efficiency"):
                assert isinstance(cell[key], float), key
            assert set(cell["latency_ms"]) == {"count", "mean", "p50", "p90", "p99", "p999", "min", "max"}


def test_numbers_are_consistent(bench_run):
    _, data, _ = bench_run
    ok = [c for c in data["cells"] if c["status"] == "ok"]
    fp32 = [c for c in ok if c["precision"] == "fp32"]
    assert len({round(c["accuracy"], 12) for c in fp32}) == 1  # padding and runtime do not change fp32 results
    assert all(c["agreement"] == 1.0 for c in fp32)
    assert all(0.9 <= c["agreement"] <= 1.0 for c in ok)
    # accuracy against torch fp32's on the same rows, with its paired interval around it
    assert all(c["accuracy_delta"] == 0.0 and c["accuracy_delta_ci95"] == [0.0, 0.0] for c in fp32)
    reference = next(c["accuracy"] for c in fp32)
    for c in ok:
        assert c["accuracy_delta"] == pytest.approx(c["accuracy"] - reference)
        low, high = c["accuracy_delta_ci95"]
        assert low <= c["accuracy_delta"] <= high
    for c in ok:
        lat = c["latency_ms"]
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert c["rows"] == 60 and lat["count"] == -(-60 // c["batch_size"])
    eff = {c["strategy"]: c["padding_efficiency"] for c in ok if c["backend"] == "torch" and c["batch_size"] == 16}
    assert eff["fixed"] < eff["dynamic"] < eff["bucketed"] <= 1.0


def test_missing_cuda_is_reported_as_skipped(bench_run):
    _, data, _ = bench_run
    cuda = [c for c in data["cells"] if c["backend"] == "ort-cuda"]
    assert cuda and all(c["status"] == "skipped" and "CUDAExecutionProvider" in c["reason"] for c in cuda)
    assert all(c["samples_per_s"] is None for c in cuda)


def test_compare_prints_ratios(bench_run):
    out, _, _ = bench_run
    result = CliRunner().invoke(main, ["bench", "compare", str(out / "results.json"), str(out / "results.json")])
    assert result.exit_code == 0, result.output
    assert "1.00x" in result.output and "torch:fp32" in result.output


@pytest.mark.slow
def test_train_scenario_reports_each_strategy(tiny_model_dir, nsmc_dir, tmp_path):
    out = tmp_path / "train"
    args = [
        "bench",
        *run_args(
            tiny_model_dir,
            nsmc_dir,
            out,
            "--scenario train --train-steps 3 --batch-sizes 8 --max-length 64 --limit 100",
        ),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    cells = json.loads((out / "results.json").read_text())["cells"]
    assert [c["strategy"] for c in cells] == ["fixed", "dynamic", "bucketed"]
    assert all(c["rows"] == 24 and c["samples_per_s"] > 0 for c in cells)
    assert cells[0]["padding_efficiency"] < cells[2]["padding_efficiency"]


@pytest.mark.slow
def test_train_scenario_runs_only_the_strategies_asked_for(tiny_model_dir, nsmc_dir, tmp_path):
    """The GPU plan trains bucketed vs fixed-128 only: --strategies must hold in the train scenario too."""
    out = tmp_path / "train"
    flags = "--scenario train --strategies bucketed,fixed --train-steps 2 --batch-sizes 8 --max-length 64 --limit 60"
    result = CliRunner().invoke(main, ["bench", *run_args(tiny_model_dir, nsmc_dir, out, flags)])
    assert result.exit_code == 0, result.output
    cells = json.loads((out / "results.json").read_text())["cells"]
    assert [c["strategy"] for c in cells] == ["bucketed", "fixed"]


def test_unknown_backend_is_a_one_line_error(tiny_model_dir, nsmc_dir):
    result = CliRunner().invoke(
        main, ["bench", "--model", str(tiny_model_dir), "--data-dir", str(nsmc_dir), "--backends", "tensorrt:fp8"]
    )
    assert result.exit_code == 1 and "unknown backend 'tensorrt'" in result.output


def test_torch_only_on_an_export_uses_its_source_and_tokenizer(tiny_export, nsmc_dir, tmp_path):
    flags = "--backends torch:fp32 --strategies bucketed --batch-sizes 8 --max-length 64 --limit 20"
    data, _ = run_bench_cli(tmp_path / "torch-only", nsmc_dir, flags, export=tiny_export.path)
    cells = data["cells"]
    assert [c["status"] for c in cells] == ["ok"] and cells[0]["rows"] == 20
    assert data["accuracy_meaningful"]  # the tiny export's source is a real model folder, not --no-weights


@pytest.mark.slow
def test_a_killed_bench_keeps_the_cells_it_measured(tiny_export, nsmc_dir, tmp_path):
    """results.json/csv are rewritten after every cell: a run cut off by a time limit leaves what it measured.
    The process kills itself the moment the first cell is on disk, so no race decides what is there."""
    import subprocess
    import sys

    out = tmp_path / "killed"
    flags = "--backends ort-cpu:fp32,ort-cpu:int8 --strategies fixed,dynamic,bucketed --fixed-lengths 64 "
    flags += "--max-length 64 --batch-sizes 1,2 --limit 50"
    args = ["bench", "--export", str(tiny_export.path), "--data-dir", str(nsmc_dir), "--output", str(out)]
    code = (
        "import os, signal\n"
        "import kit.bench.report as report\n"
        "write = report.write_records\n"
        "def write_then_die(result, output):\n"
        "    write(result, output)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "report.write_records = write_then_die\n"
        "from kit.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args, *flags.split()], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr[-2000:]
    cells = json.loads((out / "results.json").read_text())["cells"]
    assert len(cells) == 1 and cells[0]["status"] == "ok" and cells[0]["samples_per_s"] > 0
    assert len(list(csv.DictReader((out / "results.csv").open()))) == 1
    assert not (out / "results.md").exists()  # the full report comes only at the end


def test_bench_without_a_model_or_export_says_so_before_loading_data(tmp_path):
    result = CliRunner().invoke(main, ["bench", "--data-dir", str(tmp_path / "absent"), "--output", str(tmp_path)])
    assert result.exit_code == 1 and "give --model (a model folder or hub id) or --export" in result.output


def test_every_cell_length_feeds_the_ids_serving_would(tiny_export):
    """A review longer than a cell's length is encoded at that length, its closing [SEP] kept, exactly as
    the server encodes it with that max_length (before, the benchmark sliced longer ids and lost [SEP])."""
    from kit.bench.inference import Tokenized
    from kit.runtime.text_classifier import encode_ids, load_tokenizer_json

    tokenizer = load_tokenizer_json(tiny_export.path / "tokenizer.json", 64)
    long_review = "처음부터 끝까지 지루하고 배우들 연기도 어색했다 " * 20
    tokenized = Tokenized(tokenizer, [long_review, "좋다"], progress=lambda line: None)
    sep = tokenizer.token_to_id("[SEP]")
    for length in (16, 64):
        ids, _ = tokenized.at(length)
        assert len(ids[0]) == length and ids[0][-1] == sep
        served = encode_ids(load_tokenizer_json(tiny_export.path / "tokenizer.json", length), [long_review])
        np.testing.assert_array_equal(ids[0], served[0])


def test_results_written_with_the_old_strategy_name_read_as_bucketed(bench_run, tmp_path):
    out, data, _ = bench_run
    old = json.loads(json.dumps(data).replace('"bucketed"', '"sorted"'))
    (tmp_path / "old.json").write_text(json.dumps(old))
    result = CliRunner().invoke(main, ["bench", "compare", str(tmp_path / "old.json"), str(out / "results.json")])
    assert result.exit_code == 0, result.output
    assert "bucketed" in result.output and "sorted" not in result.output


def test_batches_are_padded_with_the_exports_pad_id_and_a_new_backend_is_one_registry_line(
    tiny_export, nsmc_dir, tmp_path, monkeypatch
):
    """The pad id comes from the export (before, the benchmark padded with 0 whatever it recorded); and a
    backend added as one class and one registry entry runs through bench like the built-in ones."""
    import shutil

    from kit.bench.config import BenchConfig
    from kit.bench.runner import run_bench
    from kit.data.splits import DataConfig
    from kit.runtime.ort_backend import OrtBackend
    from kit.runtime.registry import BACKENDS, Entry

    export = tmp_path / "export"
    shutil.copytree(tiny_export.path, export)
    manifest = json.loads((export / "export.json").read_text())
    manifest["task"]["pad_token_id"] = 3  # another id in the vocabulary: only the manifest says which
    (export / "export.json").write_text(json.dumps(manifest))
    padding: list[np.ndarray] = []

    class Recording(OrtBackend):
        def timed(self, batch):
            padding.append(batch["input_ids"][batch["attention_mask"] == 0])
            return super().timed(batch)

    monkeypatch.setitem(BACKENDS, "recording", Entry(Recording))
    config = BenchConfig(
        export=str(export),
        backends=("recording:fp32",),
        strategies=("fixed",),
        fixed_lengths=(64,),
        max_length=64,
        batch_sizes=(8,),
        limit=24,
        data=DataConfig(data_dir=str(nsmc_dir), val_ratio=0.0),
    )
    result = run_bench(config, progress=lambda line: None)
    assert [c.status for c in result.cells] == ["ok"]
    pads = np.concatenate(padding)
    assert pads.size and set(pads.tolist()) == {3}


def test_models_side_by_side_in_one_table(tiny_model_dir, other_model_dir, nsmc_dir, tmp_path):
    """Two models benched in one run, on the same rows: the other model predicts the opposite of the first
    (its classifier negated), so their accuracies add up to 1, each cell named by its model."""
    args = ["bench", "--model", str(tiny_model_dir), "--model", str(other_model_dir), "--backends", "torch:fp32"]
    args += ["--strategies", "bucketed", "--batch-sizes", "8", "--limit", "40", "--data-dir", str(nsmc_dir)]
    result = CliRunner().invoke(main, [*args, "--output", str(tmp_path / "side")])
    assert result.exit_code == 0, result.output
    cells = json.loads((tmp_path / "side" / "results.json").read_text())["cells"]
    assert [c["model"] for c in cells] == [str(tiny_model_dir), str(other_model_dir)]
    assert [c["rows"] for c in cells] == [40, 40]
    assert cells[0]["accuracy"] + cells[1]["accuracy"] == pytest.approx(1.0)
    assert "┃ model " in result.output  # the table names each row's model
    both = CliRunner().invoke(main, [*args[:5], "--export", str(tmp_path), *args[5:]])
    assert both.exit_code == 2 and "not both" in both.output
