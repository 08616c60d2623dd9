"""Input files for `nsmckit predict`, read in bounded chunks so memory does not grow with the file.

    reader = open_reader("reviews.tsv", column="document")
    for columns, texts in reader.chunks(10_000): ...

A chunk is columnar: the input's own columns (`{"id": [...], "document": [...]}`; for plain
text, the line number and the text) plus the texts to score. Formats: `.txt` (one text per line,
or a TSV with a header naming the column, as the NSMC release files are), `.tsv`, `.csv`,
`.jsonl`, `.parquet`; `-` is standard input. Every malformed row fails with its file and line.
"""

from __future__ import annotations

import csv
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kit.errors import DataError

FORMATS = ("auto", "lines", "tsv", "csv", "jsonl", "parquet")
EXTENSIONS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet", ".txt": "lines"}

Chunk = tuple[dict[str, list], list[str]]


@dataclass
class InputSpec:
    """What to read: a path (or "-" for stdin), its format and the column holding the text."""

    path: str
    format: str = "auto"
    column: str = "document"

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == "-" else self.path


def resolve_format(spec: InputSpec) -> str:
    """The format to read: as given, else by extension; a `.txt` or stdin whose header line is
    tab-separated and names the column is a TSV (the NSMC release's own files)."""
    if spec.format not in FORMATS:
        raise DataError(f"format {spec.format!r}: choose from {', '.join(FORMATS)}")
    if spec.format != "auto":
        return spec.format
    if spec.path != "-":
        suffix = Path(spec.path).suffix.lower()
        if suffix not in EXTENSIONS:
            known = ", ".join(EXTENSIONS)
            raise DataError(f"{spec.path}: unknown extension {suffix!r}; use one of {known} or --format")
        if EXTENSIONS[suffix] != "lines":
            return EXTENSIONS[suffix]
    return "sniff"


class Reader:
    """Chunks of one input; `total` is the row count where the format knows it up front (parquet)."""

    def __init__(self, spec: InputSpec):
        self.spec = spec
        self.format = resolve_format(spec)
        self.total: int | None = None
        if spec.path != "-" and not Path(spec.path).is_file():
            raise DataError(f"{spec.path}: no such file")
        if self.format == "parquet":
            self.total = _parquet_file(spec.path).metadata.num_rows

    def chunks(self, size: int) -> Iterator[Chunk]:
        rows = 0
        for chunk in self._chunks(size):
            rows += len(chunk[1])
            yield chunk
        if rows == 0:
            raise DataError(f"{self.spec.name}: no rows to score (the file is empty)")

    def _chunks(self, size: int) -> Iterator[Chunk]:
        if self.format == "parquet":
            yield from _parquet_chunks(self.spec, size)
            return
        with self._text_stream() as stream:
            fmt = self.format
            if fmt == "sniff":
                header = stream.readline()
                fmt = _sniff(header, self.spec.column)
                stream = itertools.chain([header] if header else [], stream)
            yield from _TEXT_READERS[fmt](stream, self.spec, size)

    def resolved_format(self) -> str:
        """The format, a `.txt` sniffed from its first line (not for stdin, which cannot be read twice)."""
        if self.format != "sniff":
            return self.format
        with self._text_stream() as stream:
            return _sniff(stream.readline(), self.spec.column)

    def _text_stream(self):
        raw = sys.stdin.buffer if self.spec.path == "-" else open(self.spec.path, "rb")
        return _Utf8Lines(raw, self.spec.name)


class _Utf8Lines:
    """Decodes line by line, so undecodable bytes are reported with their line number."""

    def __init__(self, raw, name: str):
        self.raw, self.name, self.line = raw, name, 0

    def __enter__(self):
        return self

    def readline(self) -> str:
        data = self.raw.readline()
        if data:
            self.line += 1
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"{self.name}:{self.line}: not UTF-8 text ({e.reason} at byte {e.start})") from e

    def __iter__(self):
        return iter(self.readline, "")

    def __exit__(self, *exc):
        if self.raw is not sys.stdin.buffer:
            self.raw.close()


def _sniff(header: str, column: str) -> str:
    return "tsv" if column in header.rstrip("\r\n").split("\t") else "lines"


def missing_column(where: str, column: str, columns: list[str]) -> DataError:
    return DataError(f"{where}: no column {column!r} (columns: {', '.join(columns)}); use --column")


def _batched(rows: Iterator[tuple[dict, str]], size: int) -> Iterator[Chunk]:
    columns: dict[str, list] = {}
    texts: list[str] = []
    for row, text in rows:
        for key, value in row.items():
            columns.setdefault(key, []).append(value)
        texts.append(text)
        if len(texts) == size:
            yield columns, texts
            columns, texts = {}, []
    if texts:
        yield columns, texts


def _lines(stream, spec: InputSpec, size: int) -> Iterator[Chunk]:
    def rows():
        for number, line in enumerate(stream, 1):
            text = line.rstrip("\r\n")
            yield {"line": number, "text": text}, text

    yield from _batched(rows(), size)


def _delimited(delimiter: str):
    def read(stream, spec: InputSpec, size: int) -> Iterator[Chunk]:
        reader = csv.reader(stream, delimiter=delimiter, quotechar='"', strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            if spec.column not in header:
                raise missing_column(f"{spec.name}:1", spec.column, header)
            at = header.index(spec.column)

            def rows():
                for row in reader:
                    if len(row) != len(header):
                        raise DataError(f"{spec.name}:{reader.line_num}: expected {len(header)} fields, got {len(row)}")
                    yield dict(zip(header, row)), row[at]

            yield from _batched(rows(), size)
        except csv.Error as e:
            raise DataError(f"{spec.name}:{reader.line_num}: {e}") from e

    return read


def _jsonl(stream, spec: InputSpec, size: int) -> Iterator[Chunk]:
    def rows():
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{spec.name}:{number}: not valid JSON ({e.msg})") from e
            if not isinstance(row, dict):
                raise DataError(f"{spec.name}:{number}: expected a JSON object, got {type(row).__name__}")
            if not isinstance(row.get(spec.column), str):
                found = "missing" if spec.column not in row else f"a {type(row[spec.column]).__name__}"
                raise DataError(f"{spec.name}:{number}: field {spec.column!r} is {found}, expected a string")
            yield row, row[spec.column]

    yield from _batched(rows(), size)


_TEXT_READERS = {"lines": _lines, "tsv": _delimited("\t"), "csv": _delimited(","), "jsonl": _jsonl}


def _parquet_file(path: str):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for files that are not parquet
        raise DataError(f"{path}: not a readable parquet file ({str(e).splitlines()[0]})") from e


def _parquet_chunks(spec: InputSpec, size: int) -> Iterator[Chunk]:
    parquet = _parquet_file(spec.path)
    names = parquet.schema_arrow.names
    if spec.column not in names:
        raise missing_column(spec.path, spec.column, names)
    offset = 0
    for batch in parquet.iter_batches(batch_size=size):
        columns = batch.to_pydict()
        texts = columns[spec.column]
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise DataError(f"{spec.path}: row {offset + bad + 1}: column {spec.column!r} is not a string")
        offset += len(texts)
        yield columns, texts


def open_reader(path: str, column: str = "document", format: str = "auto") -> Reader:
    return Reader(InputSpec(path, format, column))
