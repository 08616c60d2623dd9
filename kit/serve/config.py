"""The server's settings: HTTP limits, ONNX Runtime threads and dynamic batching. Kept apart from
the app so the CLI reads their defaults and help without importing FastAPI."""

from __future__ import annotations

from dataclasses import dataclass, field

from kit.settings import setting


@dataclass
class BatcherConfig:
    max_batch_tokens: int = setting(16384, "Padded positions per batch (longest x count).", min=1)
    max_batch_size: int = setting(64, "Sequences per batch (1 turns dynamic batching off).", min=1)
    max_wait_ms: float = setting(5.0, "How long a request may wait for others to share its batch.", min=0)
    max_queue: int = setting(4096, "Sequences waiting; beyond this requests get 429.", min=1)
    call_cost_tokens: int = setting(
        128,
        "A batch is length-sorted and split into model calls minimising padded positions + this price per call. "
        "Raise it on GPUs, where calls are expensive and padding is cheap.",
        min=0,
    )
    parallel_calls: int = setting(
        1, "Batches in the model at once. On CPU, N calls with --threads 1 each avoid cross-core sync.", min=1
    )


@dataclass
class ServeConfig:
    export_dir: str
    variant: str | None = setting(None, "Export variant (fp32, O2, int8, ...).  [default: the export's default]")
    provider: str = setting(
        "auto", "auto: CUDA when onnxruntime-gpu sees a GPU, else CPU.", choices=("auto", "cuda", "cpu")
    )
    threads: int | None = setting(None, "ONNX Runtime intra-op threads.  [default: all cores]", min=1)
    spinning: bool = setting(
        False,
        "Let idle ONNX Runtime threads busy-wait for the next call: lower latency on an idle machine, "
        "but they steal the cores the HTTP stack needs under load.",
        flag="--spin/--no-spin",
    )
    batching: BatcherConfig = field(default_factory=BatcherConfig)
    max_texts: int = setting(256, "Texts per request; beyond this 413.", min=1)
    max_body_bytes: int = setting(1 << 20, "Request body size; beyond this 413.", min=1)
    model_id: str | None = None  # reported in responses; default: the export folder name
