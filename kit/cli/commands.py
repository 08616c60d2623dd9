"""The `nsmckit` commands: each parses its options (built from the config dataclasses by
`kit.cli.options`), calls one library function and prints the result. Settings have one precedence,
applied by the library (`kit.runtime.sources`): an option given, then what the artifact records, then
environment defaults.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import click

from kit.bench.config import BenchConfig
from kit.bench.loadtest import LoadtestConfig
from kit.cli.options import (
    FiniteFloat,
    KitGroup,
    config_from,
    config_options,
    from_environment,
    make_console,
    note,
    progress_printer,
)
from kit.data.lengths import LengthsConfig
from kit.data.splits import DataConfig
from kit.export.onnx import ExportConfig
from kit.predict.config import PredictConfig
from kit.records import from_random_weights
from kit.serve.config import BatcherConfig, ConnectionConfig, ServeConfig
from kit.serve.env_file import SERVE_ENV
from kit.train.finetune import FinetuneConfig
from kit.tune.config import TuneConfig

# Where the data comes from (NSMC by default, your own files or a dataset): every command that reads labeled data
SOURCE = ("data_dir", "train_file", "validation_file", "test_file", "dataset", "text_column", "label_column", "labels")
DATA = (*SOURCE, "val_ratio", "limit", "seed")
ARCHITECTURE = ("no_weights", "config_overrides")


@click.group(cls=KitGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="nsmckit")
@click.option(
    "--debug", is_flag=True, envvar="NSMCKIT_DEBUG", show_envvar=True, help="Show the traceback of a failure."
)
def main(debug):
    """nsmckit: fine-tune, export, benchmark and serve Korean text classifiers: NSMC by default, or your own
    data (--train-file/--test-file, --dataset) with any labels, on any encoder (BERT, RoBERTa, ELECTRA,
    DistilBERT, XLM-R).

    Settings: an option on the command line wins, then what the artifact records (an export's source
    model, a folder's trained weights), then environment defaults (NSMC_MODEL, NSMC_NO_WEIGHTS)."""


@main.command()
@config_options(FinetuneConfig, "model")
@config_options(DataConfig, *SOURCE, "limit", "seed")
@config_options(LengthsConfig, "batch_size", "max_lengths", "plot")
def data(model, **settings):
    """Token-length statistics of the training and test data (NSMC's release files, or your own), and the
    padding efficiency (real tokens / computed positions) of each batching strategy."""
    from kit.data.lengths import length_report, length_table
    from kit.runtime.hf import load_tokenizer

    config = config_from(LengthsConfig, settings, data=config_from(DataConfig, settings, val_ratio=0.0))
    described, stats = length_report(load_tokenizer(model), config)
    console = make_console()
    console.print(described)
    console.print(length_table(stats, config.batch_size))
    if config.plot:
        console.print(f"histogram written to {config.plot}")


@main.command()
@config_options(FinetuneConfig, "model")
@config_options(DataConfig, *DATA)
@config_options(FinetuneConfig, "output_dir", *ARCHITECTURE)
@config_options(
    FinetuneConfig,
    "strategy",
    "max_length",
    "truncation_side",
    "new_head",
    "batch_size",
    "eval_batch_size",
    "learning_rate",
    "epochs",
    "max_steps",
    "weight_decay",
    "label_smoothing",
    "warmup_ratio",
    "precision",
    "eval_steps",
    "early_stopping",
    "pad_to_multiple_of",
    "resume",
    "keep_checkpoints",
    "overwrite",
    "report_to",
    "evaluate_test",
)
@click.pass_context
def finetune(ctx, **settings):
    """Fine-tune any encoder (BERT, RoBERTa, ELECTRA, DistilBERT, XLM-R) as a classifier on NSMC or your own
    data (--train-file/--test-file or --dataset, any number of labels), and report accuracy, macro F1, time
    and padding efficiency. The task (labels, inputs, max_length, truncation side) is recorded in run.json.

    Runs unchanged under `torchrun --nproc_per_node N` for data-parallel training.
    """
    from kit.runtime.sources import weights_precedence
    from kit.train.finetune import CURVES
    from kit.train.finetune import finetune as run_finetune
    from kit.train.report import finetune_table

    settings["no_weights"] = weights_precedence(
        settings["model"], settings["no_weights"], from_environment(ctx, "no_weights"), note
    )
    data = config_from(DataConfig, settings)
    result = run_finetune(FinetuneConfig(data=data, seed=data.seed, **settings), note=note)
    if int(os.environ.get("RANK", "0")) == 0:
        make_console().print(finetune_table(result.to_dict()))
        click.echo(f"training curves: {os.path.join(result.output_dir, CURVES)}")


@main.command()
@click.argument("model")
@click.option("--onnx", is_flag=True, help="Export to ONNX through Optimum (the only format so far; required).")
@config_options(ExportConfig, "output", "optimize", "quantize", "openvino", "calibration_rows", *ARCHITECTURE)
@config_options(ExportConfig, "max_length", "opset")
@config_options(DataConfig, *SOURCE)
@config_options(ExportConfig, "validate_rows", "label_rows", "accuracy_tolerance", "force")
@click.pass_context
def export(ctx, onnx, **settings):
    """Export MODEL (a finetune output folder, local folder or hub id) to ONNX, optimize it,
    and prove every variant agrees with PyTorch on real text: the test data of the run MODEL was trained
    on (or the data given), approximate variants judged on its labels. Exits 1 if any variant fails."""
    from kit.export.onnx import export_onnx
    from kit.export.report import export_table
    from kit.runtime.export_folder import verdict_note
    from kit.runtime.sources import weights_precedence

    if not onnx:
        raise click.UsageError("choose the export format: --onnx")
    settings["no_weights"] = weights_precedence(
        settings["model"], settings["no_weights"], from_environment(ctx, "no_weights"), note
    )
    console, progress = progress_printer()
    data = config_from(DataConfig, settings)
    if os.path.isdir(settings["model"]):
        from kit.runtime.hf import run_task
        from kit.runtime.sources import data_precedence

        data = data_precedence(data, from_environment(ctx, "data_dir"), run_task(settings["model"]), note)
    result = export_onnx(ExportConfig(data=data, **settings), progress=progress)
    console.print(export_table(result.manifest, str(result.path)))
    for variant in result.manifest["variants"]:
        if verdict_note(variant) and variant["valid"]:
            note(f"{verdict_note(variant)}; it is usable, with this note wherever it is loaded")
    if not result.valid:
        invalid = "; ".join(f"{v['name']}: {v['why']}" for v in result.manifest["variants"] if not v["valid"])
        raise click.ClickException(f"judged invalid and marked so in export.json: {invalid}")


def write_results(console, result, output) -> None:
    from kit.bench.report import write_outputs

    for path in write_outputs(result, Path(output)):
        console.print(f"wrote {path}")


@main.group(invoke_without_command=True)
@click.option(
    "--model",
    "models",
    multiple=True,
    envvar="NSMC_MODEL",
    show_envvar=True,
    help="Torch source: finetune folder, local folder or hub id; repeat to bench several side by side.  "
    "[default: the export's source]",
)
@click.option(
    "--export",
    "exports",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Export folder for the ort-* and openvino backends (its torch backends run its source model); repeat "
    "to bench several side by side.  [default: export --model on the fly]",
)
@config_options(BenchConfig, *ARCHITECTURE)
@config_options(BenchConfig, "scenario", "backends", "strategies", "fixed_lengths", "max_length", "batch_sizes")
@config_options(DataConfig, *SOURCE)
@config_options(BenchConfig, "limit")
@click.option("--all-rows", is_flag=True, help="Evaluate every test row (overrides --limit).")
@config_options(BenchConfig, "warmup", "repeats", "train_steps", "compile", "threads")
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    default="runs/bench",
    help="Folder for results.json/.csv/.md and plots (written after every cell).",
)
@click.pass_context
def bench(ctx, models, exports, all_rows, output, **settings):
    """Accuracy, latency percentiles and throughput for fixed / dynamic / bucketed batches across
    PyTorch, ONNX Runtime and OpenVINO. `nsmckit bench compare A.json B.json` prints ratios of two runs.

    With --export, the torch backends run the model the export was made from, unless --model names
    another (NSMC_MODEL does not: the export's record wins over an environment default). Several --export
    (or several --model) are benched side by side in one table, each on its own task's test rows."""
    if ctx.invoked_subcommand is not None:
        return
    from kit.bench.report import rich_table, write_records
    from kit.bench.runner import run_bench, run_side_by_side

    if all_rows:
        settings["limit"] = None
    model_from_env = from_environment(ctx, "models")
    if len(exports) > 1 and models and not model_from_env or len(models) > 1 and exports:
        raise click.UsageError("side by side: repeat --export (each runs its own source on torch) or --model, not both")
    if len(exports) > 1 or len(models) > 1:
        entries = [(None, e) for e in exports] or [(m, None) for m in models]
    else:
        entries = [(next(iter(models), None), next(iter(exports), None))]
    source = {name: settings.pop(name) for name in SOURCE}  # --limit is the benchmark's own
    configs, opened = zip(*(bench_config(ctx, model, export, source, settings) for model, export in entries))
    console, progress = progress_printer()

    def on_cell(partial) -> None:
        write_records(partial, Path(output))

    if len(configs) == 1:
        result = run_bench(configs[0], progress, on_cell, opened[0])
    else:
        result = run_side_by_side(list(configs), progress, on_cell, list(opened))
    console.print(rich_table(result))
    write_results(console, result, output)


def bench_config(ctx, model: str | None, export: str | None, source: dict, settings: dict):
    """One model's benchmark and its export opened, by the settings' precedence: options given, then the
    artifact's record (an export's source model, a folder's weights, the data a task was trained on), then
    the environment."""
    from kit.bench.subjects import model_task
    from kit.manifest import Export
    from kit.runtime.sources import data_precedence, export_source, weights_precedence

    model_from_env = from_environment(ctx, "models")
    weights = settings["no_weights"], from_environment(ctx, "no_weights")
    if export and not os.path.isdir(export):
        raise click.BadParameter(f"{export}: no such export folder", param_hint="--export")
    opened = Export.open(export) if export else None
    if opened:
        model, no_weights = export_source(opened, model, model_from_env, *weights, note)
    else:
        no_weights = weights_precedence(model, *weights, note)
    config = BenchConfig(
        **(settings | {"no_weights": no_weights}), model=model, export=export, data=DataConfig(**source, val_ratio=0.0)
    )
    if config.scenario == "inference" and (export or model and os.path.isdir(model)):
        data = data_precedence(config.data, from_environment(ctx, "data_dir"), model_task(config, opened), note)
        config = dataclasses.replace(config, data=data)
    return config, opened


@bench.command()
@click.argument("a", type=click.Path(dir_okay=False, exists=True))
@click.argument("b", type=click.Path(dir_okay=False, exists=True))
def compare(a, b):
    """Throughput and p50 latency ratios (B/A) for the cells two results.json files share."""
    from kit.bench.report import compare_table, load

    make_console().print(compare_table(load(a), load(b), a, b))


@main.command()
@click.argument("model", type=click.Path(file_okay=False))
@click.argument("texts", nargs=-1)
@config_options(PredictConfig, "input", "output", "overwrite", "column", "format", "max_columns", "variant")
@config_options(PredictConfig, "provider", "threads", "batch_size", "chunk_rows", "engine", "ray_address", "actors")
@config_options(PredictConfig, "cpus_per_actor", "gpus_per_actor")
def predict(model, texts, **settings):
    """Score TEXTS, or a file (--input), with MODEL: an export folder (ONNX Runtime or OpenVINO, no torch)
    or a `nsmckit finetune` output folder (PyTorch).

    Texts print as a table; a file is scored in chunks, in length-sorted batches, and written in input
    order with its own columns plus pred_label, pred_label_name and prob_<label>."""
    from rich.table import Table

    from kit.predict.scoring import score_file, score_texts

    if texts and settings["input"]:
        raise click.UsageError("give texts as arguments or --input, not both")
    if from_random_weights(model):
        note(f"{model} started from random weights (--no-weights): its predictions are near chance")
    if texts:
        table = Table("text", "label", "probability")
        for text, p in zip(texts, score_texts(model, list(texts), settings["variant"], settings["provider"])):
            table.add_row(text, p.label_name, f"{max(p.probabilities):.4f}")
        make_console().print(table)
        return
    result = score_file(PredictConfig(model=model, **settings))
    if result.output:
        make_console(stderr=True).print(
            f"{result.rows:,} rows scored in {result.seconds:.1f}s ({result.rows_per_s:,.0f} rows/s, "
            f"{result.model}) -> {result.output}"
        )


@main.group()
def runs():
    """Look at `nsmckit finetune` runs."""


@runs.command(name="compare")
@click.argument("folders", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option(
    "--output", type=click.Path(dir_okay=False), default="runs/compare.png", help="Overlaid training curves (PNG)."
)
def compare_runs(folders, output):
    """Figures of two or more run folders side by side, and their training curves overlaid."""
    from kit.train.curves import compare_runs as run_compare
    from kit.train.report import runs_table

    records = run_compare(folders, output)
    console = make_console()
    console.print(runs_table(records))
    console.print(f"curves written to {output}")


def load_env_file(ctx: click.Context, path: str | None) -> None:
    """An env file's NSMC_SERVE_* lines as environment defaults, before the other options read theirs
    (a variable already set wins)."""
    from kit.errors import KitError
    from kit.serve.env_file import read_env_file

    if path is None:
        return
    try:
        values = read_env_file(path, {p.envvar for p in ctx.command.params if isinstance(p.envvar, str)})
    except KitError as e:
        raise click.BadParameter(str(e)) from e
    for name, value in values.items():
        os.environ.setdefault(name, value)


@main.command()
@click.argument("export_dir", type=click.Path(file_okay=False), envvar="NSMC_SERVE_EXPORT")
@click.option("--host", default="0.0.0.0", envvar="NSMC_SERVE_HOST", show_envvar=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, envvar="NSMC_SERVE_PORT", show_envvar=True, help="TCP port."
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, exists=True),
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, param, path: load_env_file(ctx, path),
    help="NSMC_SERVE_* settings, one VAR=value a line (as `nsmckit tune` writes serve.env); a variable already "
    "set in the environment, and any option given here, wins over the file.",
)
@config_options(ServeConfig, "variant", "provider", "threads", "spinning", envvar_prefix=SERVE_ENV)
@config_options(BatcherConfig, *(f.name for f in dataclasses.fields(BatcherConfig)), envvar_prefix=SERVE_ENV)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    envvar="NSMC_SERVE_ACCESS_LOG",
    show_envvar=True,
    help="Log every request (uvicorn access log).",
)
@config_options(ServeConfig, "max_texts", "max_body_bytes", envvar_prefix=SERVE_ENV)
@config_options(ConnectionConfig, *(f.name for f in dataclasses.fields(ConnectionConfig)), envvar_prefix=SERVE_ENV)
def serve(export_dir, host, port, access_log, **settings):
    """Serve EXPORT_DIR (from `nsmckit export --onnx`) over HTTP with dynamic batching.

    Endpoints: POST /predict, GET /health, GET /info, GET /metrics (Prometheus). Bounded: the body (bytes
    counted as they arrive), texts per request and characters per text, the queue (429), the time a client
    may take to send a request, and open connections."""
    from kit.serve.app import serve as run_server

    batching, connections = config_from(BatcherConfig, settings), config_from(ConnectionConfig, settings)
    config = ServeConfig(export_dir=export_dir, batching=batching, connections=connections, **settings)
    run_server(config, host=host, port=port, access_log=access_log)


@main.command()
@click.argument("url")
@config_options(LoadtestConfig, "concurrency")
@click.option(
    "--rate",
    "rate",
    type=FiniteFloat(min=0, min_open=True),
    default=None,
    help="Open loop: send this many requests/s on a schedule, whatever the server does; latency counts from "
    "each request's scheduled time, so queueing shows. Replaces the concurrency sweep.",
)
@click.option(
    "--rate-range", default=None, help="Open loop at several rates: LOW:HIGH:STEP requests/s, e.g. 20:200:20."
)
@config_options(LoadtestConfig, "arrivals", "max_in_flight", "duration_s", "requests", "texts_per_request")
@config_options(LoadtestConfig, "texts_file", "data_dir", "allow_remote")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Write results.json/.csv/.md here.")
def loadtest(url, rate, rate_range, output, **settings):
    """Load-test a running `nsmckit serve` at URL: throughput, latency percentiles (p50-p99.9) and errors per
    level. Closed loop by default (--concurrency: clients that wait for each answer); --rate/--rate-range for
    open loop (a fixed schedule of arrivals: what real traffic does to a server that falls behind)."""
    from kit.bench.loadtest import parse_rate_range, run_loadtest
    from kit.bench.report import rich_table, write_records

    if rate and rate_range:
        raise click.UsageError("give --rate or --rate-range, not both")
    rates = (rate,) if rate else parse_rate_range(rate_range) if rate_range else ()
    console, progress = progress_printer()
    on_cell = (lambda partial: write_records(partial, Path(output))) if output else None
    result = run_loadtest(LoadtestConfig(url=url, rates=rates, **settings), progress, on_cell)
    console.print(rich_table(result))
    if output:
        write_results(console, result, output)


@main.command(name="tune")
@click.argument("export", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--p99-ms",
    type=FiniteFloat(min=0, min_open=True),
    required=True,
    help="The latency budget, p99 in ms: per request (serve), per model call (offline).",
)
@config_options(TuneConfig, "min_throughput", "accuracy_tolerance", "mode", "budget_s", "provider", "variants")
@config_options(TuneConfig, "batch_sizes", "strategies", "limit", "trial_s", "input", "output")
@config_options(DataConfig, *SOURCE)
@click.pass_context
def tune(ctx, export, p99_ms, **settings):
    """The fastest configuration of EXPORT that meets a latency budget, with its accuracy cost.

    offline: variant x strategy x batch size for scoring files, and the `nsmckit predict` command that uses
    the choice. serve: server settings (variant, batch tokens, wait, threads), each searched under open-loop
    load for the highest rate it holds with p99 within budget; writes serve.env for `nsmckit serve
    --env-file`, Docker's --env-file and the Kubernetes ConfigMap. Exits 1 with the closest configurations
    when none meets the constraints."""
    from kit.manifest import Export
    from kit.runtime.sources import data_precedence
    from kit.tune.report import ranked_table
    from kit.tune.tuner import tune as run_tune

    data = DataConfig(**{name: settings.pop(name) for name in SOURCE}, val_ratio=0.0)
    opened = Export.open(export)
    data = data_precedence(data, from_environment(ctx, "data_dir"), opened.task, note)
    console, progress = progress_printer()
    result = run_tune(TuneConfig(export=export, p99_ms=p99_ms, data=data, **settings), progress, opened)
    console.print(ranked_table(result))
    for line in result.notes:
        console.print(f"[dim]note: {line}[/dim]")
    console.print(f"run it: {result.command}")
    if result.default and result.best is not result.default:
        console.print(result.against_defaults)
