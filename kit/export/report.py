"""An export's variants and their validation, for the terminal, read from export.json."""

from __future__ import annotations

from rich.table import Table

from kit.export.validation import format_points
from kit.records import RANDOM, started_from_random_weights
from kit.runtime.export_folder import verdict_of
from kit.tables import titled_table
from kit.task import Task


def export_table(manifest: dict, path: str) -> Table:
    """Per variant: size, agreement with PyTorch fp32, accuracy on labels where judged, and whether it passed
    (the rule each variant was held to is in the caption)."""
    rules: dict[str, list[str]] = {}
    for v in manifest["variants"]:
        rules.setdefault(v["validation"]["threshold"], []).append(v["name"])
    task = Task.of_record(manifest)
    table = titled_table(
        f"nsmckit export: {path}",
        caption=f"labels {', '.join(task.labels)}; {task.family or 'model'}, max_length {task.max_length}, "
        f"truncating on the {task.truncation_side}. Validated on {manifest['validation_texts']}. Valid when: "
        + "; ".join(f"{', '.join(names)}: {rule}" for rule, names in rules.items()),
    )
    accuracy = f"accuracy{RANDOM}" if started_from_random_weights(manifest) else "accuracy"
    for column in ("variant", "MB", "max |Δlogit|", "agreement", accuracy, "Δ vs fp32 (95% CI), rows", "verdict"):
        table.add_column(column, justify="left" if column in ("variant", "verdict") else "right")
    # The baseline the approximate variants were judged against: PyTorch fp32 on the same labeled rows (the
    # most any variant's rounds used), which the exact fp32 variant reproduces (its logits match to 1e-4).
    judged = [v["validation"]["labeled"] for v in manifest["variants"] if v["validation"].get("labeled")]
    baseline = max(judged, key=lambda j: j["rows"])["reference_accuracy"] if judged else None
    for v in manifest["variants"]:
        check = v["validation"]
        labeled = check.get("labeled")
        if labeled:
            figure = f"{labeled['accuracy']:.4f}"
        else:
            figure = f"{baseline:.4f}" if baseline is not None and v["name"] == "fp32" else ""
        table.add_row(
            v["name"],
            f"{v['bytes'] / 1e6:.1f}",
            f"{check['max_abs_diff']:.1e}",
            f"{check['agreement']:.2%}",
            figure,
            f"{format_points(labeled['difference'], labeled['ci95'])}, {labeled['rows']:,}" if labeled else "",
            VERDICT_STYLE[verdict_of(v)],
        )
    return table


VERDICT_STYLE = {
    "valid": "[green]valid[/green]",
    "undecided": "[yellow]undecided[/yellow]",
    "invalid": "[red]INVALID[/red]",
}
