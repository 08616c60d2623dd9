"""The NSMC release: its two TSV files, from a local folder or downloaded once (`kit.data.splits` turns
them into a task's splits, as it does your own files).

    texts, labels = read_nsmc_file("../shared/data/nsmc/ratings_test.txt")

The release was written by pandas, so quoted documents (623 train rows contain a
double quote) must be read by a real CSV reader. Empty documents (5 train,
3 test) are real rows: they are kept as "" and counted in `Splits.empty`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np

from kit.data.cache import cache_root
from kit.errors import DataError, first_line
from kit.settings import setting

FILES = {"train": "ratings_train.txt", "test": "ratings_test.txt"}
HEADER = ["id", "document", "label"]
DEFAULT_URL = "https://raw.githubusercontent.com/e9t/nsmc/master"
LABEL_NAMES = ("negative", "positive")


def texts_file_setting(help: str = "One text per line.  [default: NSMC test reviews]"):
    return setting(None, help)


class NsmcFile(NamedTuple):
    """One release file: texts and their 0/1 labels."""

    texts: list[str]
    labels: np.ndarray


def read_nsmc_file(path: str | Path) -> NsmcFile:
    """Read one release file, checking header, row shape and labels with line numbers."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    texts: list[str] = []
    labels: list[int] = []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f, delimiter="\t", quotechar='"', strict=True)
            header = next(reader, None)
            if header != HEADER:
                raise DataError(f"{path}:1: header is {header!r}, expected {HEADER!r} (tab-separated)")
            for row in reader:
                line = reader.line_num
                if len(row) != 3:
                    raise DataError(f"{path}:{line}: expected 3 tab-separated fields, got {len(row)}")
                if row[2] not in ("0", "1"):
                    raise DataError(f"{path}:{line}: label {row[2]!r} is not 0 or 1")
                texts.append(row[1])
                labels.append(int(row[2]))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: {e}") from e
    if not texts:
        raise DataError(f"{path}: no rows after the header")
    return NsmcFile(texts, np.asarray(labels, dtype=np.int64))


def download_nsmc(url: str = DEFAULT_URL, splits: tuple[str, ...] = tuple(FILES)) -> dict[str, Path]:
    """Fetch release files through `datasets`' download cache; return split -> local path."""
    from datasets.utils.file_utils import cached_path

    paths = {}
    for split in splits:
        name = FILES[split]
        try:
            paths[split] = Path(cached_path(f"{url}/{name}", cache_dir=str(cache_root() / "downloads")))
        except Exception as e:  # offline mode, DNS, HTTP errors: all mean "use local files"
            import datasets.config

            offline = "offline mode is set (HF_HUB_OFFLINE)" if datasets.config.HF_HUB_OFFLINE else None
            why = offline or first_line(e) or type(e).__name__
            raise DataError(
                f"could not download {url}/{name}: {why}; without internet, point --data-dir (or NSMC_DATA_DIR) "
                f"at a folder holding {' and '.join(FILES[s] for s in splits)}"
            ) from e
    return paths


def nsmc_paths(data_dir: str | None, url: str = DEFAULT_URL, splits: tuple[str, ...] = tuple(FILES)) -> dict[str, Path]:
    """Release split -> its file: in `data_dir`, else downloaded (cached)."""
    if not data_dir:
        return download_nsmc(url, splits)
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (expected {' and '.join(FILES[s] for s in splits)} in it)")
    return {split: folder / FILES[split] for split in splits}


def load_test_texts(data_dir: str | None) -> tuple[str, ...]:
    """The test reviews alone: only ratings_test.txt is read or fetched."""
    return tuple(read_nsmc_file(nsmc_paths(data_dir, splits=("test",))["test"]).texts)


def sample_reviews() -> list[str]:
    """The reviews shipped with the kit (kit/data/sample_reviews.txt): real text where no NSMC copy is given."""
    from importlib import resources

    return resources.files("kit.data").joinpath("sample_reviews.txt").read_text(encoding="utf-8").splitlines()


def read_texts(path: str | Path) -> tuple[str, ...]:
    """A file of one text per line (blank lines skipped)."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: no texts")
    return tuple(lines)


def request_texts(texts_file: str | None, data_dir: str | None) -> tuple[str, ...]:
    """What load tests and tuning send: the lines of `texts_file`, else the NSMC test reviews."""
    return read_texts(texts_file) if texts_file else load_test_texts(data_dir)
