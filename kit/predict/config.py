"""What `nsmckit predict` is asked to do: the model, the input and output, the engine and its resources."""

from __future__ import annotations

from dataclasses import dataclass

from kit.data.readers import FORMATS, MAX_FIELDS
from kit.settings import setting

ENGINES = ("local", "ray")
PROVIDERS = ("auto", "cpu", "cuda")


@dataclass
class PredictConfig:
    model: str  # an export folder (export.json) or a `nsmckit finetune` output folder
    input: str | None = setting(
        None, "Text file to score: .txt (a text per line, or NSMC's TSV), .tsv, .csv, .jsonl, .parquet; - for stdin."
    )
    output: str | None = setting(
        None, "Write .jsonl, .csv or .parquet (by extension), in input order.  [default: JSONL on stdout]"
    )
    overwrite: bool = setting(False, "Replace an existing --output (never the input itself).")
    column: str = setting("document", "Column (.tsv/.csv/.parquet) or field (.jsonl) holding the text.")
    format: str = setting("auto", "Input format; auto: by extension.", choices=FORMATS)
    max_columns: int = setting(
        MAX_FIELDS,
        "JSONL: the most distinct fields across rows. Every output row carries every field, so rows with keys "
        "of their own would grow the output with the square of the rows.",
        min=1,
    )
    variant: str | None = setting(
        None,
        "Export variant (fp32, O2, int8, ov-bf16, ov-int8, ...); auto: the fastest valid one, timed on this "
        "machine first.  [default: the export's default]",
    )
    provider: str = setting(
        "auto", "auto: CUDA where it really loads, else the CPU; cuda: an error where it cannot.", choices=PROVIDERS
    )
    threads: int | None = setting(None, "ONNX Runtime or OpenVINO intra-op threads.  [default: all cores]", min=1)
    batch_size: int = setting(64, "Texts per model call (length-sorted within a chunk).", min=1)
    chunk_rows: int = setting(8192, "Rows read, scored and written at a time: bounds memory.", min=1)
    engine: str = setting(
        "local", "local: this process; ray: a Ray Data pipeline (pip install nsmckit[ray]).", choices=ENGINES
    )
    ray_address: str | None = setting(
        None, "Ray cluster to run on.  [default: RAY_ADDRESS, else a local Ray]", envvar="RAY_ADDRESS"
    )
    actors: int = setting(1, "Ray: scoring actors, each loading the model once.", min=1)
    cpus_per_actor: float = setting(
        1.0, "Ray: CPUs each actor reserves (also its ORT threads). Leave CPUs free for Ray's read tasks.", min=0.1
    )
    gpus_per_actor: float = setting(0.0, "Ray: GPUs each actor reserves (> 0 runs it on CUDA).", min=0)
    progress: bool = True
