"""ONNX export through the real Optimum exporter and onnxruntime, on a tiny BERT."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.errors import ModelError
from kit.export.onnx import ExportConfig, export_onnx
from kit.export.validation import HARD_CASES
from kit.manifest import sha256_file
from kit.runtime.classifiers import load_classifier

TEXTS = ["정말 재미있어요 최고", "시간 아깝다 최악", *HARD_CASES]


@pytest.fixture
def exported(tiny_export):
    return tiny_export


def torch_logits(model_dir, texts, max_length=64):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        inputs = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        return model(**inputs).logits.numpy()


def test_variants_pass_validation_and_manifest_is_complete(exported):
    manifest = exported.manifest
    assert exported.valid
    assert [v["name"] for v in manifest["variants"]] == ["fp32", "O2", "int8"]
    fp32, o2, int8 = manifest["variants"]
    for exact in (fp32, o2):
        assert exact["validation"]["max_abs_diff"] <= 1e-4 and exact["validation"]["agreement"] == 1.0
        assert set(exact["validation"]["per_strategy"]) == {"fixed", "dynamic", "bucketed"}
    assert int8["validation"]["agreement"] >= 0.995
    assert int8["quantization"]["scheme"] == "dynamic"
    for key in ("optimum", "onnxruntime", "transformers", "onnx"):
        assert key in manifest["libraries"]
    assert manifest["opset"] >= 11 and manifest["task"]["max_length"] == 64
    for rel, digest in manifest["files"].items():
        assert sha256_file(exported.path / rel) == digest
    assert {"model.onnx", "model_O2.onnx", "model_int8.onnx", "tokenizer.json", "config.json"} <= set(manifest["files"])
    assert not list(exported.path.parent.glob(".tiny.*"))  # no staging folder left behind


def test_optimum_runtime_loads_the_export(exported, tiny_model_dir):
    from optimum.onnxruntime import ORTModelForSequenceClassification
    from transformers import AutoTokenizer

    model = ORTModelForSequenceClassification.from_pretrained(exported.path, file_name="model.onnx")
    tokenizer = AutoTokenizer.from_pretrained(exported.path)
    inputs = tokenizer(TEXTS, truncation=True, max_length=64, padding=True, return_tensors="pt")
    got = model(**inputs).logits.numpy()
    assert np.abs(got - torch_logits(tiny_model_dir, TEXTS)).max() <= 1e-4


def test_no_torch_path_matches_pytorch(exported, tiny_model_dir):
    script = (
        "import json, sys\n"
        "from kit.runtime.classifiers import load_classifier\n"
        f"clf = load_classifier({str(exported.path)!r})\n"
        f"logits = clf.predict_logits({TEXTS!r}, batch_size=3)\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import on the serving path'\n"
        "print(json.dumps(logits.tolist()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    onnx_logits = np.array(json.loads(proc.stdout))
    reference = torch_logits(tiny_model_dir, TEXTS)
    assert (onnx_logits.argmax(-1) == reference.argmax(-1)).all()
    assert np.abs(onnx_logits - reference).max() <= 1e-4


def test_flipped_byte_is_detected_at_load(exported, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(exported.path, copy)
    path = copy / "model.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 does not match"):
        load_classifier(copy)
    (copy / "model_int8.onnx").write_bytes(b"")  # truncated
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_classifier(copy, variant="int8")


def test_interrupted_export_leaves_nothing(tiny_model_dir, tmp_path, monkeypatch):
    import kit.export.onnx

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kit.export.onnx, "_validate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(ExportConfig(model=str(tiny_model_dir), output=str(tmp_path / "out")), progress=lambda line: None)
    assert list(tmp_path.iterdir()) == []


def _export(*args):
    return CliRunner().invoke(main, ["export", "--onnx", *args])


@pytest.mark.slow
def test_cli_export_prints_table_and_refuses_overwrite(tiny_model_dir, tmp_path):
    out = tmp_path / "e"
    result = _export(str(tiny_model_dir), "--output", str(out), "--validate-rows", "10")
    assert result.exit_code == 0, result.output
    assert "fp32" in result.output and "100.00%" in result.output
    before = sha256_file(out / "export.json")
    again = _export(str(tiny_model_dir), "--output", str(out))
    assert again.exit_code == 1 and "--force" in again.output
    assert sha256_file(out / "export.json") == before
    forced = _export(str(tiny_model_dir), "--output", str(out), "--force", "--validate-rows", "10")
    assert forced.exit_code == 0 and (out / "export.json").is_file()


def _no_tokenizer(tiny_model_dir, tmp_path):
    folder = tmp_path / "no-tok"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_model_dir / name, folder / name)
    return folder


def _not_classifier(tiny_model_dir, tmp_path):
    from transformers import AutoConfig, BertForMaskedLM

    folder = tmp_path / "mlm"
    BertForMaskedLM(AutoConfig.from_pretrained(tiny_model_dir)).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (tiny_model_dir / name).exists():
            shutil.copy(tiny_model_dir / name, folder / name)
    return folder


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no-tokenizer", "no tokenizer could be loaded"),
        ("not-classifier", "is not a sequence classifier"),
        ("unwritable", "cannot create"),
        ("o4-on-cpu", "O4 (fp16 mixed precision) needs a CUDA GPU"),
        ("no-format", "choose the export format: --onnx"),
    ],
)
def test_cli_bad_input(case, message, tiny_model_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = {
        "no-tokenizer": lambda: [
            "--onnx",
            str(_no_tokenizer(tiny_model_dir, tmp_path)),
            "--output",
            str(tmp_path / "o"),
        ],
        "not-classifier": lambda: [
            "--onnx",
            str(_not_classifier(tiny_model_dir, tmp_path)),
            "--output",
            str(tmp_path / "o"),
        ],
        "unwritable": lambda: ["--onnx", str(tiny_model_dir), "--output", str(blocker / "sub" / "o")],
        "o4-on-cpu": lambda: ["--onnx", str(tiny_model_dir), "--output", str(tmp_path / "o"), "--optimize", "O4"],
        "no-format": lambda: [str(tiny_model_dir)],
    }[case]()
    result = CliRunner().invoke(main, ["export", *args])
    assert result.exit_code in (1, 2) and message in result.output
    assert not (tmp_path / "o").exists()


def test_paired_accuracy_interval_and_tolerance():
    from kit.export.validation import paired_accuracy

    labels = np.zeros(2000, dtype=int)
    reference = np.zeros(2000, dtype=int)
    reference[:200] = 1  # reference: 90% right
    variant = reference.copy()
    variant[200:230] = 1  # 30 rows only the reference gets right
    variant[:5] = 0  # 5 rows only the variant gets right
    check = paired_accuracy(labels, reference, variant, tolerance=0.005)
    assert (check.reference_only, check.variant_only) == (30, 5)
    assert check.difference == pytest.approx(-25 / 2000)
    half = 1.959964 * np.sqrt(35 - 25**2 / 2000) / 2000  # the paired (McNemar) standard error
    assert check.ci95 == pytest.approx((-25 / 2000 - half, -25 / 2000 + half))
    assert check.verdict == "invalid"  # [-1.83, -0.67] pt: beyond -0.5 pt
    assert paired_accuracy(labels, reference, variant, tolerance=0.02).verdict == "valid"  # within -2 pt


@pytest.mark.slow
def test_int8_is_judged_on_labels_and_rejected_when_it_loses_accuracy(tiny_model_dir, tmp_path):
    """A learned tiny model: int8 keeps its accuracy. Then an outlier embedding row for a token no review
    uses: fp32 predictions stay the same, but per-tensor int8 of the embedding table rounds every other
    row to zero, accuracy collapses, and the export refuses the variant."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from kit.data.splits import DataConfig
    from kit.train.finetune import FinetuneConfig, finetune
    from tests.synthetic import write_nsmc

    data = write_nsmc(tmp_path / "data", n_train=1200, n_test=300, seed=3)
    run = tmp_path / "run"
    config = FinetuneConfig(
        model=str(tiny_model_dir),
        output_dir=str(run),
        data=DataConfig(data_dir=str(data), val_ratio=0.1),
        max_length=64,
        epochs=3,
        learning_rate=1e-3,
        batch_size=16,
        evaluate_test=False,
    )
    finetune(config)

    def export(name: str, tolerance: float):
        config = ExportConfig(
            model=str(run),
            output=str(tmp_path / name),
            quantize=("int8-u8s8",),
            data=DataConfig(data_dir=str(data)),
            label_rows=300,
            accuracy_tolerance=tolerance,
        )
        variants = {v["name"]: v for v in export_onnx(config, progress=lambda line: None).manifest["variants"]}
        assert variants["fp32"]["valid"] and variants["fp32"]["validation"]["labeled"] is None
        return variants["int8-u8s8"]

    # int8 of a trained model keeps its accuracy within a few rows (2 pt: int8 rounds differently on each
    # CPU's instructions): its interval clears -2 pt, decided in the first round or with all 300 rows.
    kept = export("kept", tolerance=0.02)
    labeled = kept["validation"]["labeled"]
    assert labeled["rows"] in (250, 300) and labeled["reference_accuracy"] > 0.75
    assert kept["verdict"] == "valid" and kept["valid"] and labeled["ci95"][0] >= -0.02
    assert kept["validation"]["threshold"].startswith("accuracy drop ≤ 2 pt")

    model = AutoModelForSequenceClassification.from_pretrained(run)
    unused = AutoTokenizer.from_pretrained(run).convert_tokens_to_ids("[MASK]")
    model.bert.embeddings.word_embeddings.weight.data[unused] = 1e4
    model.save_pretrained(run)
    rejected = export("lost", tolerance=0.02)
    lost = rejected["validation"]["labeled"]
    assert rejected["verdict"] == "invalid" and not rejected["valid"] and "lies below -2 pt" in rejected["why"]
    low, high = lost["ci95"]
    assert lost["difference"] < -0.05 and low < lost["difference"] < high < -0.02


def test_export_finds_its_source_from_another_folder(tiny_model_dir, tmp_path, monkeypatch):
    from kit.manifest import Export

    model = tmp_path / "models" / "tiny"
    shutil.copytree(tiny_model_dir, model)
    monkeypatch.chdir(tmp_path)
    export_onnx(ExportConfig(model="models/tiny", output="exports/tiny", max_length=64), progress=lambda line: None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    export = tmp_path / "exports" / "tiny"
    opened = Export.open(export)
    assert opened.manifest["source"]["model"] == "models/tiny"
    assert opened.source_model() == str(model)
    shutil.rmtree(model)
    with pytest.raises(ModelError, match="its source model 'models/tiny' is gone"):
        opened.source_model()


@pytest.mark.parametrize(
    ("rows", "reference_only", "variant_only", "verdict"),
    [
        (2000, 5, 5, "valid"),  # +0.00 pt [-0.31, +0.31]: shown within 0.5 pt
        (2000, 100, 10, "invalid"),  # -4.50 pt [-5.51, -3.49]: shown beyond it
        (500, 10, 5, "undecided"),  # -1.00 pt [-2.52, +0.52]: the interval spans -0.5 pt
    ],
)
def test_a_verdict_is_what_the_interval_shows(rows, reference_only, variant_only, verdict):
    from kit.export.validation import PairedAccuracy

    paired = PairedAccuracy(rows, 0.85, 0.85, reference_only, variant_only, tolerance=0.005, majority_share=0.5)
    low, high = paired.ci95
    assert paired.verdict == verdict
    assert (high < -0.005) == (verdict == "invalid") and (low >= -0.005) == (verdict == "valid")
    if verdict == "undecided":
        more = paired.rows_to_decide
        assert more > rows
        # at the same rates over that many rows, the interval would clear -0.5 pt
        scale = more / rows
        decided = PairedAccuracy(more, 0.85, 0.85, round(reference_only * scale), round(variant_only * scale), 0.005)
        assert decided.verdict != "undecided"
    else:
        assert paired.rows_to_decide is None


def test_near_chance_is_the_majority_share_within_the_interval():
    from kit.export.validation import PairedAccuracy

    assert PairedAccuracy(2000, 0.523, 0.52, 30, 24, 0.005, majority_share=0.503).near_chance
    assert not PairedAccuracy(2000, 0.85, 0.85, 10, 10, 0.005, majority_share=0.503).near_chance
    assert PairedAccuracy(250, 0.35, 0.35, 5, 5, 0.005, majority_share=0.34).near_chance  # three labels


def test_a_near_chance_model_is_judged_on_its_logits(tiny_ov_export):
    """The tiny random model scores about half the synthetic labels: its labels say nothing about int8, so
    every approximate variant is judged on whether its logits order the reviews as fp32's do, said so."""
    for variant in tiny_ov_export.manifest["variants"]:
        check = variant["validation"]
        if check["exact"]:
            assert check["on_logits"] is None and variant["verdict"] == "valid"
            continue
        assert "within chance" in check["on_logits"]
        assert variant["verdict"] == ("valid" if check["logit_correlation"] >= 0.95 else "invalid")
        assert variant["why"].startswith("judged on logits (fp32's accuracy")


@pytest.mark.parametrize("verdict", ["undecided", "invalid"])
def test_a_variant_not_shown_valid_loads_with_a_note_when_named(verdict, tiny_export, tmp_path):
    copy = tmp_path / "export"
    shutil.copytree(tiny_export.path, copy)
    manifest = json.loads((copy / "export.json").read_text())
    int8 = next(v for v in manifest["variants"] if v["name"] == "int8")
    int8.update(verdict=verdict, valid=verdict == "undecided", why="accuracy -0.60 pt [-1.59, +0.39] on 2,000 rows")
    (copy / "export.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["predict", str(copy), "좋은 영화", "--variant", "int8"])
    assert result.exit_code == 0, result.output
    assert f"Note: variant 'int8' is {verdict} by its export's validation: accuracy -0.60 pt" in result.output
    from kit.runtime.classifiers import load_backend

    assert load_backend(copy).variant["name"] == "fp32"  # the default is still fp32's


def test_an_export_opened_once_hashes_each_file_once(tiny_export, monkeypatch):
    """The server checked its model's files at start and hashed them again when it loaded: an `Export`, opened
    once and handed down, checks each file the first time it is read."""
    import kit.manifest
    from kit.manifest import Export
    from kit.runtime.classifiers import check_model_files, load_backend

    hashed = []
    real = kit.manifest.sha256_file
    monkeypatch.setattr(kit.manifest, "sha256_file", lambda path: hashed.append(Path(path).name) or real(path))
    export = Export.open(tiny_export.path)
    check_model_files(export, None)  # as `nsmckit serve` does before the model loads
    backend = load_backend(export)
    assert backend.export is export and "model.onnx" in hashed and len(hashed) == len(set(hashed)), hashed
