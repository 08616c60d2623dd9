"""The `nsmckit` command: a thin Click layer over the library (`kit.train`, `kit.export`, ...).

Each command parses options into a config, calls one library function and prints the
result. Options come from the config dataclasses' own fields (`config_options`), so a
default and its help live in one place. Failures a user can act on (the kit's own errors,
I/O, undecodable text, a missing extra) become one line, `Error: ...`, and exit code 1;
`--debug` (or NSMCKIT_DEBUG=1) shows the traceback instead.

Settings have one precedence: an option given on the command line, then what the artifact
records (an export's source model, whether a folder holds trained weights), then defaults
from the environment (NSMC_MODEL, NSMC_NO_WEIGHTS). Where an environment default is
overruled, one line says so.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import os
import sys
import types
import typing
from pathlib import Path

import click
from click.core import ParameterSource

from kit.bench.runner import BenchConfig
from kit.errors import KitError, describe_failure, first_line
from kit.export.onnx import ExportConfig
from kit.predict.config import PredictConfig
from kit.records import from_random_weights
from kit.serve.config import BatcherConfig, ConnectionConfig, ServeConfig
from kit.serve.loadtest import LoadtestConfig
from kit.settings import check_value, flag_of
from kit.train.finetune import FinetuneConfig
from kit.tune.config import TuneConfig

DEFAULT_MODEL = "klue/bert-base"
PIPED_WIDTH = 200  # rich tables written to a pipe or file: wide enough that no column is cut


class KitGroup(click.Group):
    """The CLI boundary: every command runs inside it, so a failure is one line and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:
            if ctx.params.get("debug"):
                raise
            message = describe_failure(e) or (
                f"unexpected {type(e).__name__}: {first_line(e)} (rerun with --debug for the traceback)"
            )
            raise click.ClickException(message) from e


def make_console(stderr: bool = False):
    """A rich console; piped or redirected output gets PIPED_WIDTH columns instead of rich's 80."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPED_WIDTH)


def from_environment(ctx: click.Context, name: str) -> bool:
    """Whether an option's value is a default from its environment variable, not given on the command line."""
    return ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT


def weights_precedence(ctx: click.Context, model: str | None, no_weights: bool, note) -> bool:
    """NSMC_NO_WEIGHTS is a default: a model folder that holds trained weights keeps them (said in one line).
    An explicit --no-weights on such a folder is refused by the library."""
    from kit.runtime.hf import weights_file

    weights = weights_file(model) if no_weights and model and from_environment(ctx, "no_weights") else None
    if weights:
        note(f"NSMC_NO_WEIGHTS ignored: {model} holds trained weights ({weights.name}), which are used")
        return False
    return no_weights


def apply(options: list):
    """Stack Click option decorators in the order given (the first shows first in --help)."""
    return lambda command: functools.reduce(lambda f, option: option(f), reversed(options), command)


def comma_list(cast, meta):
    """Click callback for "a,b,c" -> tuple of `cast` values, each within the field's range and choices."""

    def parse(ctx, param, value: str):
        try:
            values = tuple(cast(v.strip()) for v in value.split(",") if v.strip())
        except ValueError as e:
            raise click.BadParameter(f"expected comma-separated {cast.__name__} values, got {value!r}") from e
        try:
            check_value(meta, "", values)
        except KitError as e:
            raise click.BadParameter(str(e).strip()) from e
        return values

    return parse


def field_option(field: dataclasses.Field, hint, envvar_prefix: str | None = None):
    """One Click option from a `kit.settings.setting` field: flag, type, range or choices, default, help."""
    meta = field.metadata
    flag = meta.get("flag") or "--" + field.name.replace("_", "-")
    default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
    kwargs: dict = {"default": default, "help": meta.get("help") or None}
    if "[default:" in (meta.get("help") or ""):
        kwargs["show_default"] = False  # the help says the default in words
    envvar = meta.get("envvar")
    if envvar_prefix and not envvar:
        envvar = envvar_prefix + flag_of(field).lstrip("-").replace("-", "_").upper()
    if envvar:
        kwargs.update(envvar=envvar, show_envvar=True)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) else hint
    if base is bool:
        kwargs["is_flag"] = True
    elif meta.get("multiple"):
        kwargs.update(multiple=True, type=click.Choice(meta["choices"]))
    elif typing.get_origin(base) is tuple:
        cast = typing.get_args(base)[0]
        kwargs.update(default=",".join(map(str, default)), callback=comma_list(cast, meta))
    elif meta.get("choices"):
        kwargs["type"] = click.Choice(meta["choices"])
    elif base is int:
        kwargs["type"] = click.IntRange(meta["min"], meta["max"]) if meta["min"] is not None else int
    elif base is float:
        kwargs["type"] = FiniteFloat(meta["min"], meta["max"], max_open=meta["max_open"])
    return click.option(flag, field.name, **kwargs)


class FiniteFloat(click.FloatRange):
    """A float option that refuses nan and inf (which pass every range check: nan compares false both ways),
    from the command line, the environment and env files alike."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def config_options(config_cls, *names: str, envvar_prefix: str | None = None):
    """Options for these fields of a config dataclass; the command receives them under the field names."""
    hints = typing.get_type_hints(config_cls)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    return apply([field_option(fields[name], hints[name], envvar_prefix) for name in names])


def data_dir_option(help: str):
    return click.option(
        "--data-dir", type=click.Path(file_okay=False), envvar="NSMC_DATA_DIR", show_envvar=True, help=help
    )


def data_options(command=None, *, validation: bool = True):
    """Where NSMC comes from and how much of it: shared by every command that reads it."""
    if command is None:
        return functools.partial(data_options, validation=validation)
    options = [
        data_dir_option("Folder with ratings_train.txt and ratings_test.txt. Unset: download the release (cached)."),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            default=None,
            help="For quick runs: cap each split (train, validation, test) at this many rows, a seeded sample; "
            "finetune --limit 500 trains on 500 reviews and evaluates on 500 + 500.",
        ),
        click.option("--seed", type=int, default=42, help="Seed for splits, shuffling and init."),
    ]
    if validation:
        options.insert(
            1,
            click.option(
                "--val-ratio",
                type=FiniteFloat(0, 1, max_open=True),
                default=0.2,
                help="Share of the train file held out for validation (seeded).",
            ),
        )
    return apply(options)(command)


architecture_options = apply(
    [
        click.option(
            "--no-weights",
            is_flag=True,
            envvar="NSMC_NO_WEIGHTS",
            show_envvar=True,
            help="Build the architecture from its config with random weights: speed work without the "
            "weights (accuracy is then not meaningful).",
        ),
        click.option(
            "--config-overrides",
            default=None,
            help="With --no-weights: resize the architecture, e.g. num_hidden_layers=4,hidden_size=256.",
        ),
    ]
)

model_option = click.option(
    "--model",
    default=DEFAULT_MODEL,
    envvar="NSMC_MODEL",
    show_envvar=True,
    help="Hub id or local folder of the model (and its tokenizer).",
)


def texts_file_option(flag: str, name: str):
    return click.option(
        flag,
        name,
        type=click.Path(dir_okay=False, exists=True),
        default=None,
        help="One text per line.  [default: NSMC test reviews]",
    )


def data_config(data_dir, val_ratio, limit, seed):
    from kit.data.nsmc import DataConfig

    return DataConfig(data_dir=data_dir, val_ratio=val_ratio, limit=limit, seed=seed)


def progress_printer():
    """A console and a `progress(line)` callback that prints dimmed status lines to it."""
    console = make_console()
    return console, lambda line: console.print(f"[dim]{line}[/dim]")


def note(line: str) -> None:
    """One line on stderr about a setting that was overruled (see the precedence above)."""
    click.echo(f"Note: {line}", err=True)


@click.group(cls=KitGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="nsmckit")
@click.option(
    "--debug", is_flag=True, envvar="NSMCKIT_DEBUG", show_envvar=True, help="Show the traceback of a failure."
)
def main(debug):
    """nsmckit: fine-tune, export, benchmark and serve BERT sentiment models on NSMC.

    Settings: an option on the command line wins, then what the artifact records (an export's source
    model, a folder's trained weights), then environment defaults (NSMC_MODEL, NSMC_NO_WEIGHTS)."""


@main.command()
@model_option
@data_options(validation=False)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, help="Batch size for the efficiency figures.")
@click.option(
    "--max-length",
    "max_lengths",
    type=click.IntRange(min=2),
    multiple=True,
    default=(128, 512),
    help="Pad length(s) for the fixed strategy; the largest also truncates. Repeatable.",
)
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Write a token-length histogram (PNG).")
def data(model, data_dir, limit, seed, batch_size, max_lengths, plot):
    """Token-length statistics of the release's train and test files, and the padding
    efficiency (real tokens / computed positions) of each batching strategy."""
    from kit.data.encoding import encode
    from kit.data.lengths import LengthStats, length_table, plot_histogram
    from kit.data.nsmc import load_nsmc
    from kit.runtime.hf import load_tokenizer

    max_lengths = tuple(sorted(max_lengths))
    splits = load_nsmc(data_config(data_dir, 0.0, limit, seed))
    console, _ = progress_printer()
    console.print(splits.describe())
    tokenizer = load_tokenizer(model)
    # Lengths are measured untruncated (the model's limit), so the statistics describe the data itself.
    lengths = {
        name: encode(tokenizer, getattr(splits, name).texts, tokenizer.model_max_length, progress=True).lengths
        for name in ("train", "test")
    }
    stats = [LengthStats.of(name, values, batch_size, max_lengths, seed) for name, values in lengths.items()]
    console.print(length_table(stats, batch_size))
    if plot:
        plot_histogram(lengths, plot, max_lengths[0])
        console.print(f"histogram written to {plot}")


@main.command()
@model_option
@data_options
@config_options(FinetuneConfig, "output_dir")
@architecture_options
@config_options(
    FinetuneConfig,
    "strategy",
    "max_length",
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
def finetune(ctx, data_dir, val_ratio, limit, seed, **settings):
    """Fine-tune a sequence classifier on NSMC and report accuracy, F1, time and padding efficiency.

    Runs unchanged under `torchrun --nproc_per_node N` for data-parallel training.
    """
    from kit.train.finetune import CURVES
    from kit.train.finetune import finetune as run_finetune
    from kit.train.report import finetune_table

    settings["no_weights"] = weights_precedence(ctx, settings["model"], settings["no_weights"], note)
    config = FinetuneConfig(data=data_config(data_dir, val_ratio, limit, seed), seed=seed, **settings)
    result = run_finetune(config)
    if int(os.environ.get("RANK", "0")) == 0:
        make_console().print(finetune_table(result.to_dict()))
        click.echo(f"training curves: {os.path.join(result.output_dir, CURVES)}")


@main.command()
@click.argument("model")
@click.option("--onnx", is_flag=True, help="Export to ONNX through Optimum (the only format so far; required).")
@config_options(ExportConfig, "output", "optimize", "quantize")
@architecture_options
@config_options(ExportConfig, "max_length", "opset")
@data_dir_option("NSMC folder: validate on its test reviews (else on the sample shipped with the kit).")
@config_options(ExportConfig, "validate_rows", "label_rows", "accuracy_tolerance", "force")
@click.pass_context
def export(ctx, onnx, **settings):
    """Export MODEL (a finetune output folder, local folder or hub id) to ONNX, optimize it,
    and prove every variant agrees with PyTorch on real text. Exits 1 if any variant fails."""
    from kit.export.onnx import export_onnx
    from kit.export.report import export_table

    if not onnx:
        raise click.UsageError("choose the export format: --onnx")
    settings["no_weights"] = weights_precedence(ctx, settings["model"], settings["no_weights"], note)
    console, progress = progress_printer()
    result = export_onnx(ExportConfig(**settings), progress=progress)
    console.print(export_table(result.manifest, str(result.path)))
    if not result.valid:
        invalid = ", ".join(v["name"] for v in result.manifest["variants"] if not v["valid"])
        raise click.ClickException(f"variant(s) {invalid} failed validation and are marked invalid in export.json")


def write_results(console, result, output) -> None:
    from kit.bench.report import write_outputs

    for path in write_outputs(result, Path(output)):
        console.print(f"wrote {path}")


@main.group(invoke_without_command=True)
@config_options(BenchConfig, "model", "export")
@architecture_options
@config_options(BenchConfig, "scenario", "backends", "strategies", "fixed_lengths", "max_length", "batch_sizes")
@data_dir_option("NSMC folder (else downloaded).")
@config_options(BenchConfig, "limit")
@click.option("--all-rows", is_flag=True, help="Evaluate all 50,000 test rows (overrides --limit).")
@config_options(BenchConfig, "warmup", "repeats", "train_steps", "compile", "threads")
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    default="runs/bench",
    help="Folder for results.json/.csv/.md and plots (written after every cell).",
)
@click.pass_context
def bench(ctx, data_dir, all_rows, output, **settings):
    """Accuracy, latency percentiles and throughput for fixed / dynamic / sorted batches across
    PyTorch and ONNX Runtime. `nsmckit bench compare A.json B.json` prints ratios of two runs.

    With --export, the torch backends run the model the export was made from, unless --model names
    another (NSMC_MODEL does not: the export's record wins over an environment default)."""
    if ctx.invoked_subcommand is not None:
        return
    from kit.bench.report import rich_table, write_records
    from kit.bench.runner import run_bench
    from kit.data.nsmc import DataConfig

    if settings["export"] and not os.path.isdir(settings["export"]):
        raise click.BadParameter(f"{settings['export']}: no such export folder", param_hint="--export")
    if settings["export"]:
        export_precedence(ctx, settings)
    settings["no_weights"] = weights_precedence(ctx, settings["model"], settings["no_weights"], note)
    if all_rows:
        settings["limit"] = None
    console, progress = progress_printer()
    config = BenchConfig(data=DataConfig(data_dir=data_dir, val_ratio=0.0), **settings)
    result = run_bench(config, progress, on_cell=lambda partial: write_records(partial, Path(output)))
    console.print(rich_table(result))
    write_results(console, result, output)


def export_precedence(ctx: click.Context, settings: dict) -> None:
    """Bench on an export: its recorded source (model, weights or not) wins over NSMC_MODEL and NSMC_NO_WEIGHTS;
    an explicit --model still wins, and either way a model other than the source is said in one line."""
    from kit.manifest import read_manifest

    recorded = read_manifest(Path(settings["export"]))["source"]
    source = recorded["model"]
    source_dir = (Path(settings["export"]) / recorded["model_dir"]).resolve() if recorded.get("model_dir") else None
    model = settings["model"]
    differs = model is not None and model != source and Path(model).resolve() != source_dir
    if from_environment(ctx, "model"):
        if differs:
            note(f"NSMC_MODEL ignored: {settings['export']} was made from {source}, which the torch backends run")
        settings["model"] = None
    elif differs:
        note(f"--model {model}: the torch backends run it, not {source} that {settings['export']} was made from")
    if settings["model"] is None and from_environment(ctx, "no_weights"):
        settings["no_weights"] = False  # the export records whether its source had weights


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
@config_options(PredictConfig, "input", "output", "overwrite", "column", "format", "variant", "provider", "threads")
@config_options(PredictConfig, "batch_size", "chunk_rows", "engine", "ray_address", "actors")
@config_options(PredictConfig, "cpus_per_actor", "gpus_per_actor")
def predict(model, texts, **settings):
    """Score TEXTS, or a file (--input), with MODEL: an export folder (ONNX Runtime, no torch) or a
    `nsmckit finetune` output folder (PyTorch).

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


SERVE_ENV = "NSMC_SERVE_"


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
    from kit.train.curves import Curves, plot_curves, read_run
    from kit.train.report import runs_table

    names = [os.path.basename(os.path.normpath(f)) or f for f in folders]
    if len(set(names)) < len(names):
        names = list(folders)
    records = {name: read_run(folder) for name, folder in zip(names, folders)}
    console = make_console()
    console.print(runs_table(records))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    plot_curves({name: Curves.of_record(run) for name, run in records.items()}, output)
    console.print(f"curves written to {output}")


def load_env_file(ctx: click.Context, path: str | None) -> None:
    """An env file's NSMC_SERVE_* lines as environment defaults, before the other options read theirs. A name
    no option reads (a misspelt one would be ignored silently) and a name set twice are refused."""
    if path is None:
        return
    known = {p.envvar for p in ctx.command.params if isinstance(p.envvar, str)}
    seen: dict[str, int] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = (part.strip() for part in line.partition("="))
        if not sep or not name.startswith(SERVE_ENV):
            raise click.BadParameter(f"{path}:{number}: expected {SERVE_ENV}<FLAG>=value, got {line!r}")
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else f" ({', '.join(sorted(known))})"
            raise click.BadParameter(f"{path}:{number}: {name} is not a setting of nsmckit serve{hint}")
        if name in seen:
            raise click.BadParameter(f"{path}:{number}: {name} is set again (first on line {seen[name]})")
        seen[name] = number
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

    def take(config_cls):
        return config_cls(**{f.name: settings.pop(f.name) for f in dataclasses.fields(config_cls)})

    batching, connections = take(BatcherConfig), take(ConnectionConfig)
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
@texts_file_option("--texts-file", "texts_file")
@data_dir_option("NSMC folder for the default texts.")
@config_options(LoadtestConfig, "allow_remote")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Write results.json/.csv/.md here.")
def loadtest(url, rate, rate_range, texts_file, data_dir, output, **settings):
    """Load-test a running `nsmckit serve` at URL: throughput, latency percentiles (p50-p99.9) and errors per
    level. Closed loop by default (--concurrency: clients that wait for each answer); --rate/--rate-range for
    open loop (a fixed schedule of arrivals: what real traffic does to a server that falls behind)."""
    from kit.bench.report import rich_table, write_records
    from kit.serve.loadtest import parse_rate_range, read_texts, run_loadtest

    if rate and rate_range:
        raise click.UsageError("give --rate or --rate-range, not both")
    settings["rates"] = (rate,) if rate else parse_rate_range(rate_range) if rate_range else ()

    if texts_file:
        texts = read_texts(texts_file)
    else:
        from kit.data.nsmc import DataConfig, load_test_texts

        texts = load_test_texts(DataConfig(data_dir=data_dir))
    console, progress = progress_printer()
    on_cell = (lambda partial: write_records(partial, Path(output))) if output else None
    result = run_loadtest(LoadtestConfig(url=url, texts=texts, **settings), progress, on_cell)
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
@config_options(TuneConfig, "batch_sizes", "strategies", "limit", "trial_s")
@texts_file_option("--input", "input_file")
@data_dir_option("NSMC folder for the default texts (and labels).")
@config_options(TuneConfig, "output")
def tune(export, p99_ms, input_file, **settings):
    """The fastest configuration of EXPORT that meets a latency budget, with its accuracy cost.

    offline: variant x strategy x batch size for scoring files, and the `nsmckit predict` command that uses
    the choice. serve: server settings (variant, batch tokens, wait, threads), each searched under open-loop
    load for the highest rate it holds with p99 within budget; writes serve.env for `nsmckit serve
    --env-file`, Docker's --env-file and the Kubernetes ConfigMap. Exits 1 with the closest configurations
    when none meets the constraints."""
    from kit.serve.loadtest import read_texts
    from kit.tune.report import ranked_table
    from kit.tune.tuner import tune as run_tune

    texts = read_texts(input_file) if input_file else ()
    console, progress = progress_printer()
    result = run_tune(TuneConfig(export=export, p99_ms=p99_ms, texts=texts, **settings), progress)
    console.print(ranked_table(result))
    for line in result.notes:
        console.print(f"[dim]note: {line}[/dim]")
    console.print(f"run it: {result.command}")
    if result.default and result.best is not result.default:

        def held(row: dict) -> str:
            return f"{row['offered']:,.1f} req/s offered, {row['throughput']:,.1f} texts/s achieved"

        defaults = held(result.default) if result.default["feasible"] else "nothing"
        console.print(f"within the budget the server's defaults held {defaults}; the choice {held(result.best)}")


if __name__ == "__main__":
    main()
