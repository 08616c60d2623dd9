"""Benchmark: what each batching strategy costs when fine-tuning (not a test).

Fine-tunes the same architecture for the same number of optimizer steps with
fixed, dynamic and bucketed batches and records samples/s, real tokens/s and
padding efficiency, with the command and environment, in OUTPUT/results.{json,md}.

    python bench/finetune_strategies.py --model ../shared/models/klue-bert-base --no-weights \
        --data-dir ../shared/data/nsmc --limit 4000 --max-steps 24 --output bench/results/finetune-strategies-cpu
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from kit.batching import STRATEGIES
from kit.data import DataConfig, load_nsmc
from kit.environment import environment
from kit.finetune import FinetuneConfig, finetune


@click.command()
@click.option("--model", required=True, help="Hub id or local folder.")
@click.option("--no-weights", is_flag=True, help="Random weights from the config (speed does not depend on them).")
@click.option("--data-dir", envvar="NSMC_DATA_DIR", required=True)
@click.option("--limit", type=int, default=4000, show_default=True, help="Reviews to draw batches from.")
@click.option("--max-steps", type=int, default=24, show_default=True, help="Optimizer steps per strategy.")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--max-length", type=int, default=128, show_default=True)
@click.option("--precision", default="auto", show_default=True)
@click.option("--output", type=click.Path(file_okay=False), required=True)
def main(model, no_weights, data_dir, limit, max_steps, batch_size, max_length, precision, output):
    splits = load_nsmc(DataConfig(data_dir=data_dir, val_ratio=0.0, limit=limit))
    rows = []
    for strategy in STRATEGIES:
        with tempfile.TemporaryDirectory() as tmp:
            result = finetune(
                FinetuneConfig(
                    model=model,
                    no_weights=no_weights,
                    output_dir=tmp,
                    strategy=strategy,
                    max_length=max_length,
                    batch_size=batch_size,
                    max_steps=max_steps,
                    precision=precision,
                    evaluate_test=False,
                    save_model=False,
                ),
                splits,
            )
        train = result.train
        rows.append(
            {
                "strategy": strategy,
                **{
                    k: train[k]
                    for k in (
                        "steps",
                        "samples",
                        "wall_s",
                        "samples_per_s",
                        "real_tokens_per_s",
                        "padding_efficiency",
                        "precision",
                    )
                },
            }
        )
        print(
            f"{strategy}: {train['samples_per_s']:.2f} samples/s, padding efficiency {train['padding_efficiency']:.3f}"
        )

    fixed = rows[0]["samples_per_s"]
    for row in rows:
        row["speedup_vs_fixed"] = row["samples_per_s"] / fixed
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    command = "python " + " ".join(sys.argv)
    env = environment()
    (out / "results.json").write_text(
        json.dumps({"command": command, "environment": env, "results": rows}, indent=2) + "\n"
    )
    lines = [
        f"# Fine-tuning cost per batching strategy ({model}{', random weights' if no_weights else ''})",
        "",
        f"Device: {env['device']} ({env['cpu']}, {env['cpu_count']} cores); torch {env['libraries'].get('torch')}, "
        f"transformers {env['libraries'].get('transformers')}; commit {env['git_commit']}.",
        "",
        f"{max_steps} optimizer steps of batch {batch_size} per strategy, max length {max_length}, "
        f"{rows[0]['precision']}, drawn from {limit} NSMC train reviews.",
        "",
        "| strategy | samples/s | real tokens/s | padding efficiency | speed-up vs fixed |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['strategy']} | {r['samples_per_s']:.2f} | {r['real_tokens_per_s']:.0f} | "
        f"{r['padding_efficiency']:.3f} | {r['speedup_vs_fixed']:.2f}x |"
        for r in rows
    ]
    lines += ["", "Reproduce:", "", "```", command, "```"]
    (out / "results.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
