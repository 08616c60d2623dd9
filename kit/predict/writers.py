"""Scored rows out, by the output's extension (`.jsonl`, `.csv`, `.parquet`), or JSONL on stdout.

A file is written beside its target under a hidden name and renamed into place only when
complete, so an interrupted run never leaves a file that looks finished; an existing file is
replaced only when asked, and the input itself never:

    with open_writer("scored.parquet", kinds) as write:
        write({"id": [...], "pred_label": [...], ...})

`kinds` (field -> int, float, bool, str or json; `kit.data.readers.kind_of`) fixes the
columns' types before the first chunk, so a field that is empty in the first rows keeps its type.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from contextlib import contextmanager, suppress
from pathlib import Path

from kit.atomic import partial_path
from kit.errors import DataError

EXTENSIONS = (".jsonl", ".csv", ".parquet")


def check_output(path: str | None, input: str | None = None, overwrite: bool = False) -> None:
    """Refuse an output the run could not write, or should not, before any scoring."""
    if path is None:
        return
    target = Path(path)
    if target.suffix.lower() not in EXTENSIONS:
        raise DataError(f"{path}: the output's extension says its format; use one of {', '.join(EXTENSIONS)}")
    if target.is_dir():
        raise DataError(f"{path}: is a folder; give a file name")
    if target.is_symlink() and not target.exists():  # it would fail only after the whole run
        raise DataError(f"{path}: a link to {os.readlink(target)}, which does not exist; give a file name")
    if input not in (None, "-") and target.exists() and target.samefile(input):
        raise DataError(f"{path}: is the input file; write the scores to another file")
    if target.exists() and not overwrite:
        raise DataError(f"{path}: already exists; pass --overwrite to replace it")
    parent = target.parent
    if not parent.is_dir():
        raise DataError(f"{parent}: no such folder for the output")
    if not os.access(parent, os.W_OK):
        raise DataError(f"{parent}: cannot write here (permission denied)")


def as_text(value) -> str | None:
    """A value for a text cell: strings as they are, other values as JSON (`true`, `[1, 2]`), None as None."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _rows(columns: dict[str, list]) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


class _Jsonl:
    def __init__(self, stream, kinds: dict[str, str]):
        self.stream = stream

    def write(self, columns: dict[str, list]) -> None:
        self.stream.writelines(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in _rows(columns))

    def close(self) -> None:
        self.stream.flush()


class _Csv:
    def __init__(self, stream, kinds: dict[str, str]):
        self.writer = csv.writer(stream)
        self.writer.writerow(kinds)
        self.stream = stream

    def write(self, columns: dict[str, list]) -> None:
        self.writer.writerows([as_text(v) for v in row] for row in zip(*columns.values()))

    def close(self) -> None:
        self.stream.flush()


class _Parquet:
    def __init__(self, path: Path, kinds: dict[str, str]):
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(), "json": pa.string()}
        self.schema = pa.schema([(name, types[kind]) for name, kind in kinds.items()])
        self.text = [name for name, kind in kinds.items() if kind in ("str", "json")]
        self.writer = pq.ParquetWriter(path, self.schema)

    def write(self, columns: dict[str, list]) -> None:
        import pyarrow as pa

        columns = columns | {name: [as_text(v) for v in columns[name]] for name in self.text}
        try:
            table = pa.Table.from_pydict(columns, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
            raise DataError(f"a column does not fit its parquet type ({str(e).splitlines()[0]}); write .jsonl") from e
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()


@contextmanager
def _writing(target: Path):
    """OSError while writing (a full disk, a file size limit) -> a one-line error naming the output."""
    try:
        yield
    except OSError as e:
        raise DataError(f"{target}: cannot write ({e.strerror or e})") from e


def _publish(partial: Path, target: Path, overwrite: bool) -> None:
    """Move the finished file into place. Without `overwrite` this is one step that fails if the target
    appeared meanwhile (a hard link cannot replace), so of two runs writing the same new file, the second
    says so instead of silently replacing the first's result."""
    if overwrite:
        partial.replace(target)
        return
    try:
        os.link(partial, target)
    except FileExistsError:
        raise DataError(f"{target}: appeared while this run was writing it; pass --overwrite to replace it") from None
    partial.unlink()


@contextmanager
def open_writer(path: str | None, kinds: dict[str, str], overwrite: bool = False, stdout=None):
    """Yields `write(columns)` (columns in `kinds`' order); the file appears at `path` only if the block
    completes. Without a path, JSON lines go to `stdout` (default: sys.stdout)."""
    if path is None:
        stdout = stdout or sys.stdout
        if stdout is None or stdout.closed:
            raise DataError("standard output is closed: nowhere to write the predictions; pass --output FILE")
        writer = _Jsonl(stdout, kinds)
        yield writer.write
        writer.close()
        return
    target = Path(path)
    partial = partial_path(target)
    stream = None

    def write(columns: dict[str, list]) -> None:
        with _writing(target):
            writer.write(columns)

    try:
        with _writing(target):
            if target.suffix.lower() == ".parquet":
                writer = _Parquet(partial, kinds)
            else:
                stream = partial.open("w", encoding="utf-8", newline="")
                writer = (_Csv if target.suffix.lower() == ".csv" else _Jsonl)(stream, kinds)
        yield write
        with _writing(target):
            writer.close()
            if stream is not None:
                stream.close()
            _publish(partial, target, overwrite)
    finally:
        if stream is not None and not stream.closed:
            with suppress(OSError):  # the write already failed; its error is the one to report
                stream.close()
        partial.unlink(missing_ok=True)
