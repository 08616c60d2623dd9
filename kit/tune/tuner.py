"""`nsmckit tune EXPORT --p99-ms X`: the fastest configuration that meets a latency budget, with its accuracy cost.

    from kit import tune, TuneConfig
    result = tune(TuneConfig("exports/nsmc", p99_ms=200, mode="serve", budget_s=300))
    result.best, result.command        # the choice and the command that runs it

Writes tune.json, tune.png (latency vs throughput, the front marked) and, in serve mode, serve.env. When no
configuration meets the constraints, the outputs are still written and `Infeasible` names the closest ones.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from kit.data.nsmc import read_texts, request_texts
from kit.data.splits import load_splits, task_data
from kit.environment import environment
from kit.errors import KitError
from kit.manifest import Export
from kit.settings import check_settings
from kit.tune.config import TuneConfig, TuneResult, describe, output_folder
from kit.tune.offline import accuracy_cost, candidate_variants, predict_command, runs_on, tune_offline
from kit.tune.report import judge, rank, row, write_outputs
from kit.tune.serve_search import env_lines, tune_serve


class Infeasible(KitError):
    """No configuration met the constraints; the message names the closest."""


def _texts(config: TuneConfig, export: Export) -> tuple[str, ...]:
    """What the server is sent: --input's texts, else the test rows of the data the export's task was trained
    on (your own files or dataset), else NSMC's test reviews."""
    if config.texts:
        return config.texts
    data = task_data(config.data, export.task.data)
    if data is not None and data.kind != "nsmc":
        return tuple(load_splits(replace(data, val_ratio=0.0), ("test",)).test.texts)
    return request_texts(None, config.data.data_dir)


def _serve_rows(search, config: TuneConfig, export: Export) -> list[dict]:
    """One row per candidate: its best sustained trial, else its closest one."""
    variants = export.variants
    rows = []
    for key in search.sustained:
        trials = [t for t in search.trials if tuple(t.settings.values()) == key]
        if not trials:
            continue  # its server did not start (said in the notes)
        held = [t for t in trials if t.feasible]
        trial = max(held, key=lambda t: t.offered) if held else min(trials, key=lambda t: t.p99_ms)
        trial.accuracy_delta, trial.accuracy_source = accuracy_cost(variants[trial.settings["variant"]], None)
        judge(trial, config)
        rows.append(row(trial))
    return rows


def _offline(config: TuneConfig, export: Export, progress):
    trials, notes = tune_offline(config, export, progress)
    return trials, [row(judge(t, config)) for t in trials], notes, None


def _serve(config: TuneConfig, export: Export, progress):
    """Search server settings; the first candidate is the server's defaults, the baseline to beat."""
    device = runs_on(config, export)
    variants, notes = candidate_variants(config, export, device)
    for name in list(variants):  # a variant that already fails the accuracy constraint is not worth serving
        delta, source = accuracy_cost(export.variants[name], None)
        if delta is not None and delta < -config.accuracy_tolerance:
            variants.remove(name)
            notes.append(f"{name}: accuracy {delta:+.2f} pt ({source}), beyond the tolerance")
    variants.sort(key=lambda name: name != export.default_variant)
    search = tune_serve(config, variants, device, _texts(config, export), progress)
    rows = _serve_rows(search, config, export)
    first = next(iter(search.sustained), None)
    default = next((r for r in rows if tuple(r["settings"].values()) == first), None)
    return search.trials, rows, notes + search.notes, default


def tune(config: TuneConfig, progress=print, export: Export | None = None) -> TuneResult:
    """`export`: `config.export` as the caller already opened it."""
    check_settings(config)
    if config.input and not config.texts:
        config = replace(config, texts=read_texts(config.input))
    export = export or Export.open(config.export)
    trials, rows, notes, default = (_offline if config.mode == "offline" else _serve)(config, export, progress)
    ranking = rank(rows)
    best = ranking[0] if ranking and ranking[0]["feasible"] else None
    command = None
    if best and config.mode == "offline":
        command = predict_command(config, best)
    elif best:
        command = f"nsmckit serve {config.export} --env-file {output_folder(config) / 'serve.env'}"
    settings = asdict(config) | {"texts": f"{len(config.texts)} texts"}
    result = TuneResult(settings, config.mode, trials, ranking, best, default, command, environment(), notes)
    lines = env_lines(best["settings"], config.provider) if best and config.mode == "serve" else None
    for path in write_outputs(result, trials, output_folder(config), lines):
        progress(f"wrote {path}")
    if best is None:
        raise Infeasible(_closest(result, config))
    return result


def _closest(result: TuneResult, config: TuneConfig) -> str:
    if not result.ranking:
        why = "; ".join(result.notes) or (
            f"no trial fitted in --budget-s {config.budget_s:g} (a trial takes --trial-s, and in serve mode a "
            "server start, at least); raise --budget-s"
        )
        return f"nothing could be measured: {why}"
    closest = "; ".join(f"{describe(r['settings'])}: {r['why_not']}" for r in result.ranking[:3])
    return f"no configuration meets p99 <= {config.p99_ms:g} ms and the other constraints; closest: {closest}"
