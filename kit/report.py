"""Rendering results for people: rich tables for the terminal."""

from __future__ import annotations

from rich.table import Table

from kit.lengths import LengthStats


def length_table(stats: list[LengthStats], batch_size: int) -> Table:
    """One column per split, so the table stays narrow however many strategies there are."""
    table = Table(title=f"Token lengths; padding efficiency at batch size {batch_size}")
    table.add_column("")
    for s in stats:
        table.add_column(s.split, justify="right")
    rows = [("rows", lambda s: f"{s.rows:,}"), ("mean tokens", lambda s: f"{s.mean:.2f}")]
    rows += [(name, lambda s, name=name: f"{s.percentiles[name]:g}") for name in stats[0].percentiles]
    rows += [("max", lambda s: str(s.max)), ("real tokens", lambda s: f"{s.real_tokens:,}")]
    rows += [
        (f"efficiency {label}", lambda s, label=label: f"{s.efficiency[label]:.3f}") for label in stats[0].efficiency
    ]
    for name, cell in rows:
        table.add_row(name, *(cell(s) for s in stats))
    return table


def finetune_table(run: dict) -> Table:
    """The run's headline numbers, as saved in run.json."""
    train, test, config = run["train"], run["test"], run["config"]
    table = Table(title=f"nsmckit finetune: {config['model']} ({config['strategy']}, {train['precision']})")
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
            f"epoch {e['epoch']:g} val accuracy / F1 / loss",
            f"{e['val_accuracy']:.4f} / {e['val_f1']:.4f} / {e['val_loss']:.4f}",
        )
        for e in run["epochs"]
    ]
    if test:
        rows += [
            ("test accuracy", f"{test['accuracy']:.4f}"),
            ("test F1", f"{test['f1']:.4f}"),
            ("test loss", f"{test['loss']:.4f}"),
        ]
    rows.append(("saved to", run["output_dir"]))
    for name, value in rows:
        table.add_row(name, value)
    return table


def export_table(manifest: dict, path: str) -> Table:
    """Per variant: size, agreement with PyTorch fp32 and whether it passed."""
    table = Table(title=f"nsmckit export: {path} (validated on {manifest['validation_texts']})")
    for column in ("variant", "file", "MB", "max |Δlogit|", "agreement", "threshold", "valid"):
        table.add_column(column, justify="right" if column in ("MB", "max |Δlogit|", "agreement") else "left")
    for v in manifest["variants"]:
        check = v["validation"]
        table.add_row(
            v["name"],
            v["file"],
            f"{v['bytes'] / 1e6:.1f}",
            f"{check['max_abs_diff']:.2e}",
            f"{check['agreement']:.2%}",
            check["threshold"],
            "[green]yes[/green]" if v["valid"] else "[red]NO[/red]",
        )
    return table
