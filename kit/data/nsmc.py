"""NSMC loading: the release's two TSV files, from a local folder or downloaded once.

    splits = load_nsmc(DataConfig(data_dir="../shared/data/nsmc", limit=2000))
    splits.train.texts[0], splits.train.labels[0]

The release was written by pandas, so quoted documents (623 train rows contain a
double quote) must be read by a real CSV reader. Empty documents (5 train,
3 test) are real rows: they are kept as "" and counted in `NsmcSplits.empty`.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.data.cache import cache_root
from kit.errors import DataError, first_line
from kit.settings import setting

FILES = {"train": "ratings_train.txt", "test": "ratings_test.txt"}
HEADER = ["id", "document", "label"]
DEFAULT_URL = "https://raw.githubusercontent.com/e9t/nsmc/master"
LABEL_NAMES = ("negative", "positive")


def data_dir_setting(
    help: str = "Folder with ratings_train.txt and ratings_test.txt. Unset: download the release (cached).",
):
    """Where NSMC lies, NSMC_DATA_DIR its environment default (every command that reads it)."""
    return setting(None, help, envvar="NSMC_DATA_DIR")


def texts_file_setting(help: str = "One text per line.  [default: NSMC test reviews]"):
    return setting(None, help)


@dataclass
class DataConfig:
    """Where NSMC comes from and how much of it to use."""

    data_dir: str | None = data_dir_setting()
    val_ratio: float = setting(
        0.2, "Share of the train file held out for validation (seeded).", min=0, max=1, max_open=True
    )
    limit: int | None = setting(
        None,
        "For quick runs: cap each split (train, validation, test) at this many rows, a seeded sample; "
        "finetune --limit 500 trains on 500 reviews and evaluates on 500 + 500.",
        min=1,
    )
    seed: int = setting(42, "Seed for splits, shuffling and init.")
    url: str = field(default_factory=lambda: os.environ.get("NSMC_URL", DEFAULT_URL))


@dataclass
class Split:
    """One split: parallel ids, texts and 0/1 labels."""

    ids: list[str]
    texts: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray) -> Split:
        return Split([self.ids[i] for i in index], [self.texts[i] for i in index], self.labels[index])


@dataclass
class NsmcSplits:
    train: Split
    val: Split
    test: Split
    source: dict[str, str]  # release split (train/test) -> path it was read from
    empty: dict[str, int]  # release file -> empty documents kept as ""

    def describe(self) -> str:
        sizes = ", ".join(f"{n} {len(getattr(self, n)):,}" for n in ("train", "val", "test") if len(getattr(self, n)))
        empties = ", ".join(f"{n} {c}" for n, c in self.empty.items())
        return f"NSMC: {sizes} rows (empty documents kept as '': {empties})"


def read_nsmc_file(path: str | Path) -> Split:
    """Read one release file, checking header, row shape and labels with line numbers."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    ids: list[str] = []
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
                ids.append(row[0])
                texts.append(row[1])
                labels.append(int(row[2]))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: {e}") from e
    if not texts:
        raise DataError(f"{path}: no rows after the header")
    return Split(ids, texts, np.asarray(labels, dtype=np.int64))


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


def _paths(config: DataConfig, splits: tuple[str, ...]) -> dict[str, Path]:
    if not config.data_dir:
        return download_nsmc(config.url, splits)
    folder = Path(config.data_dir)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (expected {' and '.join(FILES[s] for s in splits)} in it)")
    return {split: folder / FILES[split] for split in splits}


def load_test_texts(config: DataConfig) -> tuple[str, ...]:
    """The test reviews alone: only ratings_test.txt is read or fetched."""
    return tuple(read_nsmc_file(_paths(config, ("test",))["test"]).texts)


def sample_reviews() -> list[str]:
    """The reviews shipped with the kit (kit/data/sample_reviews.txt): real text where no NSMC copy is given."""
    from importlib import resources

    return resources.files("kit.data").joinpath("sample_reviews.txt").read_text(encoding="utf-8").splitlines()


def head_reviews(data_dir: str | None, split: str, rows: int) -> tuple[list[str], str]:
    """The first `rows` reviews of a release file (a seeded shuffle, so its head is a random sample) where a
    local copy is given, else of the sample shipped with the kit; and where they came from."""
    path = Path(data_dir) / FILES[split] if data_dir else None
    if path is not None and path.is_file():
        texts, source = read_nsmc_file(path).texts[:rows], str(path)
    else:
        texts, source = sample_reviews()[:rows], "kit/sample_reviews.txt"
    return texts, f"{len(texts)} reviews from {source}"


def read_texts(path: str | Path) -> tuple[str, ...]:
    """A file of one text per line (blank lines skipped)."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: no texts")
    return tuple(lines)


def request_texts(texts_file: str | None, data_dir: str | None) -> tuple[str, ...]:
    """What load tests and tuning send: the lines of `texts_file`, else the NSMC test reviews."""
    return read_texts(texts_file) if texts_file else load_test_texts(DataConfig(data_dir=data_dir))


def load_nsmc(config: DataConfig) -> NsmcSplits:
    """Load train/test, carve a seeded validation split from train, apply `limit`."""
    if not 0 <= config.val_ratio < 1:
        raise DataError(f"val_ratio must be in [0, 1), got {config.val_ratio}")
    paths = _paths(config, tuple(FILES))
    train = read_nsmc_file(paths["train"])
    test = read_nsmc_file(paths["test"])
    empty = {FILES["train"]: train.texts.count(""), FILES["test"]: test.texts.count("")}

    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(train))
    n_val = round(len(train) * config.val_ratio)
    val, train = train.take(np.sort(order[:n_val])), train.take(np.sort(order[n_val:]))
    splits = {"train": train, "val": val, "test": test}
    if config.limit is not None:
        if config.limit < 1:
            raise DataError(f"limit must be a positive number of rows, got {config.limit}")
        for name, split in splits.items():
            if len(split) > config.limit:
                splits[name] = split.take(np.sort(rng.choice(len(split), config.limit, replace=False)))
    return NsmcSplits(**splits, source={split: str(path) for split, path in paths.items()}, empty=empty)
