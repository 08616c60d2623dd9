"""Fixtures: a tiny BERT with random weights, a real tokenizer, NSMC-format data; no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before anything imports transformers/datasets: never touch the network.
os.environ.update(
    HF_HUB_OFFLINE="1",
    HF_DATASETS_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    TOKENIZERS_PARALLELISM="false",
    HF_HUB_DISABLE_TELEMETRY="1",
)

from tests.families import save_tiny_family  # noqa: E402
from tests.synthetic import corpus, write_nsmc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KLUE_DIR = ROOT.parent / "shared" / "models" / "klue-bert-base"
NSMC_DATA_DIR = os.environ.get("NSMC_DATA_DIR")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Caches in a temp dir so tests neither read nor pollute the user's."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("NSMCKIT_CACHE", str(cache / "nsmckit"))
    monkeypatch.setenv("HF_HOME", str(cache / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "hf" / "datasets"))
    monkeypatch.delenv("NSMC_MODEL", raising=False)
    monkeypatch.delenv("NSMC_NO_WEIGHTS", raising=False)


def build_tokenizer(folder: Path):
    """The klue tokenizer when its files are here, else a WordPiece tokenizer trained on synthetic reviews."""
    from transformers import AutoTokenizer, BertTokenizerFast

    if KLUE_DIR.is_dir():
        return AutoTokenizer.from_pretrained(KLUE_DIR)
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    trainer.train_from_iterator(corpus(), vocab_size=600, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    folder.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(folder))
    return BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False, model_max_length=512)


def save_tiny_model(folder: Path, tokenizer, seed: int = 0) -> Path:
    """A 2-layer, hidden-64 BERT classifier with random weights (seeded) and its tokenizer, saved like a model
    folder fine-tuned on NSMC (its labels named negative and positive)."""
    return save_tiny_family(folder, "bert", tokenizer, id2label={0: "negative", 1: "positive"}, seed=seed)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-bert")
    return save_tiny_model(folder, build_tokenizer(folder / "vocab"))


@pytest.fixture(scope="session")
def other_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with its classifier negated: every prediction the opposite of tiny_model_dir's."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("other-bert")
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    for parameter in model.classifier.parameters():
        parameter.data.neg_()
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def config_only_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model's config and tokenizer without weights, like ../shared/models/klue-bert-base."""
    import shutil

    folder = tmp_path_factory.mktemp("config-only")
    for path in tiny_model_dir.iterdir():
        if path.is_file() and path.name != "model.safetensors":
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def nsmc_dir(tmp_path_factory) -> Path:
    """Synthetic data in the release's format (quoted and empty documents included)."""
    return write_nsmc(tmp_path_factory.mktemp("nsmc"))


@pytest.fixture
def real_nsmc_dir() -> Path:
    if not NSMC_DATA_DIR:
        pytest.skip("NSMC_DATA_DIR is not set: the real NSMC files are not available")
    return Path(NSMC_DATA_DIR)


@pytest.fixture
def klue_dir() -> Path:
    if not KLUE_DIR.is_dir():
        pytest.skip(f"{KLUE_DIR} not found: the klue/bert-base tokenizer files are not available")
    return KLUE_DIR


@pytest.fixture(scope="session")
def tiny_export(tiny_model_dir, tmp_path_factory):
    """The tiny model exported through Optimum: fp32, O2 and int8 variants, validated."""
    from kit.export.onnx import ExportConfig, export_onnx

    out = tmp_path_factory.mktemp("exports") / "tiny"
    return export_onnx(
        ExportConfig(model=str(tiny_model_dir), output=str(out), optimize=("O2",), quantize=("int8",), max_length=64),
        progress=lambda line: None,
    )


@pytest.fixture(scope="session")
def tiny_ov_export(tiny_model_dir, nsmc_dir, tmp_path_factory):
    """The tiny model with ONNX Runtime's int8 and the OpenVINO variants (ov-bf16, ov-int8), validated on
    labels."""
    from kit.data.splits import DataConfig
    from kit.export.onnx import ExportConfig, export_onnx

    out = tmp_path_factory.mktemp("ov") / "export"
    config = ExportConfig(
        model=str(tiny_model_dir),
        output=str(out),
        quantize=("int8",),
        openvino=True,
        calibration_rows=64,
        max_length=64,
        data=DataConfig(data_dir=str(nsmc_dir)),
        label_rows=200,
    )
    return export_onnx(config, progress=lambda line: None)


FIGURES = pytest.StashKey[list]()


def record_figure(config, line: str) -> None:
    """A measured figure a test wants in CI's log (image size, start-to-healthy time), printed at the end."""
    config.stash.setdefault(FIGURES, []).append(line)


def pytest_terminal_summary(terminalreporter, config):
    for line in config.stash.get(FIGURES, []):
        terminalreporter.write_line(f"figure: {line}")
