"""The `nsmckit` command: a thin Click layer over the library (`kit.finetune`, ...).

Each command parses options into a config, calls one library function and prints the
result. Library errors (`KitError`) become one-line messages with exit code 1.
"""

from __future__ import annotations

import functools
import os

import click

from kit.batcher import BatcherConfig
from kit.batching import STRATEGIES
from kit.errors import KitError

DEFAULT_MODEL = "klue/bert-base"


def kit_errors(command):
    """Turn the kit's own errors into `Error: <message>` and exit code 1, no traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KitError as e:
            raise click.ClickException(str(e)) from e

    return wrapper


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
            help="Use at most this many rows of each split (a seeded sample), for quick runs.",
        ),
        click.option("--seed", type=int, default=42, show_default=True, help="Seed for splits, shuffling and init."),
    ]
    if validation:
        options.insert(
            1,
            click.option(
                "--val-ratio",
                type=click.FloatRange(0, 1, max_open=True),
                default=0.2,
                show_default=True,
                help="Share of the train file held out for validation (seeded).",
            ),
        )
    return functools.reduce(lambda f, option: option(f), reversed(options), command)


def architecture_options(command):
    """--no-weights and --config-overrides: the architecture without its pretrained weights."""
    options = [
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
    return functools.reduce(lambda f, option: option(f), reversed(options), command)


def model_option(command):
    return click.option(
        "--model",
        default=DEFAULT_MODEL,
        envvar="NSMC_MODEL",
        show_envvar=True,
        show_default=True,
        help="Hub id or local folder of the model (and its tokenizer).",
    )(command)


def data_config(data_dir, val_ratio, limit, seed):
    from kit.data import DataConfig

    return DataConfig(data_dir=data_dir, val_ratio=val_ratio, limit=limit, seed=seed)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="nsmckit")
def main():
    """nsmckit: fine-tune, export, benchmark and serve BERT sentiment models on NSMC."""


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
@kit_errors
def data(model, data_dir, limit, seed, batch_size, max_lengths, plot):
    """Token-length statistics of the release's train and test files, and the padding
    efficiency (real tokens / computed positions) of each batching strategy."""
    from rich.console import Console

    from kit.data import load_nsmc
    from kit.encoding import encode
    from kit.lengths import LengthStats, plot_histogram
    from kit.modeling import load_tokenizer
    from kit.report import length_table

    max_lengths = tuple(sorted(max_lengths))
    splits = load_nsmc(data_config(data_dir, 0.0, limit, seed))
    console = Console()
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
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False),
    default="runs/nsmc",
    help="Folder for the model, its tokenizer, checkpoints and run.json.",
)
@architecture_options
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default="bucketed",
    help="fixed: pad to --max-length; dynamic: pad per random batch; bucketed: batches of similar length.",
)
@click.option(
    "--max-length",
    type=click.IntRange(min=2),
    default=128,
    help="Truncate to (and for fixed, pad to) this many tokens.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, help="Training batch size per device.")
@click.option("--eval-batch-size", type=click.IntRange(min=1), default=64, help="Evaluation batch size per device.")
@click.option("--lr", "learning_rate", type=float, default=5e-5, help="Peak learning rate (AdamW, linear decay).")
@click.option("--epochs", type=float, default=3.0, help="Training epochs.")
@click.option(
    "--max-steps", type=int, default=-1, help="Stop after this many optimizer steps (overrides --epochs if > 0)."
)
@click.option("--weight-decay", type=float, default=0.01)
@click.option(
    "--label-smoothing",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    help="Spread this share of each target over all labels: curbs over-confidence on noisy labels (losses include it).",
)
@click.option("--warmup-ratio", type=float, default=0.1, help="Share of steps for linear warm-up.")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    default="auto",
    help="auto: bf16 (else fp16) on a GPU, fp32 on CPU. bf16 also works on CPUs with AVX-512 BF16/AMX.",
)
@click.option(
    "--eval-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Evaluate and checkpoint every N steps (default: every epoch).",
)
@click.option(
    "--early-stopping",
    type=click.IntRange(min=0),
    default=0,
    help="Stop after N evaluations without a better validation accuracy (0: off). The best checkpoint is kept.",
)
@click.option(
    "--pad-to-multiple-of",
    type=click.IntRange(min=1),
    default=None,
    help="Round dynamic/bucketed pad lengths up to a multiple (8 helps GPU tensor cores).",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its last checkpoint in --output.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run in --output.")
@click.option("--no-test", is_flag=True, help="Skip the final test-split evaluation.")
@kit_errors
def finetune(
    model,
    data_dir,
    val_ratio,
    limit,
    seed,
    output_dir,
    no_weights,
    config_overrides,
    strategy,
    max_length,
    batch_size,
    eval_batch_size,
    learning_rate,
    epochs,
    max_steps,
    weight_decay,
    label_smoothing,
    warmup_ratio,
    precision,
    eval_steps,
    early_stopping,
    pad_to_multiple_of,
    resume,
    overwrite,
    no_test,
):
    """Fine-tune a sequence classifier on NSMC and report accuracy, F1, time and padding efficiency.

    Runs unchanged under `torchrun --nproc_per_node N` for data-parallel training.
    """
    from rich.console import Console

    from kit.finetune import FinetuneConfig
    from kit.finetune import finetune as run_finetune
    from kit.report import finetune_table

    config = FinetuneConfig(
        model=model,
        output_dir=output_dir,
        data=data_config(data_dir, val_ratio, limit, seed),
        no_weights=no_weights,
        config_overrides=config_overrides,
        strategy=strategy,
        max_length=max_length,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        learning_rate=learning_rate,
        epochs=epochs,
        max_steps=max_steps,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
        warmup_ratio=warmup_ratio,
        seed=seed,
        precision=precision,
        eval_steps=eval_steps,
        early_stopping=early_stopping,
        pad_to_multiple_of=pad_to_multiple_of,
        resume=resume,
        overwrite=overwrite,
        evaluate_test=not no_test,
    )
    result = run_finetune(config)
    if int(os.environ.get("RANK", "0")) == 0:
        Console().print(finetune_table(result.to_dict()))


@main.command()
@click.argument("model")
@click.option("--onnx", is_flag=True, help="Export to ONNX through Optimum (the only format so far; required).")
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    default=None,
    help="Export folder.  [default: exports/<model folder name>]",
)
@click.option(
    "--optimize",
    type=click.Choice(["O1", "O2", "O3", "O4"]),
    multiple=True,
    help="ORTOptimizer level, repeatable. O1-O2: fusions (exact); O3: + approximate GELU; O4: + fp16 (GPU only).",
)
@click.option(
    "--quantize",
    type=click.Choice(["int8"]),
    multiple=True,
    help="Dynamic int8 quantization for CPU (config picked for this CPU: AVX-512 VNNI, AVX-512, AVX2, ARM64).",
)
@architecture_options
@click.option(
    "--max-length",
    type=click.IntRange(min=2),
    default=None,
    help="Truncation length at inference.  [default: the fine-tuning run's, else the model's limit]",
)
@click.option("--opset", type=int, default=None, help="ONNX opset.  [default: Optimum's choice]")
@data_dir_option("NSMC folder: validate on its test reviews (else on the sample shipped with the kit).")
@click.option("--validate-rows", type=click.IntRange(min=1), default=256, help="Reviews to validate on.")
@click.option("--force", is_flag=True, help="Replace an existing export folder.")
@kit_errors
def export(
    model,
    onnx,
    output,
    optimize,
    quantize,
    no_weights,
    config_overrides,
    max_length,
    opset,
    data_dir,
    validate_rows,
    force,
):
    """Export MODEL (a finetune output folder, local folder or hub id) to ONNX, optimize it,
    and prove every variant agrees with PyTorch on real text. Exits 1 if any variant fails."""
    from rich.console import Console

    from kit.onnx_export import ExportConfig, export_onnx
    from kit.report import export_table

    if not onnx:
        raise click.UsageError("choose the export format: --onnx")
    console = Console()
    result = export_onnx(
        ExportConfig(
            model=model,
            output=output,
            optimize=optimize,
            quantize=quantize,
            no_weights=no_weights,
            config_overrides=config_overrides,
            max_length=max_length,
            opset=opset,
            data_dir=data_dir,
            validate_rows=validate_rows,
            force=force,
        ),
        progress=lambda line: console.print(f"[dim]{line}[/dim]"),
    )
    console.print(export_table(result.manifest, str(result.path)))
    if not result.valid:
        invalid = ", ".join(v["name"] for v in result.manifest["variants"] if not v["valid"])
        raise click.ClickException(f"variant(s) {invalid} failed validation and are marked invalid in export.json")


def int_list(ctx, param, value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError as e:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from e


def str_list(ctx, param, value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@main.group(invoke_without_command=True)
@click.option(
    "--model",
    envvar="NSMC_MODEL",
    show_envvar=True,
    default=None,
    help="Torch source: finetune folder, local folder or hub id.  [default: the export's source]",
)
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Export folder for the ort-* backends.  [default: export --model on the fly]",
)
@architecture_options
@click.option(
    "--scenario",
    type=click.Choice(["inference", "train"]),
    default="inference",
    help="inference: evaluate the test split; train: fixed optimizer steps per strategy.",
)
@click.option(
    "--backends",
    default="torch:fp32,ort-cpu:fp32",
    callback=str_list,
    help="Comma-separated BACKEND:PRECISION. torch:fp32|bf16|fp16, ort-cpu:fp32|O1-O3|int8, "
    "ort-cuda:fp32|O1-O4. Unavailable ones are reported as skipped.",
)
@click.option(
    "--strategies",
    default="fixed,dynamic,sorted",
    callback=str_list,
    help="fixed: pad to each --fixed-lengths; dynamic: dataset order, pad to batch max; "
    "sorted: length-sorted batches (results restored to the original order).",
)
@click.option("--fixed-lengths", default="128,512", callback=int_list, help="Pad lengths for the fixed strategy.")
@click.option("--max-length", type=click.IntRange(min=2), default=128, help="Truncation for dynamic/sorted.")
@click.option("--batch-sizes", default="1,8,32,128", callback=int_list, help="Comma-separated batch sizes.")
@data_dir_option("NSMC folder (else downloaded).")
@click.option("--limit", type=click.IntRange(min=1), default=1024, help="Evaluation rows from the test split.")
@click.option("--all-rows", is_flag=True, help="Evaluate all 50,000 test rows (overrides --limit).")
@click.option("--warmup", type=click.IntRange(min=0), default=3, help="Untimed batches before each cell.")
@click.option("--repeats", type=click.IntRange(min=1), default=1, help="Timed passes per cell.")
@click.option("--train-steps", type=click.IntRange(min=1), default=20, help="Train scenario: steps per strategy.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the torch backend.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="ONNX Runtime intra-op threads.")
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    default="bench/results/latest",
    help="Folder for results.json/.csv/.md and plots.",
)
@click.pass_context
@kit_errors
def bench(
    ctx,
    model,
    export_dir,
    no_weights,
    config_overrides,
    scenario,
    backends,
    strategies,
    fixed_lengths,
    max_length,
    batch_sizes,
    data_dir,
    limit,
    all_rows,
    warmup,
    repeats,
    train_steps,
    compile_,
    threads,
    output,
):
    """Accuracy, latency percentiles and throughput for fixed / dynamic / sorted batches across
    PyTorch and ONNX Runtime. `nsmckit bench compare A.json B.json` prints ratios of two runs."""
    if ctx.invoked_subcommand is not None:
        return
    from pathlib import Path

    from rich.console import Console

    from kit.bench import BenchConfig, run_bench
    from kit.bench_report import rich_table, write_outputs
    from kit.data import DataConfig

    console = Console()
    config = BenchConfig(
        model=model,
        export=export_dir,
        no_weights=no_weights,
        config_overrides=config_overrides,
        scenario=scenario,
        backends=backends,
        strategies=strategies,
        fixed_lengths=fixed_lengths,
        max_length=max_length,
        batch_sizes=batch_sizes,
        data=DataConfig(data_dir=data_dir, val_ratio=0.0),
        limit=None if all_rows else limit,
        warmup=warmup,
        repeats=repeats,
        train_steps=train_steps,
        compile=compile_,
        threads=threads,
    )
    result = run_bench(config, progress=lambda line: console.print(f"[dim]{line}[/dim]"))
    console.print(rich_table(result))
    for path in write_outputs(result, Path(output)):
        console.print(f"wrote {path}")


@bench.command()
@click.argument("a", type=click.Path(dir_okay=False, exists=True))
@click.argument("b", type=click.Path(dir_okay=False, exists=True))
@kit_errors
def compare(a, b):
    """Throughput and p50 latency ratios (B/A) for the cells two results.json files share."""
    from rich.console import Console

    from kit.bench_report import compare_table, load

    Console().print(compare_table(load(a), load(b), a, b))


def serve_option(flag: str, **kwargs):
    """A `serve` option that can also be set by NSMC_SERVE_<FLAG> (containers configure by environment)."""
    envvar = "NSMC_SERVE_" + flag.split("/")[0].lstrip("-").replace("-", "_").upper()
    return click.option(flag, envvar=envvar, show_envvar=True, **kwargs)


def batcher_option(flag: str, type: click.ParamType, help: str):
    """A `serve` option for the BatcherConfig field of the same name; the dataclass holds its default."""
    return serve_option(flag, type=type, default=getattr(BatcherConfig, flag.lstrip("-").replace("-", "_")), help=help)


@main.command()
@click.argument("export_dir", type=click.Path(file_okay=False), envvar="NSMC_SERVE_EXPORT")
@serve_option("--host", default="0.0.0.0")
@serve_option("--port", type=int, default=8000)
@serve_option("--variant", default=None, help="Export variant (fp32, O2, int8, ...).  [default: the export's default]")
@serve_option(
    "--provider",
    type=click.Choice(["auto", "cuda", "cpu"]),
    default="auto",
    help="auto: CUDA when onnxruntime-gpu sees a GPU, else CPU.",
)
@serve_option(
    "--threads", type=click.IntRange(min=1), default=None, help="ONNX Runtime intra-op threads.  [default: all cores]"
)
@serve_option(
    "--spin/--no-spin",
    default=False,
    help="Let idle ONNX Runtime threads busy-wait for the next call: lower latency on an idle machine, "
    "but they steal the cores the HTTP stack needs under load.",
)
@batcher_option("--max-batch-tokens", click.IntRange(min=1), "Padded positions per batch (longest x count).")
@batcher_option("--max-batch-size", click.IntRange(min=1), "Sequences per batch (1 turns dynamic batching off).")
@batcher_option("--max-wait-ms", click.FloatRange(min=0), "How long a request may wait for others to share its batch.")
@batcher_option("--max-queue", click.IntRange(min=1), "Sequences waiting; beyond this requests get 429.")
@batcher_option(
    "--call-cost-tokens",
    click.IntRange(min=0),
    "A batch is length-sorted and split into model calls minimising padded positions + this price per call. "
    "Raise it on GPUs, where calls are expensive and padding is cheap.",
)
@batcher_option(
    "--parallel-calls",
    click.IntRange(min=1),
    "Batches in the model at once. On CPU, N calls with --threads 1 each avoid cross-core synchronisation.",
)
@serve_option("--access-log/--no-access-log", default=True, help="Log every request (uvicorn access log).")
@serve_option("--max-texts", type=click.IntRange(min=1), default=256, help="Texts per request; beyond this 413.")
@serve_option(
    "--max-body-bytes", type=click.IntRange(min=1), default=1 << 20, help="Request body size; beyond this 413."
)
@kit_errors
def serve(
    export_dir,
    host,
    port,
    variant,
    provider,
    threads,
    spin,
    max_batch_tokens,
    max_batch_size,
    max_wait_ms,
    max_queue,
    call_cost_tokens,
    parallel_calls,
    access_log,
    max_texts,
    max_body_bytes,
):
    """Serve EXPORT_DIR (from `nsmckit export --onnx`) over HTTP with dynamic batching.

    Endpoints: POST /predict, GET /health, GET /info, GET /metrics (Prometheus)."""
    from kit.server import ServeConfig
    from kit.server import serve as run_server

    run_server(
        ServeConfig(
            export_dir=export_dir,
            variant=variant,
            provider=provider,
            threads=threads,
            spinning=spin,
            max_texts=max_texts,
            max_body_bytes=max_body_bytes,
            batching=BatcherConfig(
                max_batch_tokens=max_batch_tokens,
                max_batch_size=max_batch_size,
                max_wait_ms=max_wait_ms,
                max_queue=max_queue,
                call_cost_tokens=call_cost_tokens,
                parallel_calls=parallel_calls,
            ),
        ),
        host=host,
        port=port,
        access_log=access_log,
    )


@main.command()
@click.argument("url")
@click.option("--concurrency", default="1,8,32,128", callback=int_list, help="Comma-separated concurrency levels.")
@click.option("--duration", type=click.FloatRange(min=0.1), default=10.0, help="Seconds per level.")
@click.option("--requests", type=click.IntRange(min=1), default=None, help="Stop a level after this many requests.")
@click.option("--texts-per-request", type=click.IntRange(min=1), default=1)
@click.option(
    "--texts-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="One text per line.  [default: NSMC test reviews]",
)
@data_dir_option("NSMC folder for the default texts.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback URL.")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Write results.json/.csv/.md here.")
@kit_errors
def loadtest(url, concurrency, duration, requests, texts_per_request, texts_file, data_dir, allow_remote, output):
    """Load-test a running `nsmckit serve` at URL: throughput, latency percentiles and errors per concurrency."""
    from pathlib import Path

    from rich.console import Console

    from kit.bench_report import rich_table, write_outputs
    from kit.loadtest import LoadtestConfig, read_texts, run_loadtest

    if texts_file:
        texts = read_texts(texts_file)
    else:
        from kit.data import DataConfig, load_nsmc

        texts = tuple(load_nsmc(DataConfig(data_dir=data_dir, val_ratio=0.0)).test.texts)
    console = Console()
    result = run_loadtest(
        LoadtestConfig(
            url=url,
            concurrency=concurrency,
            duration_s=duration,
            requests=requests,
            texts_per_request=texts_per_request,
            texts=texts,
            allow_remote=allow_remote,
        ),
        progress=lambda line: console.print(f"[dim]{line}[/dim]"),
    )
    console.print(rich_table(result))
    if output:
        for path in write_outputs(result, Path(output)):
            console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
