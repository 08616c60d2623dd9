"""The kit's best CPU path beside what a user would write instead, end to end (texts in, labels out,
tokenization included), in one process on the same reviews:

- transformers `pipeline("text-classification")` on PyTorch fp32, batch 32, in the data's order;
- Optimum's `ORTModelForSequenceClassification` on the export's int8 file, tokenizer padding each batch;
- the kit: `load_classifier(export, variant)` for each variant asked (length-sorted batches of 32).

(`optimum-intel`'s OVModelForSequenceClassification is not here: its releases need optimum 2.3 and
torchvision, which the kit's pins do not allow.)

    python bench/peers_cpu.py EXPORT --variants int8,ov-bf16,ov-int8 --rows 1024 --output peers.json

EXPORT is an export of a model with weights, or one made with --no-weights (the peers then get the same
seeded random weights, saved to a temporary folder). Best of `--passes` timed passes after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def best_of(passes: int, run) -> tuple[float, np.ndarray]:
    run(warmup=True)
    times, labels = [], None
    for _ in range(passes):
        start = time.perf_counter()
        labels = run(warmup=False)
        times.append(time.perf_counter() - start)
    return min(times), labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export")
    parser.add_argument("--variants", default="int8,ov-bf16,ov-int8")
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--data-dir", default="../shared/data/nsmc")
    parser.add_argument("--output")
    args = parser.parse_args()

    from optimum.onnxruntime import ORTModelForSequenceClassification
    from transformers import AutoTokenizer, pipeline, set_seed

    from kit.data.nsmc import read_nsmc_file
    from kit.environment import environment
    from kit.manifest import Export
    from kit.runtime.classifiers import load_classifier
    from kit.runtime.hf import load_model

    export = Export.open(args.export)
    manifest = export.manifest
    texts = read_nsmc_file(Path(args.data_dir) / "ratings_test.txt").texts[: args.rows]
    warm = texts[:64]
    max_length = export.task.max_length
    results: dict[str, dict] = {}

    def record(name: str, seconds: float, labels) -> None:
        results[name] = {"samples_per_s": len(texts) / seconds, "labels": np.asarray(labels).tolist()}
        print(f"{name}: {len(texts) / seconds:,.1f} samples/s", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        source = manifest["source"]
        set_seed(0)  # the export's seed: random weights match the export's
        model = load_model(
            export.source_model(), no_weights=source["no_weights"], config_overrides=source["config_overrides"]
        )
        model.save_pretrained(tmp)
        tokenizer = AutoTokenizer.from_pretrained(export.folder)
        classify = pipeline("text-classification", model=tmp, tokenizer=tokenizer, device="cpu")

        def hf_pipeline(warmup: bool):
            out = classify(warm if warmup else texts, batch_size=32, truncation=True, max_length=max_length)
            return [model.config.label2id[o["label"]] for o in out]

        record("transformers pipeline (torch fp32)", *best_of(args.passes, hf_pipeline))

    ort_model = ORTModelForSequenceClassification.from_pretrained(export.folder, file_name="model_int8.onnx")

    def optimum_ort(warmup: bool):
        labels = []
        rows = warm if warmup else texts
        for i in range(0, len(rows), 32):
            batch = tokenizer(
                rows[i : i + 32], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
            labels += ort_model(**batch).logits.argmax(-1).tolist()
        return labels

    record("Optimum ORTModelForSequenceClassification (int8)", *best_of(args.passes, optimum_ort))

    for variant in args.variants.split(","):
        classifier = load_classifier(export, variant, provider="cpu")

        def kit(warmup: bool, classifier=classifier):
            return classifier.predict_logits(warm if warmup else texts, batch_size=32).argmax(-1)

        record(f"nsmckit {variant}", *best_of(args.passes, kit))

    report = {
        "rows": len(texts),
        "export": str(export.folder),
        "environment": environment(),
        "results": {k: {"samples_per_s": v["samples_per_s"]} for k, v in results.items()},
    }
    first = next(iter(results.values()))["labels"]
    for name, value in results.items():
        report["results"][name]["agreement_with_pipeline"] = float(np.mean(np.array(value["labels"]) == first))
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
