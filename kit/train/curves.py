"""Training curves from a run's log history: training loss per logging step, validation loss and
accuracy per evaluation. `nsmckit finetune` draws curves.png into every run folder;
`nsmckit runs compare A B` overlays two runs.

    curves = Curves.of_run("runs/nsmc"); plot_curves({"nsmc": curves}, "curves.png")
"""

from __future__ import annotations

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


def read_run(folder: str | Path) -> dict:
    return read_record(Path(folder) / RUN_FILE, RunError, "is it a `nsmckit finetune` output folder?")


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
