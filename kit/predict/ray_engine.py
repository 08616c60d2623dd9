"""`nsmckit predict --engine ray`: the same scoring as a Ray Data pipeline, for corpora that outgrow
one machine. Ray reads the file in parallel, a pool of actors (each loading the model once) scores
length-sorted batches, and the driver streams the results, in input order, into the same writers
as the local engine.

    read (Ray Data) -> map_batches(_Scorer, concurrency=actors) -> iter_batches -> kit.predict.writers

The nodes need nsmckit installed, and the model and input paths must be readable from every node.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from kit.errors import KitError
from kit.predict.readers import Reader
from kit.predict.scoring import PredictConfig, prediction_columns
from kit.runtime.onnx_session import resolve_provider


class _Scorer:
    """A Ray actor: loads the model once, then scores every batch it is given."""

    def __init__(self, model: str, variant: str | None, provider: str, threads: int, column: str, batch_size: int):
        from kit.runtime.text_classifier import load_classifier

        self.classifier = load_classifier(model, variant, provider, threads)
        self.column = column
        self.batch_size = batch_size

    def __call__(self, batch):
        import pyarrow as pa

        columns = batch.to_pydict()
        texts = columns[self.column]
        if any(not isinstance(t, str) for t in texts):
            raise KitError(f"column {self.column!r} holds a value that is not text")
        return pa.table({**columns, **prediction_columns(self.classifier, texts, self.batch_size)})


def _dataset(path: str, fmt: str):
    """Ray's own reader for the format; CSV/TSV columns stay text, as the local engine reads them."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import ray.data

    if fmt == "parquet":
        return ray.data.read_parquet(path, file_extensions=None)
    if fmt == "jsonl":
        return ray.data.read_json(path, lines=True, file_extensions=None)
    if fmt == "lines":
        return ray.data.read_text(path, drop_empty_lines=False, file_extensions=None)
    delimiter = "\t" if fmt == "tsv" else ","
    with open(path, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f, delimiter=delimiter))
    return ray.data.read_csv(
        path,
        file_extensions=None,
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in header}),
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


def scored_chunks(config: PredictConfig, reader: Reader) -> tuple[Iterator[dict[str, list]], str]:
    """Scored chunks in input order, streamed from the Ray pipeline, and a description of what ran."""
    try:
        import ray
    except ImportError as e:
        raise KitError("--engine ray needs Ray: pip install 'nsmckit[ray]'") from e
    if reader.spec.path == "-":
        raise KitError("--engine ray reads files, not standard input")
    next(reader.chunks(1))  # fail on a missing column, bad bytes or an empty file before starting Ray
    ray.init(address=config.ray_address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    _check_resources(config)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # results come back in input order
    context.enable_progress_bars = False  # the driver shows one progress bar for the whole run
    provider = "cuda" if config.gpus_per_actor > 0 else resolve_provider(config.provider)
    threads = config.threads or max(1, int(config.cpus_per_actor))
    fmt = reader.resolved_format()  # sniffs a .txt's first line: once
    lines = fmt == "lines"
    scored = _dataset(str(Path(reader.spec.path).resolve()), fmt).map_batches(
        _Scorer,
        fn_constructor_kwargs={
            "model": str(Path(config.model).resolve()),
            "variant": config.variant,
            "provider": provider,
            "threads": threads,
            "column": "text" if lines else config.column,
            "batch_size": config.batch_size,
        },
        batch_size=config.chunk_rows,
        batch_format="pyarrow",
        concurrency=config.actors,
        num_cpus=config.cpus_per_actor,
        num_gpus=config.gpus_per_actor or None,
    )

    def chunks():
        line = 1
        for batch in scored.iter_batches(batch_size=None, batch_format="pyarrow"):
            columns = batch.to_pydict()
            if lines:  # Ray's text reader drops line numbers; the order is preserved, so count them here
                n = batch.num_rows
                columns = {"line": list(range(line, line + n)), **columns}
                line += n
            yield columns

    where = config.ray_address or "local Ray"
    return chunks(), f"{config.actors} Ray actor(s) on {where}, {provider}, {config.model}"
