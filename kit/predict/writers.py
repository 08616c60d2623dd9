"""Scored rows out, by the output's extension (`.jsonl`, `.csv`, `.parquet`), or JSONL on stdout.

A file is written beside its target under a hidden name and renamed into place only when
complete, so an interrupted run never leaves a file that looks finished:

    with open_writer("scored.parquet") as write:
        write({"id": [...], "pred_label": [...], ...})
"""

from __future__ import annotations

import csv
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from kit.errors import DataError

EXTENSIONS = (".jsonl", ".csv", ".parquet")


def check_output(path: str | None) -> None:
    """Refuse an output the run could not write, before any scoring."""
    if path is None:
        return
    target = Path(path)
    if target.suffix.lower() not in EXTENSIONS:
        raise DataError(f"{path}: the output's extension says its format; use one of {', '.join(EXTENSIONS)}")
    if target.is_dir():
        raise DataError(f"{path}: is a folder; give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise DataError(f"{parent}: no such folder for the output")
    if not os.access(parent, os.W_OK):
        raise DataError(f"{parent}: cannot write here (permission denied)")


def _rows(columns: dict[str, list]) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


class _Jsonl:
    def __init__(self, stream):
        self.stream = stream

    def write(self, columns: dict[str, list]) -> None:
        self.stream.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in _rows(columns))

    def close(self) -> None:
        self.stream.flush()


class _Csv:
    def __init__(self, stream):
        self.stream = stream
        self.writer = None

    def write(self, columns: dict[str, list]) -> None:
        if self.writer is None:
            self.writer = csv.DictWriter(self.stream, fieldnames=list(columns))
            self.writer.writeheader()
        self.writer.writerows(_rows(columns))

    def close(self) -> None:
        self.stream.flush()


class _Parquet:
    def __init__(self, path: Path):
        self.path = path
        self.writer = None

    def write(self, columns: dict[str, list]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(columns)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table.cast(self.writer.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@contextmanager
def open_writer(path: str | None):
    """Yields `write(columns)`; the file appears at `path` only if the block completes."""
    if path is None:
        writer = _Jsonl(sys.stdout)
        yield writer.write
        writer.close()
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    suffix = target.suffix.lower()
    stream = None if suffix == ".parquet" else partial.open("w", encoding="utf-8", newline="")
    writer = _Parquet(partial) if stream is None else (_Csv(stream) if suffix == ".csv" else _Jsonl(stream))
    try:
        yield writer.write
        writer.close()
        if stream is not None:
            stream.close()
        partial.replace(target)
    finally:
        if stream is not None and not stream.closed:
            stream.close()
        partial.unlink(missing_ok=True)
