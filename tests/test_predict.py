"""`nsmckit predict`: texts and files scored with the real export (ONNX Runtime) or the torch model folder,
in input order, in every format; bad inputs fail in one line and leave no output behind."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.runtime.classifiers import load_classifier
from tests.synthetic import corpus

TEXTS = corpus(45, seed=7) + ["", "😂 최고", "CG는 awesome 했음"]


def expected_labels(export: Path, texts: list[str]) -> list[int]:
    return load_classifier(export).predict_logits(texts, batch_size=8, strategy="dynamic").argmax(-1).tolist()


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
    labels = load_classifier(tiny_export.path).labels
    names = [labels[i] for i in expected_labels(tiny_export.path, ["정말 재밌어요", "최악의 영화"])]
    lines = [line for line in result.output.splitlines() if "재밌어요" in line or "최악의" in line]
    assert [name in line for name, line in zip(names, lines)] == [True, True]


def test_torch_model_folder_gets_the_inputs_training_gets(tiny_model_dir, tmp_path):
    """The finetune-folder path (PyTorch): the same ids as training's tokenization (HF tokenizer, truncation
    to the model's limit), the same model, so the same probabilities."""
    from kit.batching import predict_in_batches
    from kit.data.encoding import encode
    from kit.runtime.backend import BackendOptions, BackendSpec
    from kit.runtime.hf import load_tokenizer
    from kit.runtime.text_classifier import softmax
    from kit.runtime.torch_backend import TorchBackend

    source = write_input(tmp_path, "jsonl")
    out = tmp_path / "torch.jsonl"
    result = run_predict(str(tiny_model_dir), "--input", str(source), "--output", str(out))
    assert result.exit_code == 0, result.output
    rows = read_output(out)
    encoded = encode(load_tokenizer(str(tiny_model_dir)), TEXTS, 128)
    torch_fp32 = TorchBackend(BackendSpec("torch"), tiny_model_dir, BackendOptions(provider="cpu")).predict
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


@pytest.mark.slow
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


def mixed_fields_jsonl(folder: Path, n: int = 100) -> Path:
    """Every 10th row adds a "note" field, every 7th lacks "id" and carries a nested "meta": the rows do not
    all have the same fields."""
    path = folder / "mixed.jsonl"
    rows = []
    for i in range(n):
        row = {"id": i, "document": TEXTS[i % len(TEXTS)]}
        if i % 10 == 0:
            row["note"] = f"n{i}"
        if i % 7 == 0:
            del row["id"]
            row["meta"] = {"source": "web", "tags": [i]}
        rows.append(row)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def assert_rows_keep_their_fields(source: Path, out: Path) -> None:
    inputs = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    rows = read_output(out)
    assert len(rows) == len(inputs)
    for given, row in zip(inputs, rows):
        for field in ("id", "note", "meta"):
            value = row.get(field)
            if out.suffix in (".csv", ".parquet") and field == "meta" and value:
                value = json.loads(value)  # nested values are JSON text in a flat file
            if out.suffix == ".csv" and field == "id" and value:
                value = int(value)
            assert value in ((given[field],) if field in given else (None, "")), (field, given, row)
        assert row["document"] == given["document"]


@pytest.mark.parametrize("out_ext", [".jsonl", ".csv", ".parquet"])
def test_rows_with_different_fields_keep_their_own(tiny_export, tmp_path, out_ext):
    source = mixed_fields_jsonl(tmp_path)
    out = tmp_path / f"scored{out_ext}"
    result = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(out), "--chunk-rows", "8")
    assert result.exit_code == 0, result.output
    assert_rows_keep_their_fields(source, out)


def test_an_output_is_never_clobbered(tiny_export, tmp_path):
    source = write_input(tmp_path, "jsonl")
    before = source.read_bytes()
    itself = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(source), "--overwrite")
    assert itself.exit_code == 1 and "is the input file" in itself.output
    assert source.read_bytes() == before
    out = tmp_path / "scored.jsonl"
    out.write_text("earlier work\n")
    refused = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(out))
    assert refused.exit_code == 1 and "already exists; pass --overwrite" in refused.output
    assert out.read_text() == "earlier work\n"
    replaced = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(out), "--overwrite")
    assert replaced.exit_code == 0 and len(read_output(out)) == len(TEXTS)


def test_two_runs_writing_the_same_new_output_cannot_both_succeed(tmp_path):
    """Both start while the file does not exist; the one that finishes second is refused and the first's
    result stays, instead of one of them being replaced silently."""
    from kit.errors import DataError
    from kit.predict.writers import open_writer

    out = tmp_path / "scored.jsonl"
    kinds = {"text": "string"}
    first, second = open_writer(str(out), kinds), open_writer(str(out), kinds)
    write_first, write_second = first.__enter__(), second.__enter__()
    write_first({"text": ["first"]})
    write_second({"text": ["second"]})
    first.__exit__(None, None, None)
    with pytest.raises(DataError, match="appeared while this run was writing it"):
        second.__exit__(None, None, None)
    assert json.loads(out.read_text())["text"] == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["scored.jsonl"]  # no partial file left behind


def test_predict_with_standard_output_closed_is_one_line(tiny_export, tmp_path):
    source = write_input(tmp_path, "jsonl")
    command = [sys.executable, "-m", "kit.cli", "predict", str(tiny_export.path), "--input", str(source)]
    writable = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    closed = subprocess.run(["bash", "-c", '"$@" >&-', "_", *command], capture_output=True, text=True)
    assert writable.returncode == 0
    assert closed.returncode == 1 and closed.stderr.strip().endswith("pass --output FILE"), closed.stderr
    assert "Traceback" not in closed.stderr


def test_a_csv_with_a_byte_order_mark_reads_its_first_column(tiny_export, tmp_path):
    source = tmp_path / "excel.csv"
    source.write_text("\ufeffdocument,id\n좋다,1\n별로,2\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    result = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert [(r["document"], r["id"]) for r in read_output(out)] == [("좋다", "1"), ("별로", "2")]


@pytest.mark.slow
def test_a_huge_text_costs_what_the_model_can_use(tiny_export, tmp_path):
    """A 20 MB single-line review: cut by characters before tokenizing, so the run stays small (the whole text
    tokenized first took ~100 bytes of memory per character), and scored like its first max_length tokens."""
    head = "정말 재밌어요 최고의 영화 "
    source = tmp_path / "huge.txt"
    source.write_text(head * (20_000_000 // len(head)) + "\n짧은 리뷰\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    # The child reports its own peak memory as it exits (KiB): VmHWM, its address space's own high-water
    # mark. (ru_maxrss would start at this test process's size: it survives fork and exec.)
    code = (
        "import atexit, re, sys; "
        "atexit.register(lambda: print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1], "
        "file=sys.stderr)); "
        "from kit.cli import main; main()"
    )
    args = [sys.executable, "-c", code, "predict", str(tiny_export.path), "--input", str(source), "--output", str(out)]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stderr.split()[-1]) < 1_000_000  # under 1 GB
    rows = read_output(out)
    expected = expected_labels(tiny_export.path, [head * 200, "짧은 리뷰"])
    assert [r["pred_label"] for r in rows] == expected


def test_cutting_by_characters_keeps_the_ids_of_long_text(tiny_export):
    from kit.runtime.text_classifier import encode_ids
    from kit.truncation import char_limit

    classifier = load_classifier(tiny_export.path)
    text = " ".join(corpus(400, seed=3))
    assert len(text) > char_limit(classifier.max_length)
    whole = classifier.tokenizer.encode(text).ids  # tokenized in full, then truncated
    assert encode_ids(classifier.tokenizer, [text])[0].tolist() == whole


@pytest.mark.parametrize(
    "content, message",
    [
        ("[" * 100_000 + "]" * 100_000 + "\n", ":1: JSON nested too deeply"),
        ('{"document": "좋다"}\n[1, 2]\n', ":2: expected a JSON object, got list"),
    ],
)
def test_malformed_jsonl_is_one_line(tiny_export, tmp_path, content, message):
    source = tmp_path / "bad.jsonl"
    source.write_text(content)
    result = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 1 and message in result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1


def run_shell(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True)


def test_a_full_disk_or_file_size_limit_is_one_line_and_leaves_nothing(tiny_export, tmp_path):
    source = write_input(tmp_path, "jsonl")
    out = tmp_path / "out"
    out.mkdir()
    nsmckit = f"{sys.executable} -c 'from kit.cli import main; main()'"
    proc = run_shell(
        f"ulimit -f 4; {nsmckit} predict {tiny_export.path} --input {source} --output {out}/s.jsonl --chunk-rows 4"
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().startswith("Error: ") and "cannot write (File too large)" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert list(out.iterdir()) == []


def test_closed_standard_input_is_one_line(tiny_export):
    nsmckit = f"{sys.executable} -c 'from kit.cli import main; main()'"
    proc = run_shell(f"{nsmckit} predict {tiny_export.path} --input - <&-")
    assert proc.returncode == 1 and proc.stderr == "Error: standard input is closed; give --input a file\n"


def test_stdin_jsonl_keeps_mixed_fields(tiny_export, tmp_path):
    source = mixed_fields_jsonl(tmp_path, n=30)
    result = run_predict(str(tiny_export.path), "--input", "-", "--format", "jsonl", input=source.read_text())
    assert result.exit_code == 0, result.output
    out = tmp_path / "stdout.jsonl"
    out.write_text(result.stdout)
    assert_rows_keep_their_fields(source, out)


@pytest.mark.slow
@pytest.mark.parametrize("out_ext", [".jsonl", ".parquet"])
def test_ray_keeps_mixed_fields_like_the_local_engine(local_ray, tiny_export, tmp_path, out_ext):
    source = mixed_fields_jsonl(tmp_path)
    outputs = {}
    for engine in ("local", "ray"):
        outputs[engine] = tmp_path / f"{engine}{out_ext}"
        flags = ["--engine", engine, "--cpus-per-actor", "0.5", "--chunk-rows", "16"]
        result = run_predict(str(tiny_export.path), "--input", str(source), "--output", str(outputs[engine]), *flags)
        assert result.exit_code == 0, result.output
    assert_rows_keep_their_fields(source, outputs["ray"])
    assert read_output(outputs["ray"]) == read_output(outputs["local"])


def test_ray_on_malformed_input_is_one_line(local_ray, tiny_export, tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"document": "좋다"}\n' * 40 + '{"document": \n')
    result = run_predict(str(tiny_export.path), "--input", str(source), "--engine", "ray", "--cpus-per-actor", "0.5")
    assert result.exit_code == 1 and result.output == f"Error: {source}:41: not valid JSON (Expecting value)\n"


def _ray_predict(export, tmp_path):
    """`nsmckit predict --engine ray` as a user runs it: its own process, its own Ray."""
    source = write_input(tmp_path, "lines")
    code = "from kit.cli import main; main()"
    args = ["predict", str(export), "--input", str(source), "--engine", "ray", "--cpus-per-actor", "0.5"]
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_a_corrupt_model_fails_before_ray_starts(tiny_export, tmp_path):
    """The driver checks the export's files first: one line, and nothing on stdout (where the rows go)."""
    import shutil

    pytest.importorskip("ray", reason="Ray is not installed (pip install nsmckit[ray])")
    export = tmp_path / "corrupt"
    shutil.copytree(tiny_export.path, export)
    (export / "model.onnx").write_bytes(b"not a model")
    proc = _ray_predict(export, tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .endswith("sha256 does not match export.json; the file is corrupt or truncated, export again")
    )
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_failure_inside_a_ray_worker_is_one_line(tiny_export, tmp_path):
    """A model whose checksum matches but that ONNX Runtime cannot load passes the driver's check and fails in
    the actors: the worker's error in one line, no Ray traceback, nothing on stdout."""
    import shutil

    from kit.manifest import sha256_file

    pytest.importorskip("ray", reason="Ray is not installed (pip install nsmckit[ray])")
    export = tmp_path / "unloadable"
    shutil.copytree(tiny_export.path, export)
    (export / "model.onnx").write_bytes(b"not a model")
    manifest = json.loads((export / "export.json").read_text())
    manifest["files"]["model.onnx"] = sha256_file(export / "model.onnx")
    (export / "export.json").write_text(json.dumps(manifest))
    proc = _ray_predict(export, tmp_path)
    assert proc.returncode == 1 and proc.stdout == "", proc.stdout[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: a Ray worker failed: "), proc.stderr[-2000:]
    # Before, Ray restarted the actor whose constructor failed and printed 115-150 lines with its tracebacks;
    # what may precede the kit's line is Ray's own one-line warning about actor restarts.
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2, proc.stderr[-2000:]


@pytest.mark.slow
def test_line_endings_mean_the_same_rows_to_both_engines(local_ray, tiny_export, tmp_path):
    """CRLF lines are rows to the local engine and to Ray alike; a bare CR (which merged 50 rows into one
    locally while Ray split them) is refused by both, naming the line."""
    crlf, mixed = tmp_path / "crlf.txt", tmp_path / "mixed.txt"
    crlf.write_bytes("".join(f"{t}\r\n" for t in TEXTS).encode())
    mixed.write_bytes(("".join(f"{t}\r\n" for t in TEXTS) + "".join(f"{t}\r" for t in TEXTS)).encode())
    outputs = {}
    for engine in ("local", "ray"):
        outputs[engine] = tmp_path / f"{engine}.jsonl"
        flags = ["--engine", engine, "--actors", "1", "--cpus-per-actor", "0.5", "--output", str(outputs[engine])]
        result = run_predict(str(tiny_export.path), "--input", str(crlf), *flags)
        assert result.exit_code == 0, result.output
        refused = run_predict(str(tiny_export.path), "--input", str(mixed), *flags[:-1], str(tmp_path / "m.jsonl"))
        assert refused.exit_code == 1
        assert refused.output == (
            f"Error: {mixed}:{len(TEXTS) + 1}: a bare carriage return (CR) ends a line here, which would merge "
            "rows; save the file with LF or CRLF line endings\n"
        )
    local, ray_rows = read_output(outputs["local"]), read_output(outputs["ray"])
    assert len(local) == len(TEXTS) and ray_rows == local
    assert [r["text"] for r in local] == list(TEXTS)  # no CR left on any text
