"""Input files (`nsmckit predict`'s texts, and the labeled files a task is trained and judged on), read in
bounded chunks so memory does not grow with the file.

    reader = open_reader("reviews.tsv", column="document")
    reader.fields                # every field of the input, known before the first chunk
    for columns, texts in reader.chunks(10_000): ...

A chunk is columnar, `{"id": [...], "document": [...]}` (for plain text, the line number and the
text), and every chunk carries every field in `reader.fields`: a field that some rows lack is
None there, never shifted onto other rows. `reader.kinds` says what each field holds (int,
float, bool, str, or json for nested and mixed values), so writers can fix a schema up front.
Formats: `.txt` (one text per line, or a TSV with a header naming the column, as the NSMC
release files are), `.tsv`, `.csv`, `.jsonl`, `.parquet`; `-` is standard input. Every
malformed row fails with its file and line.
"""

from __future__ import annotations

import csv
import itertools
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kit.errors import DataError

FORMATS = ("auto", "lines", "tsv", "csv", "jsonl", "parquet")
EXTENSIONS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet", ".txt": "lines"}
BOM = "\ufeff"
MAX_LINE_BYTES = 64 << 20  # one line of an input file: memory follows the longest line
MAX_FIELDS = 1024  # distinct JSONL fields: every row carries every field, so the output grows with their square

Chunk = tuple[dict[str, list], list[str]]
Row = tuple[dict, str, int]  # the row's fields, its text, the line it ends on
CHUNK_ROWS = 10_000  # rows per parquet batch when reading row by row
ROW = "\0row"  # the row number carried through a parquet chunk (a name no column has)


@dataclass
class InputSpec:
    """What to read: a path (or "-" for stdin), its format and the column holding the text."""

    path: str
    format: str = "auto"
    column: str = "document"
    option: str = "--column"  # the option that names the column, for the error that it is missing
    max_fields: int = MAX_FIELDS  # JSONL: the most distinct fields across rows

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


def kind_of(types: set[type]) -> str:
    """What a field holds across rows, from the Python types of its values, for a writer's schema:
    int, float, bool, str, or json (nested, or a mix a typed column cannot hold, written as JSON text).
    None values don't count."""
    seen = types - {type(None)}
    if not seen:
        return "str"
    if seen <= {int}:
        return "int"
    if seen <= {int, float}:
        return "float"
    if seen in ({bool}, {str}):
        return seen.pop().__name__
    return "json"


class Reader:
    """Chunks of one input; `fields` and `kinds` are known up front, `total` (rows) where the format
    says it (parquet) or the scan counted it (jsonl). Standard input is first copied to a temporary
    file, so it can be read twice like any file (a header or a scan, then the rows)."""

    def __init__(self, spec: InputSpec):
        self.spec = spec
        self.format = resolve_format(spec)
        self.total: int | None = None
        if spec.path == "-" and sys.stdin is None:
            raise DataError("standard input is closed; give --input a file")
        if spec.path != "-" and not Path(spec.path).is_file():
            raise DataError(f"{spec.path}: no such file")
        self._spool = _spool_stdin() if spec.path == "-" else None
        if self.format == "sniff":
            with self._text_stream() as stream:
                self.format = _sniff(stream.readline(), spec.column)
        self.fields, self.kinds = self._schema()

    @property
    def source(self) -> str:
        """The file to read: the input itself, or standard input's copy."""
        return self._spool.name if self._spool else self.spec.path

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
            yield from _batched(_ROW_READERS[self.format](stream, self.spec), size, self.fields)

    def records(self) -> Iterator[tuple[str, dict]]:
        """Every row with where it is ("file:line", or "file: row N" for parquet), for readers that check
        values row by row (a labeled file's labels)."""
        if self.format == "parquet":
            for columns, _ in _parquet_chunks(self.spec, CHUNK_ROWS, numbered=True):
                for row in (dict(zip(columns, values)) for values in zip(*columns.values())):
                    yield f"{self.spec.name}: row {row.pop(ROW)}", row
            return
        with self._text_stream() as stream:
            for row, _, line in _ROW_READERS[self.format](stream, self.spec):
                yield f"{self.spec.name}:{line}", row

    def _schema(self) -> tuple[list[str], dict[str, str]]:
        if self.format == "parquet":
            return _parquet_schema(self.spec)
        if self.format == "jsonl":
            return self._scan_jsonl()
        with self._text_stream() as stream:
            return _header_schema(self.format, stream.readline(), self.spec)

    def _scan_jsonl(self) -> tuple[list[str], dict[str, str]]:
        """One pass over the file before any scoring: every field (first-seen order) and its kind, and
        every malformed line found now rather than after hours of scoring."""
        types: dict[str, set[type]] = {}
        rows = 0
        with self._text_stream() as stream:
            for row, _, line in _jsonl_rows(stream, self.spec):
                rows += 1
                for key, value in row.items():
                    types.setdefault(key, set()).add(type(value))
                if len(types) > self.spec.max_fields:
                    raise DataError(
                        f"{self.spec.name}:{line}: field {list(types)[-1]!r} is distinct field number {len(types):,} "
                        f"(at most {self.spec.max_fields:,}: every output row carries every field); nest varying "
                        "fields in one object, or raise --max-columns"
                    )
        self.total = rows
        return list(types), {key: kind_of(seen) for key, seen in types.items()}

    def _text_stream(self):
        return _Utf8Lines(open(self.source, "rb"), self.spec.name)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def _spool_stdin():
    spool = tempfile.NamedTemporaryFile(prefix="nsmckit-stdin-")
    shutil.copyfileobj(sys.stdin.buffer, spool)
    spool.flush()
    return spool


class _Utf8Lines:
    """Decodes line by line, so undecodable bytes are reported with their line number; drops a UTF-8
    byte-order mark at the start (spreadsheet exports write one). One line-ending rule for every reader and
    both engines: LF or CRLF; a bare CR (old Mac, some spreadsheet exports) would merge rows here and split
    them in another reader, so it is refused with its line (the Ray engine's driver reads every row through
    this first)."""

    def __init__(self, raw, name: str):
        self.raw, self.name, self.line = raw, name, 0

    def __enter__(self):
        return self

    def readline(self) -> str:
        data = self.raw.readline(MAX_LINE_BYTES + 1)  # a huge line is refused, not held in memory whole
        if data:
            self.line += 1
        if len(data) > MAX_LINE_BYTES:
            raise DataError(
                f"{self.name}:{self.line}: a line of more than {MAX_LINE_BYTES >> 20} MiB, longer than the kit reads "
                "(a text is cut to a few thousand characters before tokenizing anyway); split or shorten it"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"{self.name}:{self.line}: not UTF-8 text ({e.reason} at byte {e.start})") from e
        if "\r" in text.rstrip("\n").removesuffix("\r"):
            raise DataError(
                f"{self.name}:{self.line}: a bare carriage return (CR) ends a line here, which would merge rows; "
                "save the file with LF or CRLF line endings"
            )
        return text.removeprefix(BOM) if self.line == 1 else text

    def __iter__(self):
        return iter(self.readline, "")

    def __exit__(self, *exc):
        self.raw.close()


def _sniff(header: str, column: str) -> str:
    return "tsv" if column in header.rstrip("\r\n").split("\t") else "lines"


def _header_schema(fmt: str, header: str, spec: InputSpec) -> tuple[list[str], dict[str, str]]:
    """Fields of a format whose first line says them (a header), or that has fixed ones (lines)."""
    if fmt == "lines":
        return ["line", "text"], {"line": "int", "text": "str"}
    try:
        fields = next(csv.reader([header], delimiter=_DELIMITERS[fmt], quotechar='"', strict=True), [])
    except csv.Error as e:
        raise DataError(f"{spec.name}:1: {e}") from e
    if spec.column not in fields and header.strip():
        raise missing_column(f"{spec.name}:1", spec.column, fields, spec.option)
    return fields, dict.fromkeys(fields, "str")


def missing_column(where: str, column: str, columns: list[str], option: str = "--column") -> DataError:
    return DataError(f"{where}: no column {column!r} (columns: {', '.join(columns)}); use {option}")


def _batched(rows: Iterator[Row], size: int, fields: list[str]) -> Iterator[Chunk]:
    """Rows into chunks with every field: a field a row lacks is None in that row, never shifted."""
    for batch in iter(lambda: list(itertools.islice(rows, size)), []):
        columns = {name: [row.get(name) for row, _, _ in batch] for name in fields}
        yield columns, [text for _, text, _ in batch]


def _lines(stream, spec: InputSpec) -> Iterator[Row]:
    for number, line in enumerate(stream, 1):
        text = line.rstrip("\r\n")
        yield {"line": number, "text": text}, text, number


_DELIMITERS = {"tsv": "\t", "csv": ","}


def _delimited(fmt: str):
    def rows(stream, spec: InputSpec) -> Iterator[Row]:
        reader = csv.reader(stream, delimiter=_DELIMITERS[fmt], quotechar='"', strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            at = header.index(spec.column)
            for row in reader:
                if len(row) != len(header):
                    raise DataError(f"{spec.name}:{reader.line_num}: expected {len(header)} fields, got {len(row)}")
                yield dict(zip(header, row)), row[at], reader.line_num
        except csv.Error as e:
            raise DataError(f"{spec.name}:{reader.line_num}: {e}") from e

    return rows


def _jsonl_rows(stream, spec: InputSpec) -> Iterator[Row]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{spec.name}:{number}: not valid JSON ({e.msg})") from e
        except RecursionError as e:
            raise DataError(f"{spec.name}:{number}: JSON nested too deeply to read") from e
        if not isinstance(row, dict):
            raise DataError(f"{spec.name}:{number}: expected a JSON object, got {type(row).__name__}")
        if not isinstance(row.get(spec.column), str):
            found = "missing" if spec.column not in row else f"a {type(row[spec.column]).__name__}"
            raise DataError(f"{spec.name}:{number}: field {spec.column!r} is {found}, expected a string")
        for key, value in row.items():  # JSON can hold a lone surrogate ("\ud800"), which no text can be
            if isinstance(value, str) and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as e:
                    raise DataError(f"{spec.name}:{number}: field {key!r} holds a lone surrogate ({e.reason})") from e
        yield row, row[spec.column], number


_ROW_READERS = {"lines": _lines, "tsv": _delimited("tsv"), "csv": _delimited("csv"), "jsonl": _jsonl_rows}


def _parquet_file(path: str):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for files that are not parquet
        raise DataError(f"{path}: not a readable parquet file ({str(e).splitlines()[0]})") from e


def _arrow_kind(arrow_type) -> str:
    import pyarrow.types as pt

    if pt.is_integer(arrow_type):
        return "int"
    if pt.is_floating(arrow_type):
        return "float"
    if pt.is_boolean(arrow_type):
        return "bool"
    return "str" if pt.is_string(arrow_type) or pt.is_large_string(arrow_type) else "json"


def _parquet_schema(spec: InputSpec) -> tuple[list[str], dict[str, str]]:
    schema = _parquet_file(spec.path).schema_arrow
    if spec.column not in schema.names:
        raise missing_column(spec.path, spec.column, schema.names, spec.option)
    return schema.names, {field.name: _arrow_kind(field.type) for field in schema}


def _parquet_chunks(spec: InputSpec, size: int, numbered: bool = False) -> Iterator[Chunk]:
    offset = 0
    for batch in _parquet_file(spec.path).iter_batches(batch_size=size):
        columns = batch.to_pydict()
        texts = columns[spec.column]
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise DataError(f"{spec.path}: row {offset + bad + 1}: column {spec.column!r} is not a string")
        if numbered:
            columns[ROW] = list(range(offset + 1, offset + len(texts) + 1))
        offset += len(texts)
        yield columns, texts


def open_reader(
    path: str, column: str = "document", format: str = "auto", option: str = "--column", max_fields: int = MAX_FIELDS
) -> Reader:
    return Reader(InputSpec(path, format, column, option, max_fields))
