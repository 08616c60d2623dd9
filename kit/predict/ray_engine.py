"""`nsmckit predict --engine ray`: the same scoring as a Ray Data pipeline, for corpora that outgrow
one machine. Ray reads the file in parallel, a pool of actors (each loading the model once) scores
length-sorted batches, and the driver streams the results, in input order, into the same writers
as the local engine.

    read (Ray Data) -> map_batches(_Scorer, concurrency=actors) -> iter_batches -> kit.predict.writers

The nodes need nsmckit installed, and the model and input paths must be readable from every node.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from kit.data.readers import Reader
from kit.errors import KitError
from kit.manifest import Export
from kit.predict.config import PredictConfig
from kit.predict.predictions import prediction_columns, prediction_kinds
from kit.runtime.backend import BackendOptions
from kit.runtime.classifiers import AUTO, check_model_files, classifier_labels, is_export
from kit.runtime.variant_choice import choose_variant


class _Scorer:
    """A Ray actor: loads the model once, then scores every batch it is given. JSON lines arrive as the
    lines themselves (`json_column`), parsed here for their text and again by the driver for the rows,
    so Ray's typed columns never reshape a row whose fields differ from its neighbours'.

    A model the actor cannot load (no CUDA on its node, say) fails its first batch rather than its
    constructor: Ray restarts a failed constructor forever, printing every traceback on the driver's
    console, while a failed batch ends the pipeline with the one error `_ray_batches` reports."""

    def __init__(self, model: str, variant: str | None, provider: str, threads: int, column: str, **options):
        from kit.runtime.classifiers import load_classifier

        try:
            self.classifier, self.load_error = load_classifier(model, variant, provider, threads), None
        except KitError as e:
            self.classifier, self.load_error = None, e
        self.column = column
        self.batch_size, self.json_lines = options["batch_size"], options["json_lines"]

    def __call__(self, batch):
        import pyarrow as pa

        if self.load_error is not None:
            raise self.load_error

        columns = batch.to_pydict()
        if self.json_lines:
            texts = [json.loads(line)[self.column] for line in columns[JSON_LINE]]
        else:
            texts = columns[self.column]
        return pa.table({**columns, **prediction_columns(self.classifier, texts, self.batch_size)})


JSON_LINE = "text"  # the column Ray's text reader puts each line in


def _dataset(path: str, fmt: str, fields: list[str]):
    """Ray's own reader for the format: CSV/TSV columns stay text, as the local engine reads them, and JSON
    lines stay lines (Ray's JSON reader goes through pandas, which turns a missing integer into a float)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import ray.data

    if fmt == "parquet":
        return ray.data.read_parquet(path, file_extensions=None)
    if fmt in ("jsonl", "lines"):
        return ray.data.read_text(path, drop_empty_lines=fmt == "jsonl", file_extensions=None)
    delimiter = "\t" if fmt == "tsv" else ","
    return ray.data.read_csv(
        path,
        file_extensions=None,
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in fields}),
    )


def _check_resources(config: PredictConfig) -> None:
    """On a small machine an actor pool that takes every CPU leaves none for Ray Data's read tasks,
    and the pipeline stalls instead of failing: refuse that up front."""
    import ray

    cpus = ray.cluster_resources().get("CPU", 0)
    wanted = config.actors * config.cpus_per_actor
    if wanted >= cpus:
        raise KitError(
            f"{config.actors} actor(s) x {config.cpus_per_actor:g} CPU take all {cpus:g} CPUs of the Ray cluster, "
            "leaving none for reading; lower --actors or --cpus-per-actor (fractions like 0.5 work)"
        )


def scored_chunks(config: PredictConfig, reader: Reader) -> tuple[Iterator[dict[str, list]], list[str], str]:
    """Scored chunks in input order, streamed from the Ray pipeline, the label names, and a description
    of what ran."""
    try:
        import ray
    except ImportError as e:
        raise KitError("--engine ray needs Ray: pip install 'nsmckit[ray]'") from e
    if reader.spec.path == "-":
        raise KitError("--engine ray reads files, not standard input")
    model = Export.open(config.model) if is_export(config.model) else config.model
    labels = classifier_labels(model)
    check_model_files(model, config.variant)  # a corrupt file fails here in one line, not in every actor
    variant = config.variant
    if variant == AUTO:  # chosen once, here, so that every actor runs the same variant
        options = BackendOptions(provider="cpu" if config.gpus_per_actor == 0 else "auto")
        choice = choose_variant(model, options, config.batch_size)
        variant = choice.name
        print(choice.reason, file=sys.stderr)
    for _ in reader.chunks(config.chunk_rows):
        pass  # every malformed row fails here, with its file and line, before Ray starts
    # Ray Data logs every execution step, and a failure's whole traceback, on the driver's console; the kit
    # reports progress with one bar and a failure with one line (its cause, from the worker).
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "CRITICAL")
    # When a worker fails, Ray Data cancels the read tasks still running, and Ray prints each cancelled
    # task's error at exit, after the kit's line (from a process whose SIGINT is ignored, as in a background
    # job, that error is a TypeError from Ray's own signal handling): the failure is already reported once.
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
    ray.init(
        address=config.ray_address,
        include_dashboard=False,
        log_to_driver=False,
        ignore_reinit_error=True,
        logging_level=logging.ERROR,
    )
    _check_resources(config)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # results come back in input order
    context.enable_progress_bars = False  # the driver shows one progress bar for the whole run
    # Ray gives an actor the GPUs it reserved, and no others: auto means CUDA exactly when it reserves some.
    provider = "cuda" if config.gpus_per_actor > 0 else "cpu" if config.provider == "auto" else config.provider
    threads = config.threads or max(1, int(config.cpus_per_actor))
    fmt = reader.format
    lines = fmt == "lines"
    scored = _dataset(str(Path(reader.spec.path).resolve()), fmt, reader.fields).map_batches(
        _Scorer,
        fn_constructor_kwargs={
            "model": str(Path(config.model).resolve()),
            "variant": variant,
            "provider": provider,
            "threads": threads,
            "column": "text" if lines else config.column,
            "batch_size": config.batch_size,
            "json_lines": fmt == "jsonl",
        },
        batch_size=config.chunk_rows,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=config.actors),
        num_cpus=config.cpus_per_actor,
        num_gpus=config.gpus_per_actor or None,
    )

    outputs = [*reader.fields, *prediction_kinds(labels)]

    def chunks():
        line = 1
        for batch in _ray_batches(scored):
            columns, n = batch.to_pydict(), batch.num_rows
            if lines:  # Ray's text reader drops line numbers; the order is preserved, so count them here
                columns["line"] = list(range(line, line + n))
                line += n
            if fmt == "jsonl":  # the rows, from their own lines: a field a row lacks is None there
                rows = [json.loads(text) for text in columns.pop(JSON_LINE)]
                columns |= {name: [row.get(name) for row in rows] for name in reader.fields}
            yield {name: columns[name] for name in outputs}

    where = config.ray_address or "local Ray"
    return chunks(), labels, f"{config.actors} Ray actor(s) on {where}, {provider}, {config.model}"


def _ray_batches(dataset):
    """The pipeline's batches; a failure inside Ray (a worker's traceback, many lines) is one line naming
    the error the worker raised."""
    try:
        yield from dataset.iter_batches(batch_size=None, batch_format="pyarrow")
    except Exception as e:
        raise KitError(f"a Ray worker failed: {_worker_error(e)}") from e


def _worker_error(error: BaseException) -> str:
    """The worker's own error line (`kit.errors.ModelError: ...`) from Ray's report, which carries the worker's
    traceback as text, then Ray's wrappers after "The above exception was the direct cause"."""
    report = str(error).split("The above exception was the direct cause")[0]
    lines = [line.strip() for line in report.splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
