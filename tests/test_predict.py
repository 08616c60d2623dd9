"""`nsmckit predict`: texts and files scored with the real export (ONNX Runtime) or the torch model folder,
in input order, in every format; bad inputs fail in one line and leave no output behind."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.runtime.onnx_session import OnnxClassifier
from tests.synthetic import corpus

TEXTS = corpus(45, seed=7) + ["", "😂 최고", "CG는 awesome 했음"]


def expected_labels(export: Path, texts: list[str]) -> list[int]:
    return OnnxClassifier(export).predict_logits(texts, batch_size=8, strategy="dynamic").argmax(-1).tolist()


def run_predict(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["predict", *args], input=input)


def read_output(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_input(folder: Path, fmt: str) -> Path:
    """TEXTS in each input format, with an id column so the order can be checked."""
    rows = [{"id": f"r{i}", "document": t} for i, t in enumerate(TEXTS)]
    if fmt == "lines":
        path = folder / "reviews.txt"
        path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    elif fmt in ("tsv", "nsmc", "csv"):
        path = folder / {"tsv": "reviews.tsv", "nsmc": "ratings_test.txt", "csv": "reviews.csv"}[fmt]
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["id", "document"], delimiter="," if fmt == "csv" else "\t")
            writer.writeheader()
            writer.writerows(rows)
    elif fmt == "jsonl":
        path = folder / "reviews.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path = folder / "reviews.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("fmt", ["lines", "nsmc", "tsv", "csv", "jsonl", "parquet"])
@pytest.mark.parametrize("out_ext", [".jsonl", ".csv", ".parquet"])
def test_every_format_scores_in_input_order(tiny_export, tmp_path, fmt, out_ext):
    source = write_input(tmp_path, fmt)
    out = tmp_path / f"scored{out_ext}"
    result = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(out), "--chunk-rows", "7")
    assert result.exit_code == 0, result.output
    rows = read_output(out)
    assert len(rows) == len(TEXTS)
    if fmt == "lines":
        assert [int(r["line"]) for r in rows] == list(range(1, len(TEXTS) + 1))
        assert [r["text"] or "" for r in rows] == TEXTS
    else:
        assert [r["id"] for r in rows] == [f"r{i}" for i in range(len(TEXTS))]
    assert [int(r["pred_label"]) for r in rows] == expected_labels(tiny_export.path, TEXTS)
    probs = np.array([[float(r["prob_negative"]), float(r["prob_positive"])] for r in rows])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial file left


def test_stdin_and_stdout(tiny_export):
    result = run_predict(str(tiny_export.path), "--input", "-", input="\n".join(TEXTS[:10]) + "\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == TEXTS[:10]
    assert [r["pred_label"] for r in rows] == expected_labels(tiny_export.path, TEXTS[:10])


def test_texts_as_arguments_print_a_table(tiny_export):
    result = run_predict(str(tiny_export.path), "정말 재밌어요", "최악의 영화")
    assert result.exit_code == 0, result.output
    labels = OnnxClassifier(tiny_export.path).labels
    names = [labels[i] for i in expected_labels(tiny_export.path, ["정말 재밌어요", "최악의 영화"])]
    lines = [line for line in result.output.splitlines() if "재밌어요" in line or "최악의" in line]
    assert [name in line for name, line in zip(names, lines)] == [True, True]


def test_torch_model_folder_gets_the_inputs_training_gets(tiny_model_dir, tmp_path):
    """The finetune-folder path (PyTorch): the same ids as training's tokenization (HF tokenizer, truncation
    to the model's limit), the same model, so the same probabilities."""
    from kit.batching import predict_in_batches
    from kit.data.encoding import encode
    from kit.runtime.backend import BackendSpec
    from kit.runtime.hf import load_model, load_tokenizer
    from kit.runtime.text_classifier import softmax
    from kit.runtime.torch_backend import TorchBackend

    source = write_input(tmp_path, "jsonl")
    out = tmp_path / "torch.jsonl"
    result = run_predict(str(tiny_model_dir), "--input", str(source), "--output", str(out))
    assert result.exit_code == 0, result.output
    rows = read_output(out)
    encoded = encode(load_tokenizer(str(tiny_model_dir)), TEXTS, 128)
    torch_fp32 = TorchBackend(BackendSpec("torch"), load_model(str(tiny_model_dir)), device="cpu").predict
    reference = softmax(predict_in_batches(torch_fp32, [encoded[i] for i in range(len(TEXTS))], "fixed", 16, 128))
    np.testing.assert_allclose([[r["prob_negative"], r["prob_positive"]] for r in rows], reference, atol=1e-5)


@pytest.mark.parametrize(
    "content, flags, message",
    [
        ("id\tdoc\n1\t좋다\n", ["--format", "tsv"], "no column 'document' (columns: id, doc); use --column"),
        (b"id\tdocument\n1\t\xff\xfe\n", ["--format", "tsv"], ":2: not UTF-8 text"),
        ('{"document": "좋다"}\n{"document": \n', ["--format", "jsonl"], ":2: not valid JSON"),
        ('{"document": "좋다"}\n{"text": "별로"}\n', ["--format", "jsonl"], ":2: field 'document' is missing"),
        ("", ["--format", "lines"], "no rows to score (the file is empty)"),
        ("", [], "no rows to score (the file is empty)"),  # a .txt, sniffed for NSMC's header
        ("id\tdocument\n1\t좋다\t0\n", ["--format", "tsv"], ":2: expected 2 fields, got 3"),
    ],
)
def test_bad_input_fails_in_one_line_and_leaves_no_output(tiny_export, tmp_path, content, flags, message):
    source = tmp_path / ("input.dat" if flags else "input.txt")
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "out" / "scored.parquet"
    out.parent.mkdir()
    result = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(out), *flags)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert "scoring" not in result.output  # no progress bar drawn for a run that never started
    assert list(out.parent.iterdir()) == []


def test_a_failure_late_in_the_file_removes_what_was_written(tiny_export, tmp_path):
    source = tmp_path / "late.tsv"
    source.write_text("id\tdocument\n" + "".join(f"{i}\t리뷰 {i}\n" for i in range(50)) + "bad row\n")
    out = tmp_path / "scored.csv"
    result = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(out), "--chunk-rows", "10")
    assert result.exit_code == 1 and "late.tsv:52: expected 2 fields, got 1" in result.output
    assert list(tmp_path.iterdir()) == [source]


def test_bad_model_and_output_paths(tiny_export, tmp_path):
    source = write_input(tmp_path, "lines")
    missing = run_predict(str(tmp_path / "nope"), "--input", str(source))
    assert missing.exit_code == 1 and "no such folder" in missing.output
    bad_ext = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(tmp_path / "x.xlsx"))
    assert bad_ext.exit_code == 1 and "use one of .jsonl, .csv, .parquet" in bad_ext.output


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install nsmckit[ray])")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_engine_equals_the_local_engine(local_ray, tiny_export, tmp_path):
    for fmt in ("nsmc", "lines"):
        source = write_input(tmp_path, fmt)
        outputs = {}
        for engine in ("local", "ray"):
            outputs[engine] = tmp_path / f"{fmt}-{engine}.parquet"
            flags = ["--engine", engine, "--actors", "1", "--cpus-per-actor", "0.5", "--chunk-rows", "16"]
            args = [str(tiny_export.path), "--input", str(source), "--output", str(outputs[engine]), *flags]
            result = run_predict(*args)
            assert result.exit_code == 0, result.output
        local, ray_rows = read_output(outputs["local"]), read_output(outputs["ray"])
        assert len(ray_rows) == len(TEXTS)
        assert ray_rows == local


def test_ray_refuses_a_pool_that_starves_the_readers(local_ray, tiny_export, tmp_path):
    source = write_input(tmp_path, "lines")
    result = run_predict(str(tiny_export.path), "--input", str(source), "--engine", "ray", "--actors", "2")
    assert result.exit_code == 1 and "leaving none for reading" in result.output
