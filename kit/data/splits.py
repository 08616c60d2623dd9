"""Where a task's data comes from: train / validation / test splits of texts and label ids, whatever the
source.

    splits = load_splits(DataConfig(train_file="reviews.csv", text_column="review", label_column="stars"))
    splits.labels.names, splits.train.texts[0], splits.train.labels[0]

Three sources, one result:
- the NSMC release (the default: `--data-dir`, else the download), labels 0/1 named negative/positive;
- labeled files (`--train-file`, `--validation-file`, `--test-file`: csv, tsv, jsonl, parquet, or an
  NSMC-style .txt), read through `kit.data.readers`, so every bad row is reported with its file and line;
- a `datasets` dataset (`--dataset`: a folder saved with `save_to_disk`, or a hub id from the local cache
  when offline), its ClassLabel names kept.

The label set and its order come from the training split (`kit.data.labels`); a command that evaluates an
existing model maps the data's labels onto the model's own. Without a validation split, one is carved from
the training split (seeded; stratified for your own data) and `describe()` says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.data.labels import LabelSet, label_key
from kit.data.nsmc import DEFAULT_URL, LABEL_NAMES, nsmc_paths, read_nsmc_file
from kit.errors import DataError
from kit.manifest import sha256_file
from kit.settings import setting

SPLITS = ("train", "val", "test")
DATASET_SPLITS = {"train": ("train",), "val": ("validation", "valid", "dev"), "test": ("test",)}


def data_dir_setting(
    help: str = "Folder with NSMC's ratings_train.txt and ratings_test.txt. Unset (and no --train-file or "
    "--dataset): download the release (cached).",
):
    """Where NSMC lies, NSMC_DATA_DIR its environment default (every command that reads it)."""
    return setting(None, help, envvar="NSMC_DATA_DIR")


@dataclass
class DataConfig:
    """Where the data comes from and how much of it to use: NSMC by default, or your own files or dataset."""

    data_dir: str | None = data_dir_setting()
    train_file: str | None = setting(None, "Your own training data: csv, tsv, jsonl, parquet (or .txt with a header).")
    validation_file: str | None = setting(None, "Your own validation data.  [default: carved from the training data]")
    test_file: str | None = setting(None, "Your own test data (what accuracy is reported on, and exports judged on).")
    dataset: str | None = setting(
        None, "A `datasets` dataset: a folder saved with save_to_disk, or a hub id (from the cache when offline)."
    )
    text_column: str = setting("document", "Column holding the text (your own files or dataset).")
    label_column: str = setting("label", "Column holding the label: integers or strings.")
    labels: tuple[str, ...] = setting(
        (), "The label set in id order, comma-separated (e.g. neg,neu,pos).  [default: the training data's, sorted]"
    )
    val_ratio: float = setting(
        0.2,
        "Share of the training data held out for validation where no validation split is given (seeded).",
        min=0,
        max=1,
        max_open=True,
    )
    limit: int | None = setting(
        None,
        "For quick runs: cap each split (train, validation, test) at this many rows, a seeded sample; "
        "finetune --limit 500 trains on 500 reviews and evaluates on 500 + 500.",
        min=1,
    )
    seed: int = setting(42, "Seed for splits, shuffling and init.")
    url: str = field(default_factory=lambda: os.environ.get("NSMC_URL", DEFAULT_URL))

    @property
    def own_files(self) -> dict[str, str]:
        """The labeled files given, by split."""
        given = {"train": self.train_file, "val": self.validation_file, "test": self.test_file}
        return {split: path for split, path in given.items() if path}

    @property
    def kind(self) -> str:
        """nsmc, files or dataset (refusing a mix: one source per task)."""
        kinds = [k for k, given in (("files", self.own_files), ("dataset", self.dataset)) if given]
        if len(kinds) > 1:
            raise DataError("give your own files (--train-file, ...) or --dataset, not both")
        return kinds[0] if kinds else "nsmc"


@dataclass
class Split:
    """Parallel texts and label ids."""

    texts: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray) -> Split:
        return Split([self.texts[i] for i in index], self.labels[index])


@dataclass
class RawSplit:
    """A split as read: texts, label values as text, where each row is (for errors) and the source's record."""

    texts: list[str]
    keys: list[str]
    where: Callable[[int], str]
    source: dict
    names: dict[str, str] = field(default_factory=dict)  # label value -> the name its source gives it


@dataclass
class Splits:
    train: Split
    val: Split
    test: Split
    labels: LabelSet
    source: dict[str, dict]  # split -> where it came from (path and sha256, or dataset), rows
    notes: list[str] = field(default_factory=list)  # what was decided for the user (a carved validation split)
    empty: dict[str, int] = field(default_factory=dict)  # split as read (before carving) -> empty texts kept as ""

    def onto(self, model_names: list[str]) -> Splits:
        """The same rows with their labels on a model's outputs (`LabelSet.onto`), ids remapped."""
        labels = self.labels.onto(model_names)
        new_id = np.array([labels.keys.index(k) for k in self.labels.keys], dtype=np.int64)
        moved = {n: Split(s.texts, new_id[s.labels]) for n in SPLITS for s in [getattr(self, n)]}
        return Splits(**moved, labels=labels, source=self.source, notes=self.notes, empty=self.empty)

    def describe(self) -> str:
        sizes = ", ".join(f"{n} {len(getattr(self, n)):,}" for n in SPLITS if len(getattr(self, n)))
        kind = self.source.get("kind", "data")
        empties = ", ".join(f"{n} {c}" for n, c in self.empty.items() if c)
        extra = [f"labels {', '.join(self.labels.names)}", *self.notes]
        if empties:
            extra.append(f"empty texts kept as '': {empties}")
        return f"{kind}: {sizes} rows ({'; '.join(extra)})"


def _numbered(prefix: str, first: int) -> Callable[[int], str]:
    """Where row i is, for errors: `prefix` and its number counted from `first`."""
    return lambda i: f"{prefix}{i + first}"


def _file_record(path: str | Path, rows: int) -> dict:
    """Where a split was read from, as the task records it: the file, its sha256, its rows."""
    return {"path": str(Path(path).resolve()), "sha256": sha256_file(Path(path)), "rows": rows}


def read_labeled_file(path: str, text_column: str, label_column: str) -> RawSplit:
    """One labeled file, every row's text and label checked with its file and line."""
    from kit.data.readers import missing_column, open_reader

    reader = open_reader(path, column=text_column, option="--text-column")
    if reader.format == "lines":
        raise DataError(f"{path}: a labeled file needs a header naming its columns ({text_column}, {label_column})")
    try:
        if label_column not in reader.fields and reader.format != "jsonl":
            raise missing_column(f"{path}:1", label_column, reader.fields, "--label-column")
        texts, keys, wheres = [], [], []
        for where, row in reader.records():
            text = row.get(text_column)
            if not isinstance(text, str):
                raise DataError(f"{where}: column {text_column!r} is {'missing' if text is None else 'not text'}")
            texts.append(text)
            keys.append(label_key(row.get(label_column), where))
            wheres.append(where)
    finally:
        reader.close()
    if not texts:
        raise DataError(f"{path}: no rows after the header")
    return RawSplit(texts, keys, wheres.__getitem__, _file_record(path, len(texts)))


def _nsmc_raw(config: DataConfig, need: tuple[str, ...]) -> dict[str, RawSplit]:
    release = tuple(dict.fromkeys("test" if s == "test" else "train" for s in need))
    raw = {}
    for split, path in nsmc_paths(config.data_dir, config.url, release).items():
        texts, labels = read_nsmc_file(path)
        where = _numbered(f"{path}:", 2)  # the header is line 1: row i is on line i + 2
        record = _file_record(path, len(texts))
        raw[split] = RawSplit(texts, [str(v) for v in labels], where, record, dict(zip("01", LABEL_NAMES)))
    return raw


def _dataset_raw(config: DataConfig, need: tuple[str, ...]) -> dict[str, RawSplit]:
    """The dataset's splits by their usual names; ClassLabel features keep their names."""
    import datasets

    try:
        if (Path(config.dataset) / "dataset_dict.json").is_file():
            loaded = datasets.load_from_disk(config.dataset)
        else:
            loaded = datasets.load_dataset(config.dataset)
    except (FileNotFoundError, ValueError, ConnectionError) as e:
        raise DataError(f"--dataset {config.dataset}: cannot be loaded ({str(e).splitlines()[0]})") from e
    raw = {}
    for split in need:
        name = next((n for n in DATASET_SPLITS[split] if n in loaded), None)
        if name is None:
            continue
        part = loaded[name]
        for column in (config.text_column, config.label_column):
            if column not in part.column_names:
                columns = ", ".join(part.column_names)
                raise DataError(f"--dataset {config.dataset} [{name}]: no column {column!r} (columns: {columns})")
        feature = part.features[config.label_column]
        names = dict(enumerate(feature.names)) if isinstance(feature, datasets.ClassLabel) else {}
        where = _numbered(f"{config.dataset} [{name}] row ", 1)
        keys = [label_key(v, where(i)) for i, v in enumerate(part[config.label_column])]
        texts = part[config.text_column]
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise DataError(f"{where(bad)}: column {config.text_column!r} is not text")
        record = {"dataset": config.dataset, "split": name, "fingerprint": part._fingerprint, "rows": len(texts)}
        raw[split] = RawSplit(texts, keys, where, record, {str(i): n for i, n in names.items()})
    return raw


def _read(config: DataConfig, need: tuple[str, ...]) -> dict[str, RawSplit]:
    kind = config.kind
    if kind == "nsmc":
        return _nsmc_raw(config, need)
    if kind == "dataset":
        return _dataset_raw(config, need)
    files = config.own_files
    return {
        split: read_labeled_file(files[split], config.text_column, config.label_column)
        for split in need
        if split in files
    }


def _carve(train: Split, ratio: float, rng: np.random.Generator, stratified: bool) -> tuple[Split, Split]:
    """(train, validation): a seeded share of the rows held out, per label when `stratified`."""
    if stratified:
        held = [
            rows[: round(len(rows) * ratio)]
            for label in np.unique(train.labels)
            for rows in [rng.permutation(np.flatnonzero(train.labels == label))]
        ]
        val_rows = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    else:
        val_rows = np.sort(rng.permutation(len(train))[: round(len(train) * ratio)])
    keep = np.setdiff1d(np.arange(len(train)), val_rows)
    return train.take(keep), train.take(val_rows)


def load_splits(
    config: DataConfig,
    need: tuple[str, ...] = SPLITS,
    model_labels: list[str] | None = None,
    model_keys: list[str] | None = None,
) -> Splits:
    """The splits `need` names (others empty). The label set is the training split's (or, without one, the
    test's), mapped onto `model_labels` where an existing model is evaluated (by the label values its task
    recorded, `model_keys`, where it has them)."""
    if not 0 <= config.val_ratio < 1:
        raise DataError(f"val_ratio must be in [0, 1), got {config.val_ratio}")
    if config.limit is not None and config.limit < 1:
        raise DataError(f"limit must be a positive number of rows, got {config.limit}")
    kind = config.kind
    # NSMC: both release files, always, so a seeded sample of the test file is the same whatever else is asked
    wanted = set(need) | ({"train"} if "val" in need else set())
    read = ("train", "test") if kind == "nsmc" else tuple(s for s in SPLITS if s in wanted)
    raw = _read(config, read)
    missing = [s for s in need if s not in raw and not (s == "val" and "train" in raw)]
    if missing:
        flags = {"train": "--train-file", "val": "--validation-file", "test": "--test-file"}
        raise DataError(f"no {' or '.join(missing)} split: give {' and '.join(flags[s] for s in missing)}")

    basis = raw.get("train") or raw["test"]
    names = {k: n for part in raw.values() for k, n in part.names.items()}
    labels = LabelSet.from_values(basis.keys, config.labels, names)
    if model_labels is not None:
        labels = labels.onto(model_labels, model_keys)

    def ids(part: RawSplit) -> np.ndarray:
        return np.fromiter((labels.id_of(k, part.where(i)) for i, k in enumerate(part.keys)), np.int64, len(part.keys))

    splits = {name: Split(part.texts, ids(part)) for name, part in raw.items()}
    empty = {name: split.texts.count("") for name, split in splits.items()}
    rng = np.random.default_rng(config.seed)
    notes = []
    if "train" in splits and "val" not in splits:
        splits["train"], splits["val"] = _carve(splits["train"], config.val_ratio, rng, stratified=kind != "nsmc")
        if kind != "nsmc" and config.val_ratio:
            notes.append(f"validation: {config.val_ratio:.0%} of the training data, stratified, seed {config.seed}")
    if config.limit is not None:
        for name, split in ((n, splits[n]) for n in SPLITS if n in splits):
            if len(split) > config.limit:
                splits[name] = split.take(np.sort(rng.choice(len(split), config.limit, replace=False)))
    for name in SPLITS:
        if name not in need or name not in splits:
            splits[name] = Split([], np.zeros(0, np.int64))
    source = {"kind": "NSMC" if kind == "nsmc" else kind} | {
        name: part.source for name, part in raw.items() if name in need or name == "train" and "val" in need
    }
    return Splits(**splits, labels=labels, source=source, notes=notes, empty=empty)


def task_data(given: DataConfig, recorded: dict) -> DataConfig | None:
    """The data a later step (export, bench) judges a model on: the data given, else the data its task was
    trained on (`recorded`: a task's `data`, with its sources: the files, the dataset or NSMC's folder, where
    they still are), else None."""
    if given.kind != "nsmc" or given.data_dir:
        return given
    sources = recorded.get("sources", {})
    kind = sources.get("kind")
    paths = {s: Path(sources[s]["path"]) for s in SPLITS if "path" in sources.get(s, {})}
    columns = {k: recorded[k] for k in ("text_column", "label_column") if k in recorded}
    if kind == "files" and "test" in paths and all(p.is_file() for p in paths.values()):
        files = {"train": "train_file", "val": "validation_file", "test": "test_file"}
        return DataConfig(**{files[s]: str(p) for s, p in paths.items()}, **columns, seed=given.seed)
    if kind == "dataset" and "test" in sources:
        return DataConfig(dataset=sources["test"]["dataset"], **columns, seed=given.seed)
    if kind == "NSMC" and "test" in paths and paths["test"].is_file():
        return DataConfig(data_dir=str(paths["test"].parent), seed=given.seed)
    return None
