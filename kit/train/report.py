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
            f"epoch {e['epoch']:g} val accuracy / {f1_name(e, 'val_')} / loss{random}",
            f"{e['val_accuracy']:.4f} / {f1_value(e, 'val_'):.4f} / {e['val_loss']:.4f}",
        )
        for e in run["epochs"]
    ]
    if test:
        rows += [
            (f"test accuracy{random}", f"{test['accuracy']:.4f}"),
            (f"test {f1_name(test)}", f"{f1_value(test):.4f}"),
        ]
        labels = run.get("task", {}).get("labels", [])
        if len(labels) == 2 and "macro_f1" in test:
            rows.append((f"test F1 of {labels[1]} (class 1)", f"{test['f1']:.4f}"))
        rows += [(f"test F1 of {name}", f"{value:.4f}") for name, value in test.get("per_class_f1", {}).items()]
        rows.append(("test loss", f"{test['loss']:.4f}"))
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
        ("test macro F1", lambda r: f"{r['test']['macro_f1']:.4f}" if "macro_f1" in r["test"] else "-"),
        ("test loss", lambda r: f"{r['test']['loss']:.4f}" if r["test"] else "-"),
    ]
    for label, cell in figures:
        table.add_row(label, *(cell(run) for run in runs.values()))
    return table


def f1_name(metrics: dict, prefix: str = "") -> str:
    """Macro F1 where a record has it; records made before it hold only class 1's F1, named so."""
    return "macro F1" if f"{prefix}macro_f1" in metrics else "F1 (class 1)"


def f1_value(metrics: dict, prefix: str = "") -> float:
    return metrics.get(f"{prefix}macro_f1", metrics.get(f"{prefix}f1", float("nan")))


def _architecture(run: dict) -> str:
    """The model a run trained, with its architecture overrides if any."""
    config = run["config"]
    overrides = config.get("config_overrides")
    return f"{config['model']} ({overrides})" if overrides else config["model"]
