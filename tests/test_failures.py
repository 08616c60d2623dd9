"""Every failure a user can act on is one line, `Error: ...`, and exit code 1, with `--debug` for the
traceback: corrupt model files, hand-edited manifests, lengths beyond the model, a missing extra."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from tests.conftest import ROOT


def one_line_error(args: list[str], message: str) -> None:
    """Exit code 1, and the failure is the last line (progress lines may come before it)."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    last = result.output.splitlines()[-1]
    assert last.startswith("Error: ") and message in last, result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def truncated_model(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("truncated") / "model"
    shutil.copytree(tiny_model_dir, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return folder


@pytest.mark.parametrize(
    "command",
    [
        "export --onnx {model} --output {tmp}/e",
        "predict {model} 좋다",
        "bench --model {model} --backends torch:fp32 --data-dir {data} --fixed-lengths 64 --output {tmp}/b",
    ],
)
def test_a_truncated_weights_file(truncated_model, nsmc_dir, tmp_path, command):
    args = command.format(model=truncated_model, tmp=tmp_path, data=nsmc_dir).split()
    one_line_error(args, f"{truncated_model}: the model could not be loaded")


def edited_export(export, tmp_path, edit) -> str:
    copy = tmp_path / "edited"
    shutil.copytree(export, copy)
    manifest = json.loads((copy / "export.json").read_text())
    edit(manifest)
    (copy / "export.json").write_text(json.dumps(manifest))
    return str(copy)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.pop("variants"), "'variants' is missing, expected a list of variants"),
        (lambda m: m["task"].update(max_length="abc"), "'max_length' is 'abc', expected an integer of at least 2"),
        (lambda m: m["task"].update(labels=[]), "'labels' is [], expected a list of two or more label names"),
        (lambda m: m.update(default_variant="fp64"), "'default_variant' 'fp64' is not one of the variants"),
        (lambda m: m["task"].update(labels=["a", "b", "c"]), "3 labels for a model with 2 logits"),
        (lambda m: m["task"].update(max_length=4096), "max_length 4096 exceeds the model's 128 usable positions"),
        (lambda m: m["task"].update(pad_token_id=10**12), "pad_token_id 1000000000000 is outside the tokenizer's"),
        (lambda m: m["variants"][0].update(valid="no"), "each with a name, a file and valid true or false"),
        (lambda m: m["variants"][1].update(name="fp32"), "'variants' names one variant twice"),
        (lambda m: m["variants"][0].update(file="../outside/model.onnx"), "'../outside/model.onnx' is outside"),
        (lambda m: m["variants"][0].update(file="/etc/passwd"), "'/etc/passwd' is outside the export folder"),
    ],
)
def test_a_hand_edited_manifest_is_checked_at_load(tiny_export, tmp_path, edit, message):
    one_line_error(["predict", edited_export(tiny_export.path, tmp_path, edit), "좋다"], message)


def test_lengths_beyond_the_models_positions(tiny_model_dir, tiny_export, nsmc_dir, tmp_path):
    one_line_error(
        ["export", "--onnx", str(tiny_model_dir), "--output", str(tmp_path / "e"), "--max-length", "100000"],
        "--max-length 100000 exceeds the model's 128 usable positions",
    )
    bench = ["bench", "--export", str(tiny_export.path), "--data-dir", str(nsmc_dir), "--output", str(tmp_path / "b")]
    too_long = "--fixed-lengths 100000 exceeds the model's 128 usable positions"
    one_line_error([*bench, "--fixed-lengths", "100000"], too_long)
    assert not (tmp_path / "e").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("option", ["--batch-sizes 0", "--fixed-lengths 1,64", "--strategies fixed,random"])
def test_bad_options_are_refused_where_click_parses_them(option):
    result = CliRunner().invoke(main, ["bench", *option.split()])
    assert result.exit_code == 2 and f"Invalid value for '{option.split()[0]}'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "command",
    [
        "tune {export} --p99-ms nan",
        "tune {export} --p99-ms 100 --accuracy-tolerance inf",
        "loadtest http://127.0.0.1:9 --duration nan",
        "loadtest http://127.0.0.1:9 --rate inf",
        "serve {export} --max-wait-ms nan",
        "serve {export} --port 99999",
    ],
)
def test_nan_inf_and_impossible_numbers_are_refused_by_the_parser(tiny_export, command):
    result = CliRunner().invoke(main, command.format(export=tiny_export.path).split())
    assert result.exit_code == 2 and "Invalid value" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "lines, message",
    [
        ("NSMC_SERVE_MAX_WAIT_MS=nan", "'nan' is not a finite number"),
        ("NSMC_SERVE_HEADER_TIMEOUT=inf", "'inf' is not a finite number"),
        (
            "NSMC_SERVE_MAX_BATCH_SIZ=1",
            "serve.env:1: NSMC_SERVE_MAX_BATCH_SIZ is not a setting of nsmckit serve; "
            "did you mean NSMC_SERVE_MAX_BATCH_SIZE?",
        ),
        (
            "NSMC_SERVE_VARIANT=fp32\nNSMC_SERVE_VARIANT=int8",
            "serve.env:2: NSMC_SERVE_VARIANT is set again (first on line 1)",
        ),
        ("NSMC_SERVE_MAX_QUEUE=", "serve.env:1: NSMC_SERVE_MAX_QUEUE has no value; give one, or remove the line"),
    ],
)
def test_an_env_file_with_a_bad_value_an_unknown_name_or_a_repeat_is_refused(tiny_export, tmp_path, lines, message):
    env = tmp_path / "serve.env"
    env.write_text(lines + "\n")
    before = dict(os.environ)
    try:
        result = CliRunner().invoke(main, ["serve", str(tiny_export.path), "--env-file", str(env)])
    finally:  # the env file sets environment defaults in this (test) process
        for name in set(os.environ) - set(before):
            del os.environ[name]
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output


def test_serve_without_its_extra_names_the_install(tiny_export):
    hide = "import sys; sys.modules['fastapi'] = None; from kit.cli import main; main()"  # as if not installed
    proc = subprocess.run([sys.executable, "-c", hide, "serve", str(tiny_export.path)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr == "Error: the module 'fastapi' is not installed: pip install 'nsmckit[serve]'\n"


def test_debug_shows_the_traceback(tiny_export, tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text("{not json\n")
    args = ["predict", str(tiny_export.path), "--input", str(source)]
    plain = CliRunner().invoke(main, args)
    assert plain.exit_code == 1 and plain.output.count("\n") == 1
    debug = CliRunner().invoke(main, ["--debug", *args])
    assert debug.exit_code == 1 and type(debug.exception).__name__ == "DataError"
    from_env = CliRunner().invoke(main, args, env={"NSMCKIT_DEBUG": "1"})
    assert type(from_env.exception).__name__ == "DataError"


@pytest.mark.parametrize("content", ["[]", "{}", '{"config": {"model": "m", "strategy": "fixed"}}', "not json"])
def test_runs_compare_on_a_foreign_run_json_names_the_file(tmp_path, content):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(content)
    result = CliRunner().invoke(main, ["runs", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 1 and str(tmp_path / "a" / "run.json") in result.output, result.output
    assert "unexpected" not in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("[]", "not a results.json of nsmckit bench or loadtest"),
        ('{"config": {}}', "not a results.json of nsmckit bench or loadtest"),
        ("{", "not valid JSON"),
    ],
)
def test_bench_compare_on_a_foreign_file_names_it(tmp_path, content, message):
    bad = tmp_path / "results.json"
    bad.write_text(content)
    result = CliRunner().invoke(main, ["bench", "compare", str(bad), str(bad)])
    assert result.exit_code == 1 and message in result.output and str(bad) in result.output, result.output


def test_bench_compare_of_runs_with_no_cell_in_common_says_so(tmp_path):
    def results(scenario: str, backend: str) -> Path:
        cell = {"scenario": scenario, "backend": backend, "precision": "fp32", "strategy": "bucketed", "max_length": 8}
        path = tmp_path / f"{scenario}.json"
        record = {"config": {}, "environment": {}, "accuracy_meaningful": False}
        path.write_text(json.dumps(record | {"cells": [cell | {"batch_size": 1, "samples_per_s": 10.0}]}))
        return path

    result = CliRunner().invoke(
        main, ["bench", "compare", str(results("inference", "torch")), str(results("loadtest", "http"))]
    )
    assert result.exit_code == 1 and "no cell in common" in result.output and "loadtest" in result.output


def test_settings_that_contradict_each_other_are_refused_at_start(tiny_export):
    """Each in range, together impossible: a request of --max-texts texts could never enter a smaller queue
    (an idle server answered 429 + Retry-After forever)."""
    args = ["serve", str(tiny_export.path), "--max-texts", "100", "--max-queue", "50"]
    one_line_error(args, "--max-texts 100 is above --max-queue 50: a request of that many texts could never")


def test_an_export_that_appeared_meanwhile_is_left_as_it_is(tiny_model_dir, tmp_path):
    """Two exports into one new folder: the one that publishes second fails, nothing of the first replaced
    (before, both exited 0 and one result was gone)."""
    from kit.errors import RunError
    from kit.export.onnx import ExportConfig, export_onnx

    out = tmp_path / "export"

    def another_export_publishes(line: str) -> None:
        if line.startswith("validating"):  # while this one validates, the other one lands
            out.mkdir()
            (out / "export.json").write_text('{"theirs": true}')

    config = ExportConfig(model=str(tiny_model_dir), output=str(out), max_length=64, validate_rows=8)
    with pytest.raises(RunError, match="appeared while this export ran"):
        export_onnx(config, progress=another_export_publishes)
    assert json.loads((out / "export.json").read_text()) == {"theirs": True}
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no staging folder left


@pytest.mark.slow
def test_a_folder_another_finetune_is_writing_is_refused(tiny_model_dir, nsmc_dir, tmp_path):
    """Two finetunes into one folder: the second fails at once (before, both wrote into it and one result was
    lost). A claim left by a killed run (its process gone) is taken over, so the run can resume."""
    out = tmp_path / "run"
    out.mkdir()
    other = subprocess.Popen(["sleep", "60"])  # the other finetune, alive while this one starts
    try:
        (out / ".nsmckit-writing").write_text(f"pid {other.pid}\n")
        args = ["finetune", "--model", str(tiny_model_dir), "--data-dir", str(nsmc_dir), "--max-steps", "1"]
        one_line_error([*args, "--output", str(out)], f"{out} is being written by another finetune (pid {other.pid})")
    finally:
        other.kill()
        other.wait()
    done = CliRunner().invoke(main, [*args, "--output", str(out)])  # its process is gone: a stale claim
    assert done.exit_code == 0, done.output
    assert not (out / ".nsmckit-writing").exists()  # the claim ends with the run


@pytest.fixture(scope="module")
def nan_model(tiny_model_dir, tmp_path_factory):
    """The tiny model with a NaN in its classifier: every output is NaN."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("nan") / "model"
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    model.classifier.bias.data[0] = float("nan")
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_outputs_that_are_not_finite_are_refused(nan_model, tiny_export, tmp_path):
    """predict wrote label 0 with NaN probabilities (not valid JSON) and exited 0; an export judged nothing;
    a server answered 500 to every request while /health said 200."""
    out = tmp_path / "scored.jsonl"
    (tmp_path / "in.txt").write_text("좋은 영화\n별로\n")
    args = ["predict", str(nan_model), "--input", str(tmp_path / "in.txt"), "--output", str(out)]
    one_line_error(args, "outputs that are not finite (NaN or inf) for 2 of 2 texts, the first '좋은 영화'")
    assert not out.exists()
    one_line_error(["export", "--onnx", str(nan_model), "--output", str(tmp_path / "e")], "not finite")
    assert not (tmp_path / "e").exists()

    # an export whose model.onnx gives NaN (checksums updated, as a broken export would carry them)
    import onnx
    from onnx import numpy_helper

    from kit.manifest import sha256_file

    broken = tmp_path / "broken"
    shutil.copytree(tiny_export.path, broken)
    graph = onnx.load(broken / "model.onnx")
    bias = next(t for t in graph.graph.initializer if t.name.endswith("classifier.bias"))
    bias.CopyFrom(numpy_helper.from_array(np.full(numpy_helper.to_array(bias).shape, np.nan, np.float32), bias.name))
    onnx.save(graph, broken / "model.onnx")
    manifest = json.loads((broken / "export.json").read_text())
    manifest["files"]["model.onnx"] = sha256_file(broken / "model.onnx")
    (broken / "export.json").write_text(json.dumps(manifest))
    from tests.serving import start_server

    with pytest.raises(RuntimeError, match="not finite"):  # it exits, saying why, instead of serving 500s
        start_server(broken, timeout=60)


def test_a_utf16_env_file_is_named(tiny_export, tmp_path):
    env = tmp_path / "serve.env"
    env.write_text("NSMC_SERVE_MAX_QUEUE=10\n", encoding="utf-16")
    result = CliRunner().invoke(main, ["serve", str(tiny_export.path), "--env-file", str(env)])
    assert result.exit_code == 2 and f"{env}: not UTF-8 text" in " ".join(result.output.split()), result.output


@pytest.mark.parametrize(
    "rates, message",
    [("1:inf:1", "LOW, HIGH and STEP must be finite numbers"), ("1:1e9:1", "1,000,000,000 levels; at most 100")],
)
def test_a_rate_range_that_cannot_run_is_one_line(rates, message):
    one_line_error(["loadtest", "http://127.0.0.1:9", "--rate-range", rates], message)


def test_inputs_that_would_fail_late_fail_first_naming_the_line(tiny_export, tmp_path):
    export = str(tiny_export.path)
    link = tmp_path / "out.jsonl"
    link.symlink_to(tmp_path / "missing" / "out.jsonl")  # a dangling link: it failed after the whole run
    (tmp_path / "in.txt").write_text("좋다\n")
    args = ["predict", export, "--input", str(tmp_path / "in.txt"), "--output", str(link)]
    one_line_error(args, f"{link}: a link to {tmp_path / 'missing' / 'out.jsonl'}, which does not exist")
    surrogate = tmp_path / "s.jsonl"
    surrogate.write_text('{"document": "좋다"}\n{"document": "나쁘다", "note": "\\ud800"}\n')
    one_line_error(
        ["predict", export, "--input", str(surrogate)], f"{surrogate}:2: field 'note' holds a lone surrogate"
    )
    long = tmp_path / "long.txt"
    long.write_bytes("짧다\n".encode() + b"x" * (65 << 20) + b"\n")  # 65 MiB on line 2
    one_line_error(["predict", export, "--input", str(long)], f"{long}:2: a line of more than 64 MiB")
    keys = tmp_path / "keys.jsonl"  # every row with a key of its own: the output grew with the square of the rows
    keys.write_text("".join(json.dumps({"document": "좋다", f"k{i}": i}) + "\n" for i in range(30)))
    one_line_error(
        ["predict", export, "--input", str(keys), "--max-columns", "10"],
        f"{keys}:10: field 'k9' is distinct field number 11 (at most 10",
    )


def test_a_closed_stdout_is_one_line(tiny_export):
    code = "import sys, os; os.close(1); sys.stdout = None; from kit.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "predict", str(tiny_export.path), "좋다"], capture_output=True, text=True
    )
    assert proc.returncode == 1 and proc.stderr.strip().endswith(
        "standard output is closed: redirect it to a file to see the table"
    )


def test_deeply_nested_json_is_named(tmp_path):
    results = tmp_path / "results.json"
    results.write_text("[" * 100_000 + "]" * 100_000)
    one_line_error(["bench", "compare", str(results), str(results)], f"{results}: JSON nested too deeply to read")


def test_auto_needs_only_a_runnable_variant_not_the_default(tiny_export, tmp_path):
    """--variant auto started locally with a broken default variant, but serve and the Ray engine's driver
    refused: all three now leave the broken one out, as the probe does."""
    from kit.runtime.classifiers import check_model_files, load_backend

    copy = tmp_path / "export"
    shutil.copytree(tiny_export.path, copy)
    (copy / "model.onnx").write_bytes(b"broken")  # the default variant, fp32
    with pytest.raises(Exception, match="sha256 does not match"):
        check_model_files(copy, None)
    check_model_files(copy, "auto")
    assert load_backend(copy, "auto").variant["name"] != "fp32"


def test_the_gpu_scripts_say_how_to_call_them(tmp_path):
    summary = subprocess.run(
        [sys.executable, str(ROOT / "bench/gpu/summary.py"), str(tmp_path / "none")], capture_output=True, text=True
    )
    assert summary.returncode == 1 and "usage: python bench/gpu/summary.py RESULTS_FOLDER" in summary.stderr
    device = subprocess.run([sys.executable, str(ROOT / "bench/gpu/device.py")], capture_output=True, text=True)
    assert device.returncode == 1 and "usage:" in device.stderr and "Traceback" not in device.stderr
