"""What `nsmckit tune` is asked (a budget, constraints, where to search) and what it finds (every trial, the
ranking, the choice), as dataclasses that tune.json holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from kit.batching import STRATEGIES
from kit.data.nsmc import texts_file_setting
from kit.data.splits import DataConfig
from kit.settings import setting

MODES = ("offline", "serve")


@dataclass
class TuneConfig:
    export: str  # an export folder (`nsmckit export --onnx`)
    p99_ms: float  # the latency budget: p99 in ms (serve: per request; offline: per model call)
    min_throughput: float | None = setting(None, "Also require at least this many texts/s.", min=0)
    accuracy_tolerance: float = setting(
        0.5,
        "Largest accuracy drop against fp32 a configuration may show, in points (labels from the export's "
        "validation, else the sample's).",
        min=0,
    )
    mode: str = setting(
        "offline", "offline: scoring files (predict); serve: the HTTP server under load.", choices=MODES
    )
    budget_s: float = setting(300.0, "Stop searching after this many seconds and report the best found.", min=1)
    provider: str = setting("auto", "auto: CUDA where it really loads, else the CPU.", choices=("auto", "cpu", "cuda"))
    variants: tuple[str, ...] = setting((), "Variants to try.  [default: every valid one that runs on the provider]")
    batch_sizes: tuple[int, ...] = setting((1, 8, 32, 64, 128), "Offline: batch sizes to try.", min=1)
    strategies: tuple[str, ...] = setting(
        ("bucketed",),
        "Offline: batching strategies (predict batches length-sorted, as bucketed does; others for comparison).",
        choices=STRATEGIES,
    )
    limit: int = setting(
        2000, "Offline: test rows to time on (the export's task's data, else NSMC; or --input's first lines).", min=1
    )
    trial_s: float = setting(5.0, "Serve: seconds of open-loop load per trial rate.", min=0.5)
    input: str | None = texts_file_setting(
        "One text per line to time on and send.  [default: the test rows of the export's task, else NSMC's]"
    )
    texts: tuple[str, ...] = ()  # the texts themselves (from Python); else --input's, else NSMC test reviews
    # the rows timed (offline: labeled, for accuracy) and sent (serve): the export's task's data by default
    data: DataConfig = field(default_factory=lambda: DataConfig(val_ratio=0.0))
    output: str | None = setting(
        None, "Folder for tune.json, tune.png and (serve) serve.env.  [default: runs/tune-<mode>]"
    )
    seed: int = 0


@dataclass
class Trial:
    """One measured configuration at one load: a bench cell (offline) or one open-loop rate (serve)."""

    settings: dict  # offline: variant, strategy, batch_size; serve: the NSMC_SERVE_* values
    throughput: float  # texts/s achieved
    p99_ms: float
    p50_ms: float
    offered: float | None = None  # serve: requests/s offered (what the schedule sent; throughput: what came back)
    errors: dict[str, int] = field(default_factory=dict)
    accuracy_delta: float | None = None  # points against fp32 (negative: worse)
    accuracy_source: str | None = None
    feasible: bool = False
    why_not: str | None = None  # the constraint it breaks


@dataclass
class TuneResult:
    config: dict
    mode: str
    trials: list[Trial]
    ranking: list[dict]  # one row per configuration, best first: its settings, figures and verdict
    best: dict | None  # the chosen configuration's row, None when nothing meets the constraints
    default: dict | None  # serve: the default settings' row (the baseline the choice must beat)
    command: str | None  # the command that runs the choice
    environment: dict
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def against_defaults(self) -> str:
        """What the server's defaults held within the budget beside what the choice holds (serve mode)."""

        def held(row: dict) -> str:
            return f"{row['offered']:,.1f} req/s offered, {row['throughput']:,.1f} texts/s achieved"

        defaults = held(self.default) if self.default and self.default["feasible"] else "nothing"
        return f"within the budget the server's defaults held {defaults}; the choice {held(self.best)}"


def output_folder(config: TuneConfig) -> Path:
    """One folder per mode by default, so an offline run never overwrites a serve run's serve.env."""
    return Path(config.output or f"runs/tune-{config.mode}")


def describe(settings: dict) -> str:
    """`variant=int8 max_wait_ms=1.0`: a configuration as lines, tables and plot legends name it."""
    return " ".join(f"{key}={value}" for key, value in settings.items())
