"""Inference speed of the base-size encoder families NSMC's leaders use, on NSMC test lengths, in one run.

    python bench/families_cpu.py --data-dir ../shared/data/nsmc --tokenizer ../shared/models/klue-bert-base \
        --output bench/results/families-cpu

Each family is built at its published base size (random weights: speed does not depend on them) with the
klue tokenizer saved beside it, then `run_bench` times PyTorch fp32 on the same bucketed batches of the same
test rows. Writes results.json/csv/md per family and a summary.json with the CPU's flags. (Peak memory is
left out of the summary: the families share one process, whose peak only grows.)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

# The published base shapes (hidden 768, 12 heads): klue/bert-base, klue/roberta-base (514 positions, pad
# id 1), KcELECTRA-base (ELECTRA, embedding 768), and DistilBERT (6 layers).
FAMILIES = {
    "bert": {"model_type": "bert", "num_hidden_layers": 12, "max_position_embeddings": 512},
    "roberta": {"model_type": "roberta", "num_hidden_layers": 12, "max_position_embeddings": 514, "type_vocab_size": 1},
    "electra": {
        "model_type": "electra",
        "num_hidden_layers": 12,
        "max_position_embeddings": 512,
        "embedding_size": 768,
    },
    "distilbert": {"model_type": "distilbert", "n_layers": 6, "max_position_embeddings": 512},
}


def base_config(family: str, vocab_size: int, pad_id: int):
    from transformers import AutoConfig

    shape = dict(FAMILIES[family])
    model_type = shape.pop("model_type")
    if model_type == "distilbert":
        return AutoConfig.for_model(
            model_type, vocab_size=vocab_size, dim=768, n_heads=12, hidden_dim=3072, pad_token_id=pad_id, **shape
        )
    return AutoConfig.for_model(
        model_type,
        vocab_size=vocab_size,
        hidden_size=768,
        num_attention_heads=12,
        intermediate_size=3072,
        pad_token_id=pad_id,
        **shape,
    )


def main() -> None:
    from transformers import AutoTokenizer

    from kit.bench.config import BenchConfig
    from kit.bench.report import write_outputs
    from kit.bench.runner import run_bench
    from kit.data.splits import DataConfig
    from kit.environment import cpu_features

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--tokenizer", required=True, help="A folder with the klue tokenizer.")
    parser.add_argument("--output", required=True)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    output = Path(args.output)
    summary = {"cpu": cpu_features(), "rows": args.rows, "batch_size": args.batch_size, "families": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for family in FAMILIES:
            folder = Path(tmp) / family
            base_config(family, len(tokenizer), tokenizer.pad_token_id).save_pretrained(folder)
            tokenizer.save_pretrained(folder)
            config = BenchConfig(
                model=str(folder),
                no_weights=True,
                backends=("torch:fp32",),
                strategies=("bucketed",),
                batch_sizes=(args.batch_size,),
                limit=args.rows,
                data=DataConfig(data_dir=args.data_dir, val_ratio=0.0),
            )
            result = run_bench(config, progress=lambda line: None)
            write_outputs(result, output / family)
            cell = result.cells[0]
            summary["families"][family] = {"samples_per_s": cell.samples_per_s, "p50_ms": cell.latency_ms["p50"]}
            print(f"{family}: {cell.samples_per_s:,.1f} samples/s, p50 {cell.latency_ms['p50']:.1f} ms per batch")
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
