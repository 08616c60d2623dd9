"""Token-length statistics and what each batching strategy would compute (`nsmckit data`).

Answers the notebook's question before any training: how much of a padded batch is
real text? Padding efficiency = real tokens / computed positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rich.table import Table

from kit.batching import STRATEGIES, plan_batches
from kit.data.encoding import encode
from kit.data.splits import DataConfig, load_splits
from kit.settings import setting
from kit.tables import titled_table

PERCENTILES = (50, 90, 95, 99)


@dataclass
class LengthsConfig:
    """What `nsmckit data` measures: the training and test data (NSMC's release files by default), untruncated."""

    data: DataConfig = field(default_factory=lambda: DataConfig(val_ratio=0.0))
    batch_size: int = setting(32, "Batch size for the efficiency figures.", min=1)
    max_lengths: tuple[int, ...] = setting(
        (128, 512),
        "Pad length(s) for the fixed strategy; the largest also truncates. Repeatable.",
        flag="--max-length",
        min=2,
        multiple=True,
    )
    plot: str | None = setting(None, "Write a token-length histogram (PNG).")


def length_report(tokenizer, config: LengthsConfig) -> tuple[str, list[LengthStats]]:
    """(where the data came from, statistics per split); the histogram too, with `plot`. Lengths are
    measured untruncated (the tokenizer's limit), so the statistics describe the data itself."""
    data = config.data
    with_test = data.kind == "nsmc" or bool(data.test_file or data.dataset)
    splits = load_splits(data, need=("train", "test") if with_test else ("train",))
    max_lengths = tuple(sorted(config.max_lengths))
    lengths = {
        name: encode(tokenizer, getattr(splits, name).texts, tokenizer.model_max_length, progress=True).lengths
        for name in ("train", "test")
        if len(getattr(splits, name))
    }
    if config.plot:
        plot_histogram(lengths, config.plot, max_lengths[0])
    stats = [LengthStats.of(n, v, config.batch_size, max_lengths, config.data.seed) for n, v in lengths.items()]
    return splits.describe(), stats


@dataclass
class LengthStats:
    split: str
    rows: int
    mean: float
    percentiles: dict[str, float]
    max: int
    real_tokens: int
    efficiency: dict[str, float]  # strategy label -> padding efficiency

    @classmethod
    def of(cls, split: str, lengths: np.ndarray, batch_size: int, max_lengths: tuple[int, ...], seed: int = 0):
        efficiency = {}
        for strategy in STRATEGIES:
            # fixed depends on the pad length; the others only on the truncation length (the largest)
            for max_length in max_lengths if strategy == "fixed" else max_lengths[-1:]:
                label = f"fixed-{max_length}" if strategy == "fixed" else strategy
                clipped = np.minimum(lengths, max_length)
                plan = plan_batches(
                    clipped, batch_size, strategy, max_length, shuffle=True, rng=np.random.default_rng(seed)
                )
                efficiency[label] = plan.padding_efficiency(clipped)
        return cls(
            split,
            len(lengths),
            float(lengths.mean()),
            {f"p{q}": float(np.percentile(lengths, q)) for q in PERCENTILES},
            int(lengths.max()),
            int(lengths.sum()),
            efficiency,
        )


def plot_histogram(lengths: dict[str, np.ndarray], path: str, max_length: int | None = None) -> None:
    """Token-length histogram per split, with the pad length the notebooks used."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    top = int(max(v.max() for v in lengths.values()))
    bins = np.arange(0, top + 2)
    for name, values in lengths.items():
        ax.hist(values, bins=bins, alpha=0.6, label=f"{name} (mean {values.mean():.1f})")
    if max_length:
        ax.axvline(max_length, color="k", linestyle="--", label=f"pad to {max_length}")
    ax.set_xlabel("tokens per review (with [CLS]/[SEP])")
    ax.set_ylabel("reviews")
    ax.set_title("NSMC token lengths")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def length_table(stats: list[LengthStats], batch_size: int) -> Table:
    """One column per split, so the table stays narrow however many strategies there are."""
    table = titled_table(f"Token lengths; padding efficiency at batch size {batch_size}")
    table.add_column("")
    for s in stats:
        table.add_column(s.split, justify="right")
    rows = [("rows", lambda s: f"{s.rows:,}"), ("mean tokens", lambda s: f"{s.mean:.2f}")]
    rows += [(name, lambda s, name=name: f"{s.percentiles[name]:g}") for name in stats[0].percentiles]
    rows += [("max", lambda s: str(s.max)), ("real tokens", lambda s: f"{s.real_tokens:,}")]
    rows += [
        (f"efficiency {label}", lambda s, label=label: f"{s.efficiency[label]:.3f}") for label in stats[0].efficiency
    ]
    for name, cell in rows:
        table.add_row(name, *(cell(s) for s in stats))
    return table
