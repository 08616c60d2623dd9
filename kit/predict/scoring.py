"""`nsmckit predict`: score texts or files with an export (ONNX Runtime) or a finetune folder (PyTorch).

    from kit.predict.scoring import PredictConfig, score_file, score_texts
    score_texts("exports/nsmc", ["재밌어요"])                  # -> [Prediction(...)]
    score_file(PredictConfig(model="exports/nsmc", input="reviews.tsv", output="scored.parquet"))

The local engine reads a chunk, scores it in length-sorted batches (results restored to input
order) and writes it before reading the next, so memory stays bounded however large the file.
`engine="ray"` runs the same scoring as a Ray Data pipeline (`kit.predict.ray_engine`).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from kit.data.readers import Reader, open_reader
from kit.errors import KitError
from kit.predict.config import PredictConfig
from kit.predict.predictions import Prediction, prediction_columns, prediction_kinds, predictions
from kit.predict.writers import check_output, open_writer
from kit.progress import progress_bar
from kit.runtime.classifiers import load_classifier
from kit.settings import check_settings


@dataclass
class PredictResult:
    rows: int
    seconds: float
    output: str | None
    model: str  # what ran: backend and folder

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def score_texts(model: str, texts: list[str], variant: str | None = None, provider: str = "auto") -> list[Prediction]:
    """Predictions for a few texts (the `nsmckit predict MODEL TEXT...` path)."""
    return predictions(_said(load_classifier(model, variant, provider)), texts)


def _said(classifier):
    """The classifier, after saying on stderr why its variant was chosen and what its export found of it."""
    if classifier.backend.choice:
        print(classifier.backend.choice, file=sys.stderr)
    if classifier.backend.note:
        print(f"Note: {classifier.backend.note}", file=sys.stderr)
    return classifier


def _progress(config: PredictConfig, total: int | None):
    # Drawn after the first second: an input that fails on its first rows prints only its error.
    return progress_bar(total, "scoring", enabled=config.progress)


def score_file(config: PredictConfig) -> PredictResult:
    """Score `config.input` into `config.output`, in input order, with the chosen engine."""
    check_settings(config)
    if config.input is None:
        raise KitError("give texts as arguments or a file with --input")
    check_output(config.output, config.input, config.overwrite)
    reader = open_reader(config.input, config.column, config.format, max_fields=config.max_columns)
    rows_stream = sys.stdout  # where the rows go without --output, and nothing else
    try:
        start = time.perf_counter()
        if config.engine == "ray":
            from kit.predict.ray_engine import scored_chunks

            chunks, labels, model = scored_chunks(config, reader)
        else:
            chunks, labels, model = _local_chunks(config, reader)
        rows = 0
        kinds = reader.kinds | prediction_kinds(labels)
        with (
            # Ray's driver prints what its workers report on stdout: to stderr with it, stdout is the rows'.
            contextlib.redirect_stdout(sys.stderr if config.engine == "ray" else sys.stdout),
            open_writer(config.output, kinds, config.overwrite, rows_stream) as write,
            _progress(config, reader.total) as bar,
        ):
            for columns in chunks:
                write(columns)
                n = len(next(iter(columns.values())))
                rows += n
                bar.update(n)
    finally:
        reader.close()
    return PredictResult(rows, time.perf_counter() - start, config.output, model)


def _local_chunks(config: PredictConfig, reader: Reader) -> tuple[Iterator[dict[str, list]], list[str], str]:
    classifier = _said(
        load_classifier(config.model, config.variant, config.provider, config.threads, batch_size=config.batch_size)
    )

    def chunks():
        for columns, texts in reader.chunks(config.chunk_rows):
            yield columns | prediction_columns(classifier, texts, config.batch_size)

    return chunks(), classifier.labels, classifier.description
