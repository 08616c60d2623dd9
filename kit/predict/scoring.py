"""`nsmckit predict`: score texts or files with an export (ONNX Runtime) or a finetune folder (PyTorch).

    from kit.predict.scoring import PredictConfig, score_file, score_texts
    score_texts("exports/nsmc", ["재밌어요"])                  # -> [Prediction(...)]
    score_file(PredictConfig(model="exports/nsmc", input="reviews.tsv", output="scored.parquet"))

The local engine reads a chunk, scores it in length-sorted batches (results restored to input
order) and writes it before reading the next, so memory stays bounded however large the file.
`engine="ray"` runs the same scoring as a Ray Data pipeline (`kit.predict.ray_engine`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from kit.errors import KitError
from kit.predict.readers import FORMATS, Reader, open_reader
from kit.predict.writers import check_output, open_writer
from kit.runtime.onnx_session import resolve_provider
from kit.runtime.text_classifier import TextClassifier, load_classifier, softmax
from kit.settings import setting

ENGINES = ("local", "ray")
PROVIDERS = ("auto", "cpu", "cuda")


@dataclass
class PredictConfig:
    model: str  # an export folder (export.json) or a `nsmckit finetune` output folder
    input: str | None = setting(
        None, "Text file to score: .txt (a text per line, or NSMC's TSV), .tsv, .csv, .jsonl, .parquet; - for stdin."
    )
    output: str | None = setting(
        None, "Write .jsonl, .csv or .parquet (by extension), in input order.  [default: JSONL on stdout]"
    )
    column: str = setting("document", "Column (.tsv/.csv/.parquet) or field (.jsonl) holding the text.")
    format: str = setting("auto", "Input format; auto: by extension.", choices=FORMATS)
    variant: str | None = setting(None, "Export variant (fp32, O2, int8, ...).  [default: the export's default]")
    provider: str = setting("auto", "auto: CUDA when available, else CPU.", choices=PROVIDERS)
    threads: int | None = setting(None, "ONNX Runtime intra-op threads.  [default: all cores]", min=1)
    batch_size: int = setting(64, "Texts per model call (length-sorted within a chunk).", min=1)
    chunk_rows: int = setting(8192, "Rows read, scored and written at a time: bounds memory.", min=1)
    engine: str = setting(
        "local", "local: this process; ray: a Ray Data pipeline (pip install nsmckit[ray]).", choices=ENGINES
    )
    ray_address: str | None = setting(
        None, "Ray cluster to run on.  [default: RAY_ADDRESS, else a local Ray]", envvar="RAY_ADDRESS"
    )
    actors: int = setting(1, "Ray: scoring actors, each loading the model once.", min=1)
    cpus_per_actor: float = setting(
        1.0, "Ray: CPUs each actor reserves (also its ORT threads). Leave CPUs free for Ray's read tasks.", min=0.1
    )
    gpus_per_actor: float = setting(0.0, "Ray: GPUs each actor reserves (> 0 runs it on CUDA).", min=0)
    progress: bool = True


@dataclass
class Prediction:
    label: int
    label_name: str
    probabilities: list[float]


@dataclass
class PredictResult:
    rows: int
    seconds: float
    output: str | None
    model: str  # what ran: backend and folder

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def prediction_columns(classifier: TextClassifier, texts: list[str], batch_size: int) -> dict[str, list]:
    """pred_label, pred_label_name and prob_<label> per text, in input order (batches length-sorted)."""
    probs = softmax(classifier.predict_logits(texts, batch_size))
    labels = probs.argmax(-1)
    columns: dict[str, list] = {
        "pred_label": labels.tolist(),
        "pred_label_name": [classifier.labels[i] for i in labels],
    }
    for i, name in enumerate(classifier.labels):
        columns[f"prob_{name}"] = np.round(probs[:, i].astype(np.float64), 6).tolist()
    return columns


def score_texts(model: str, texts: list[str], variant: str | None = None, provider: str = "auto") -> list[Prediction]:
    """Predictions for a few texts (the `nsmckit predict MODEL TEXT...` path)."""
    classifier = load_classifier(model, variant, resolve_provider(provider))
    columns = prediction_columns(classifier, texts, batch_size=64)
    probs = [[columns[f"prob_{name}"][i] for name in classifier.labels] for i in range(len(texts))]
    return [
        Prediction(label, name, p) for label, name, p in zip(columns["pred_label"], columns["pred_label_name"], probs)
    ]


def _progress(config: PredictConfig, total: int | None):
    from tqdm.auto import tqdm

    # Drawn after the first second: an input that fails on its first rows prints only its error.
    return tqdm(total=total, unit="rows", unit_scale=True, desc="scoring", disable=not config.progress, delay=1.0)


def score_file(config: PredictConfig) -> PredictResult:
    """Score `config.input` into `config.output`, in input order, with the chosen engine."""
    if config.input is None:
        raise KitError("give texts as arguments or a file with --input")
    check_output(config.output)
    reader = open_reader(config.input, config.column, config.format)
    start = time.perf_counter()
    if config.engine == "ray":
        from kit.predict.ray_engine import scored_chunks

        chunks, model = scored_chunks(config, reader)
    else:
        chunks, model = _local_chunks(config, reader)
    rows = 0
    with open_writer(config.output) as write, _progress(config, reader.total) as bar:
        for columns in chunks:
            write(columns)
            n = len(next(iter(columns.values())))
            rows += n
            bar.update(n)
    return PredictResult(rows, time.perf_counter() - start, config.output, model)


def _local_chunks(config: PredictConfig, reader: Reader) -> tuple[Iterator[dict[str, list]], str]:
    classifier = load_classifier(config.model, config.variant, resolve_provider(config.provider), config.threads)

    def chunks():
        for columns, texts in reader.chunks(config.chunk_rows):
            yield {**columns, **prediction_columns(classifier, texts, config.batch_size)}

    return chunks(), classifier.description
