"""Serve-mode tuning: for candidate server settings, start a server (`kit.serve.process`, from a typed
`ServeConfig`), and find by search on the offered
rate (open-loop load, `kit.bench.loadtest`) the highest rate it sustains with p99 within the budget and no
errors. Candidates are searched like Triton Model Analyzer's quick mode: start from the defaults, try every
setting one step away from the best so far, move when one beats it, stop when none does or the time budget
is spent. A candidate is first tried just above the best rate found so far; if it cannot hold that, it
cannot win and is dropped after one trial.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kit.bench.loadtest import LoadtestConfig, run_loadtest
from kit.errors import KitError
from kit.serve.config import BatcherConfig, ServeConfig
from kit.serve.env_file import setting_env_names
from kit.serve.process import server_process
from kit.tune.config import Trial, TuneConfig, describe
from kit.tune.report import judge

BEAT_BY = 1.05  # a candidate must hold 5% more than the best rate to replace it
BATCHER_FIELDS = {f.name for f in dataclasses.fields(BatcherConfig)}


def search_space(device: str, variants: list[str]) -> dict[str, list]:
    """Each setting's values, the server's default first."""
    defaults = BatcherConfig()
    space: dict[str, list] = {
        "variant": variants,
        "max_batch_tokens": [defaults.max_batch_tokens, 4096, 65536],
        "max_wait_ms": [defaults.max_wait_ms, 1.0, 20.0],
    }
    if device == "cuda":
        space["call_cost_tokens"] = [defaults.call_cost_tokens, 2048]
    elif (os.cpu_count() or 1) > 1:  # one call on all cores, or two calls at once of one core each
        space["parallel_calls"] = [defaults.parallel_calls, 2]
    return space


def server_settings(settings: dict, provider: str) -> dict:
    """A candidate's settings as the server takes them, for the search's servers and serve.env alike."""
    values = dict(settings)
    if values.get("parallel_calls", 1) > 1:
        values["threads"] = 1  # each of the calls at once on one core
    if provider != "auto":
        values["provider"] = provider
    return values


def env_lines(settings: dict, provider: str) -> list[str]:
    """The candidate as the NSMC_SERVE_* lines `nsmckit serve --env-file`, Docker and Kubernetes read."""
    names = setting_env_names()
    return [f"{names[key]}={value}" for key, value in server_settings(settings, provider).items() if value is not None]


@contextmanager
def terminated_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) instead of ending the process on the spot, so that `finally` blocks
    (the server stopped, its temporary folder removed) run; the previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_143(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_143)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_config(export: str, settings: dict, provider: str) -> ServeConfig:
    """The server a candidate's settings describe, as `env_lines` writes them for the user."""
    values = server_settings(settings, provider)
    batching = {key: values.pop(key) for key in list(values) if key in BATCHER_FIELDS}
    return ServeConfig(export, **values, batching=BatcherConfig(**batching))


class ServeSearch:
    """The search state: every trial, each candidate's best sustained rate, the clock."""

    def __init__(self, config: TuneConfig, texts: tuple[str, ...], progress):
        self.config, self.texts, self.progress = config, texts, progress
        self.trials: list[Trial] = []
        self.sustained: dict[tuple, float] = {}  # candidate key -> highest rate it held (0: none)
        self.notes: list[str] = []  # candidates that could not be tried, and why
        self.start = time.monotonic()

    def out_of_time(self) -> bool:
        return time.monotonic() - self.start > self.config.budget_s

    def trial(self, url: str, settings: dict, rate: float) -> Trial:
        load = LoadtestConfig(
            url=url, rates=(rate,), duration_s=self.config.trial_s, texts=self.texts, seed=self.config.seed
        )
        cell = run_loadtest(load, progress=lambda line: None).cells[0]
        latency = cell.latency_ms or {"p99": float("inf"), "p50": float("inf")}
        trial = Trial(
            settings,
            throughput=cell.samples_per_s,
            p99_ms=latency["p99"],
            p50_ms=latency["p50"],
            offered=cell.offered_per_s,
            errors=cell.errors or {},
        )
        self.trials.append(judge(trial, self.config, load_only=True))
        self.progress(
            f"{describe(settings)}: offered {trial.offered:,.1f} req/s (asked {rate:,.1f}), achieved "
            f"{trial.throughput:,.1f} texts/s, p99 {trial.p99_ms:,.0f} ms: "
            + ("holds" if trial.feasible else trial.why_not)
        )
        return trial

    def sustained_rate(self, settings: dict, floor: float) -> float:
        """The highest offered rate these settings hold (0: none, or not above `floor`, the best so far).
        Rates double until one fails, then the gap is halved until it is within 15%."""
        with server_process(serve_config(self.config.export, settings, self.config.provider)) as url:
            rate = floor * BEAT_BY if floor > 0 else self.first_rate(url)
            low, high = 0.0, None
            while not self.out_of_time():
                if self.trial(url, settings, rate).feasible:
                    low = rate
                elif floor > 0 and low == 0:
                    return 0.0  # cannot hold the best rate: it cannot win, one trial was enough
                else:
                    high = rate
                if high is not None and (high < 0.5 or (high - low) / high < 0.15):
                    break
                rate = rate * 2 if high is None else (low + high) / 2
            return low

    def first_rate(self, url: str) -> float:
        """A starting rate below capacity: half what a short closed-loop burst achieves."""
        burst = LoadtestConfig(url=url, concurrency=(16,), duration_s=2, texts=self.texts)
        return max(1.0, run_loadtest(burst, progress=lambda line: None).cells[0].samples_per_s / 2)


def tune_serve(config: TuneConfig, variants: list[str], device: str, texts: tuple[str, ...], progress):
    """Hill-climb over the search space; returns the search (its trials and each candidate's sustained rate)."""
    search = ServeSearch(config, texts, progress)
    with terminated_as_exit():  # a SIGTERM to tune stops its server and removes its files on the way out
        _climb(search, search_space(device, variants))
    return search


def _climb(search: ServeSearch, space: dict) -> None:
    """From the defaults, every setting one step from the best so far, until none beats it or time is up."""
    best = {key: values[0] for key, values in space.items()}
    best_rate = 0.0
    pending = [best]
    while pending and not search.out_of_time():
        improved = False
        for settings in pending:
            key = tuple(settings.values())
            if key in search.sustained or search.out_of_time():
                continue
            try:
                rate = search.sustained_rate(settings, best_rate)
            except KitError as e:  # a server that does not start: this candidate is out, the search goes on
                search.notes.append(f"{describe(settings)}: {e}")
                rate = 0.0
            search.sustained[key] = rate
            if rate > best_rate:
                best, best_rate, improved = settings, rate, True
        pending = neighbours(best, space) if improved or best_rate == 0 else []
        pending = [s for s in pending if tuple(s.values()) not in search.sustained]


def neighbours(settings: dict, space: dict[str, list]) -> list[dict]:
    """Every setting one step away: one dimension changed to another of its values."""
    return [{**settings, key: value} for key, values in space.items() for value in values if value != settings[key]]
