"""A finished run's headline numbers for the terminal, read from its run.json."""

from __future__ import annotations

from rich.table import Table

from kit.records import RANDOM, started_from_random_weights
from kit.tables import titled_table


def finetune_table(run: dict) -> Table:
    """The run's headline numbers, as saved in run.json."""
    train, test, config = run["train"], run["test"], run["config"]
    random = RANDOM if started_from_random_weights(run) else ""
    table = titled_table(f"nsmckit finetune: {config['model']} ({config['strategy']}, {train['precision']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        (
            "train rows / val rows / test rows",
            f"{run['data']['train']:,} / {run['data']['val']:,} / {run['data']['test']:,}",
        ),
        ("optimizer steps", f"{train['steps']:,}"),
        ("train time (s, without evaluation)", f"{train['wall_s'] - train['eval_s']:.1f}"),
        ("train samples/s", f"{train['samples_per_s']:.1f}"),
        ("train real tokens/s", f"{train['real_tokens_per_s']:.0f}"),
        ("train padding efficiency", f"{train['padding_efficiency']:.3f}"),
    ]
    rows += [
        (
            f"epoch {e['epoch']:g} val accuracy / F1 / loss{random}",
            f"{e['val_accuracy']:.4f} / {e['val_f1']:.4f} / {e['val_loss']:.4f}",
        )
        for e in run["epochs"]
    ]
    if test:
        rows += [
            (f"test accuracy{random}", f"{test['accuracy']:.4f}"),
            ("test F1", f"{test['f1']:.4f}"),
            ("test loss", f"{test['loss']:.4f}"),
        ]
    rows.append(("saved to", run["output_dir"]))
    for name, value in rows:
        table.add_row(name, value)
    return table


def runs_table(runs: dict[str, dict]) -> Table:
    """Two or more runs' figures side by side (`nsmckit runs compare`)."""
    models = {_architecture(r) for r in runs.values()}
    caveat = ": different models, so speed and accuracy differ for that reason too" if len(models) > 1 else ""
    table = titled_table(f"nsmckit runs compare{caveat}")
    table.add_column("")
    for name in runs:
        table.add_column(name, justify="right")
    figures = [
        ("model", _architecture),
        ("weights", lambda r: "random" if started_from_random_weights(r) else "pretrained"),
        ("strategy / precision", lambda r: f"{r['config']['strategy']} / {r['train']['precision']}"),
        ("optimizer steps", lambda r: f"{r['train']['steps']:,}"),
        ("train time (s)", lambda r: f"{r['train']['wall_s'] - r['train']['eval_s']:.1f}"),
        ("train samples/s", lambda r: f"{r['train']['samples_per_s']:.1f}"),
        ("padding efficiency", lambda r: f"{r['train']['padding_efficiency']:.3f}"),
        ("best val accuracy", lambda r: f"{max((e['val_accuracy'] for e in r['epochs']), default=float('nan')):.4f}"),
        ("test accuracy", lambda r: f"{r['test']['accuracy']:.4f}" if r["test"] else "-"),
        ("test F1", lambda r: f"{r['test']['f1']:.4f}" if r["test"] else "-"),
        ("test loss", lambda r: f"{r['test']['loss']:.4f}" if r["test"] else "-"),
    ]
    for label, cell in figures:
        table.add_row(label, *(cell(run) for run in runs.values()))
    return table


def _architecture(run: dict) -> str:
    """The model a run trained, with its architecture overrides if any."""
    config = run["config"]
    overrides = config.get("config_overrides")
    return f"{config['model']} ({overrides})" if overrides else config["model"]
