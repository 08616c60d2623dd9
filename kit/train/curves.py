"""Training curves from a run's log history: training loss per logging step, validation loss and
accuracy per evaluation. `nsmckit finetune` draws curves.png into every run folder;
`nsmckit runs compare A B` overlays two runs.

    curves = Curves.of_run("runs/nsmc"); plot_curves({"nsmc": curves}, "curves.png")
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import RunError
from kit.records import read_record

RUN_FILE = "run.json"
SERIES = {  # log-history key -> (panel, label)
    "loss": ("loss", "train loss"),
    "eval_loss": ("loss", "validation loss"),
    "eval_accuracy": ("accuracy", "validation accuracy"),
}


@dataclass
class Curves:
    """One (steps, values) series per logged metric."""

    series: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)

    @classmethod
    def of(cls, log_history: list[dict]) -> Curves:
        curves = cls()
        for entry in log_history:
            for key in SERIES:
                if key in entry and "step" in entry:
                    steps, values = curves.series.setdefault(key, ([], []))
                    steps.append(int(entry["step"]))
                    values.append(float(entry[key]))
        return curves

    @classmethod
    def of_record(cls, run: dict) -> Curves:
        """From a run.json's contents (a run written before curves were kept has no log history)."""
        return cls.of(run.get("log_history", []))

    @classmethod
    def of_run(cls, folder: str | Path) -> Curves:
        return cls.of_record(read_run(folder))


# what a reader of run.json relies on: section -> (its type, the keys it must hold)
RUN_SHAPE = {
    "config": (dict, ("model", "strategy")),
    "train": (dict, ("steps", "wall_s", "eval_s", "samples_per_s", "padding_efficiency", "precision")),
    "test": (dict, ()),
    "epochs": (list, ()),
    "data": (dict, ("train", "val", "test")),
}


def read_run(folder: str | Path) -> dict:
    """run.json, checked for what `runs compare` and the curves read: another file is one line naming it."""
    path = Path(folder) / RUN_FILE
    run = read_record(path, RunError, "is it a `nsmckit finetune` output folder?")
    for section, (kind, keys) in RUN_SHAPE.items():
        value = run.get(section) if isinstance(run, dict) else None
        missing = [k for k in keys if k not in value] if isinstance(value, kind) else None
        if missing is None or missing:
            what = f"its {section!r} lacks {', '.join(missing)}" if missing else f"no {section!r} {kind.__name__}"
            raise RunError(f"{path}: not a run.json of nsmckit finetune ({what})")
    return run


def plot_curves(runs: dict[str, Curves], path: str | Path) -> Path:
    """Loss panel and accuracy panel; one line per metric and run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = {"loss": axes[0], "accuracy": axes[1]}
    for run, curves in runs.items():
        prefix = f"{run}: " if len(runs) > 1 else ""
        for key, (steps, values) in curves.series.items():
            panel, label = SERIES[key]
            style = "-" if key == "loss" else "o-"
            panels[panel].plot(steps, values, style, label=prefix + label, markersize=4, linewidth=1.2)
    for name, ax in panels.items():
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(" vs ".join(runs) if len(runs) > 1 else f"training curves: {next(iter(runs))}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def compare_runs(folders: list[str], output: str | Path) -> dict[str, dict]:
    """The run records of `folders` by name (the folder's own name, the path where names collide), their
    curves overlaid in `output`."""
    names = [os.path.basename(os.path.normpath(f)) or f for f in folders]
    if len(set(names)) < len(names):
        names = list(folders)
    records = {name: read_run(folder) for name, folder in zip(names, folders)}
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    plot_curves({name: Curves.of_record(run) for name, run in records.items()}, output)
    return records
