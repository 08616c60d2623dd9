"""The task contract: your own data (three string labels, other columns) and every encoder family go from
finetune through export, bench, predict and serve, each step reading the task the run recorded."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.data.labels import LabelSet
from kit.data.splits import DataConfig, load_splits
from kit.errors import DataError, ModelError
from tests.conftest import build_tokenizer
from tests.families import FAMILIES, POSITIONS, save_tiny_family
from tests.serving import start_server
from tests.synthetic import THREE_CLASSES, write_nsmc, write_three_class_csv

COLUMNS = ["--text-column", "review", "--label-column", "sentiment"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return build_tokenizer(tmp_path_factory.mktemp("vocab"))


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reviews")
    return {
        "train": write_three_class_csv(folder / "train.csv", 240, seed=0),
        "test": write_three_class_csv(folder / "test.csv", 60, seed=1),
    }


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def quick_run(model: Path, folder: Path, *flags: str) -> tuple[Path, Path]:
    """Two fine-tuning steps of `model` on synthetic NSMC reviews, then its fp32 export: (run, export)."""
    nsmc = write_nsmc(folder / "nsmc", n_train=80, n_test=20)
    run, export = folder / "run", folder / "export"
    invoke("finetune", "--model", str(model), "--data-dir", str(nsmc), "--max-steps", "2", "--output", str(run), *flags)
    invoke("export", "--onnx", str(run), "--output", str(export))
    return run, export


def hugging_face_logits(run: Path, tokenizer, texts: list[str], max_length: int) -> np.ndarray:
    """What the Hugging Face model gives for `texts`, tokenized by `tokenizer` as its own pipeline would."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(run).eval()
    with torch.no_grad():
        inputs = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        return model(**inputs).logits.numpy()


def test_labels_come_from_the_training_data_in_sorted_or_given_order(reviews):
    splits = load_splits(
        DataConfig(
            train_file=str(reviews["train"]),
            test_file=str(reviews["test"]),
            text_column="review",
            label_column="sentiment",
        )
    )
    assert splits.labels.names == THREE_CLASSES
    # validation carved from training, stratified: every label in both, said so
    assert set(splits.val.labels) == set(splits.train.labels) == {0, 1, 2}
    assert "stratified" in splits.describe()
    assert len(splits.train) + len(splits.val) == 240 and len(splits.test) == 60
    ordered = load_splits(
        DataConfig(
            train_file=str(reviews["train"]),
            text_column="review",
            label_column="sentiment",
            labels=("pos", "neu", "neg"),
        ),
        need=("train",),
    )
    assert ordered.labels.names == ("pos", "neu", "neg")
    first = reviews["train"].read_text().splitlines()[1].rsplit(",", 1)[1]
    assert ordered.train.labels[0] == ("pos", "neu", "neg").index(first)


def test_a_row_with_an_unknown_label_names_its_file_and_line(reviews, tmp_path):
    bad = tmp_path / "test.csv"
    lines = reviews["test"].read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",mixed"
    bad.write_text("\n".join(lines) + "\n")
    config = DataConfig(
        train_file=str(reviews["train"]), test_file=str(bad), text_column="review", label_column="sentiment"
    )
    with pytest.raises(DataError, match=rf"{bad}:6: label 'mixed' is not one of the task's labels \(neg, neu, pos\)"):
        load_splits(config)
    with pytest.raises(DataError, match="no column 'stars_x'.*use --label-column"):
        load_splits(DataConfig(train_file=str(reviews["train"]), text_column="review", label_column="stars_x"))


def test_labels_map_onto_a_models_by_recorded_value_name_or_id():
    data = LabelSet.from_values(["1", "0"], names={"0": "negative", "1": "positive"})
    assert data.onto(["부정", "긍정"]) == LabelSet(("0", "1"), ("부정", "긍정"))  # NSMC's ids, the model's names
    assert LabelSet.from_values(["pos", "neg"]).onto(["pos", "neg"]).keys == ("pos", "neg")  # by name
    with pytest.raises(DataError, match=r"the data's labels \(0, 1\) are not the model's \(a, b, c\)"):
        data.onto(["a", "b", "c"])  # NSMC's 0/1 are not a 3-label model's ids
    assert LabelSet.from_values(["x"] * 3 + ["y"]).onto(["X", "Y"], ["x", "y"]).names == ("X", "Y")


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_three_string_labels_go_end_to_end_on_every_family(family, tokenizer, reviews, tmp_path):
    base = save_tiny_family(tmp_path / "base", family, tokenizer, base_model=True)
    data = ["--train-file", str(reviews["train"]), "--test-file", str(reviews["test"]), *COLUMNS]
    run, export = tmp_path / "run", tmp_path / "export"
    invoke("finetune", "--model", str(base), *data, "--max-steps", "6", "--batch-size", "16", "--output", str(run))
    task = json.loads((run / "run.json").read_text())["task"]
    assert task["labels"] == list(THREE_CLASSES) and task["family"] == family
    assert ("token_type_ids" in task["inputs"]) == (family != "distilbert")
    assert task["attention"] == ("eager" if family == "electra" else "sdpa")

    # export: judged on the run's own test file (no data option given), int8 and OpenVINO
    out = invoke("export", "--onnx", str(run), "--output", str(export), "--quantize", "int8", "--openvino")
    manifest = json.loads((export / "export.json").read_text())
    assert manifest["task"]["labels"] == list(THREE_CLASSES)
    assert str(reviews["test"]) in manifest["validation_texts"] and "labels neg, neu, pos" in out
    judged = {v["name"]: v["validation"]["labeled"] for v in manifest["variants"] if v["validation"]["labeled"]}
    assert set(judged) == {"int8", "ov-bf16", "ov-int8"}
    assert all(j["rows"] == 60 for j in judged.values())

    # bench: torch and ONNX Runtime on the run's own test rows, agreeing
    invoke(
        "bench",
        "--export",
        str(export),
        "--backends",
        "torch:fp32,ort-cpu:fp32",
        "--strategies",
        "bucketed",
        "--batch-sizes",
        "16",
        "--output",
        str(tmp_path / "bench"),
    )
    cells = json.loads((tmp_path / "bench" / "results.json").read_text())["cells"]
    assert [c["rows"] for c in cells] == [60, 60] and cells[1]["agreement"] == 1.0
    assert cells[0]["accuracy"] == cells[1]["accuracy"] and cells[0]["macro_f1"] is not None
    assert list(cells[0]["per_class_f1"]) == list(THREE_CLASSES)

    # predict: three probabilities named by the task's labels
    scored = tmp_path / "scored.jsonl"
    invoke("predict", str(export), "--input", str(reviews["test"]), "--column", "review", "--output", str(scored))
    rows = [json.loads(line) for line in scored.read_text().splitlines()]
    assert len(rows) == 60 and {r["pred_label_name"] for r in rows} <= set(THREE_CLASSES)
    assert all(sum(r[f"prob_{n}"] for n in THREE_CLASSES) == pytest.approx(1, abs=1e-5) for r in rows)
    assert rows[0]["stars"] in ("1", "3", "5")  # the file's other columns kept

    # serve: the label names and three probabilities, equal to predict's
    proc, url = start_server(export)
    try:
        answer = httpx.post(f"{url}/predict", json={"text": rows[0]["review"]}, timeout=30).json()
    finally:
        proc.terminate()
        proc.wait()
    assert answer["label_name"] == rows[0]["pred_label_name"] and len(answer["probabilities"]) == 3
    assert answer["probabilities"] == pytest.approx([rows[0][f"prob_{n}"] for n in THREE_CLASSES], abs=1e-5)


@pytest.mark.slow
def test_a_models_own_label_names_survive_finetune_export_and_predict(tokenizer, tmp_path):
    nsmc = write_nsmc(tmp_path / "nsmc", n_train=120, n_test=40)
    model = save_tiny_family(tmp_path / "named", "bert", tokenizer, id2label={0: "부정", 1: "긍정"})
    run, export = tmp_path / "run", tmp_path / "export"
    invoke("finetune", "--model", str(model), "--data-dir", str(nsmc), "--max-steps", "2", "--output", str(run))
    assert json.loads((run / "config.json").read_text())["id2label"] == {"0": "부정", "1": "긍정"}
    invoke("export", "--onnx", str(run), "--output", str(export), "--quantize", "int8")
    assert json.loads((export / "export.json").read_text())["task"]["labels"] == ["부정", "긍정"]
    out = tmp_path / "p.jsonl"
    invoke("predict", str(export), "--input", str(nsmc / "ratings_test.txt"), "--output", str(out))
    assert {"prob_부정", "prob_긍정"} <= set(json.loads(out.read_text().splitlines()[0]))


@pytest.mark.slow
def test_a_head_of_another_label_count_is_one_line_or_a_new_head(tokenizer, reviews, tmp_path):
    binary = save_tiny_family(tmp_path / "binary", "bert", tokenizer, id2label={0: "bad", 1: "good"})
    data = ["--train-file", str(reviews["train"]), "--test-file", str(reviews["test"]), *COLUMNS]
    args = ["finetune", "--model", str(binary), *data, "--max-steps", "1", "--output", str(tmp_path / "run")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "classification head has 2 labels and the task has 3 (neg, neu, pos); pass --new-head" in result.output
    result = CliRunner().invoke(main, [*args, "--new-head"])
    assert result.exit_code == 0, result.output
    assert "Note: --new-head" in result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["id2label"] == {
        "0": "neg",
        "1": "neu",
        "2": "pos",
    }


def test_roberta_positions_start_after_the_pad_id(tokenizer, tmp_path):
    import torch

    model = save_tiny_family(tmp_path / "roberta", "roberta", tokenizer)
    from kit.runtime.hf import check_length, load_config, load_model

    config = load_config(str(model))
    assert config.max_position_embeddings == POSITIONS + tokenizer.pad_token_id + 1
    check_length(config, POSITIONS)
    with pytest.raises(ModelError, match=f"{POSITIONS + 1} exceeds the model's {POSITIONS} usable positions"):
        check_length(config, POSITIONS + 1)
    # the model itself agrees: POSITIONS tokens run, one more would index past its position embeddings
    loaded = load_model(str(model)).eval()
    with torch.no_grad():
        loaded(input_ids=torch.full((1, POSITIONS), 5), attention_mask=torch.ones(1, POSITIONS, dtype=torch.long))
        with pytest.raises(IndexError):
            loaded(input_ids=torch.full((1, POSITIONS + 1), 5))


@pytest.mark.slow
def test_a_left_truncating_tokenizer_gives_the_hugging_face_models_logits(tokenizer, tmp_path):
    """Training cut long reviews from the left: export validation, predict and the server must too."""
    from transformers import AutoTokenizer

    from kit.runtime.classifiers import load_classifier

    model = save_tiny_family(tmp_path / "left", "bert", tokenizer)
    run, export = quick_run(model, tmp_path, "--max-length", "16", "--truncation-side", "left")
    assert json.loads((export / "export.json").read_text())["task"]["truncation_side"] == "left"
    texts = ["처음에는 지루했는데 " * 30 + "마지막은 최고 명작 감동", "짧은 리뷰"]
    hf_tokenizer = AutoTokenizer.from_pretrained(run)
    assert hf_tokenizer.truncation_side == "left"  # the run's folder says so too, for other tools
    expected = hugging_face_logits(run, hf_tokenizer, texts, 16)
    for folder in (run, export):
        got = load_classifier(folder).predict_logits(texts)
        np.testing.assert_allclose(got, expected, atol=1e-4)


def test_a_saved_dataset_keeps_its_class_names(tokenizer, tmp_path):
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["bad", "ok", "good"])}
    )
    rows = {"text": ["최고 명작", "보통", "최악 지루"] * 20, "label": [2, 1, 0] * 20}
    folder = tmp_path / "ds"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(rows, features=features),
            "test": datasets.Dataset.from_dict(rows, features=features),
        }
    ).save_to_disk(str(folder))
    splits = load_splits(DataConfig(dataset=str(folder), text_column="text"))
    assert splits.labels.names == ("bad", "ok", "good") and splits.test.labels[0] == 2


@pytest.mark.slow
def test_a_sentencepiece_only_xlmr_runs_with_pad_id_1_and_its_position_offset(tmp_path):
    """XLM-R's shape as published: a tokenizer that ships only its sentencepiece model, pad id 1, positions
    after the pad id. Fine-tuned, exported and run without torch, its logits are the Hugging Face model's."""
    import sentencepiece
    from transformers import AutoTokenizer, XLMRobertaTokenizer

    from kit.runtime.classifiers import load_classifier
    from tests.synthetic import corpus

    (tmp_path / "corpus.txt").write_text("\n".join(corpus()))
    sentencepiece.SentencePieceTrainer.train(
        input=str(tmp_path / "corpus.txt"),
        model_prefix=str(tmp_path / "sp"),
        vocab_size=100,
        pad_id=1,
        bos_id=0,
        eos_id=2,
        unk_id=3,
        minloglevel=2,
    )
    XLMRobertaTokenizer(vocab_file=str(tmp_path / "sp.model")).save_pretrained(tmp_path / "slow")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "slow")  # converted to a fast one: needs sentencepiece
    assert tokenizer.pad_token_id == 1 and not (tmp_path / "slow" / "tokenizer.json").exists()
    model = save_tiny_family(tmp_path / "xlmr", "xlm-roberta", tokenizer, base_model=True)
    (model / "tokenizer.json").unlink()  # as published: the sentencepiece model only
    run, export = quick_run(model, tmp_path, "--max-length", str(POSITIONS))
    task = json.loads((run / "run.json").read_text())["task"]
    assert task["pad_token_id"] == 1 and task["family"] == "xlm-roberta"
    texts = ["최고 명작 " * 100, "별로"]  # the first longer than every position
    expected = hugging_face_logits(run, tokenizer, texts, POSITIONS)
    np.testing.assert_allclose(load_classifier(export).predict_logits(texts), expected, atol=1e-4)
