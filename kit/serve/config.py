"""The server's settings: HTTP limits, connection limits, ONNX Runtime threads and dynamic batching.
Kept apart from the app so the CLI reads their defaults and help without importing FastAPI."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field

from kit.settings import setting

ACCEPT_BACKLOG = 128  # asyncio accepts up to this many connections at once, before the limit sees them
FD_RESERVE = 64  # open files the server needs besides client sockets: the model, logs, the event loop


def max_connections(config: ConnectionConfig) -> int:
    """As set, else low enough under the process's open-file limit that accepting a burst of connections never
    fails with EMFILE."""
    if config.max_connections:
        return config.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(8, min(1024, soft - ACCEPT_BACKLOG - FD_RESERVE))


@dataclass
class ConnectionConfig:
    """How long a client may take to send a request, and how many may be connected at once."""

    header_timeout_s: float = setting(
        10.0,
        "Seconds a connection may take to send a request's headers; a slower one is dropped.",
        min=0.1,
        flag="--header-timeout",
    )
    body_timeout_s: float = setting(
        30.0, "Seconds a request may take to send its body once the headers are in.", min=0.1, flag="--body-timeout"
    )
    write_timeout_s: float = setting(
        10.0,
        "Seconds a client may leave its answers unread once the send buffer is full; then it is dropped.",
        min=0.1,
        flag="--write-timeout",
    )
    keep_alive_s: int = setting(5, "Seconds an idle keep-alive connection stays open.", min=1, flag="--keep-alive")
    max_connections: int | None = setting(
        None,
        "Open connections at most. At the limit a new connection displaces, of those the server is waiting on "
        "(for a request, or to read its answers), the one with the lowest bytes per second since it connected; "
        "else it is closed.  [default: the open-file limit minus 192, at most 1024]",
        min=1,
    )


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
        1,
        "Batches in the model at once. On CPU, N calls with --threads 1 each avoid cross-core sync; OpenVINO "
        "compiles that many streams (its throughput mode) for them.",
        min=1,
    )


@dataclass
class ServeConfig:
    export_dir: str
    variant: str | None = setting(
        None,
        "Export variant (fp32, O2, int8, ov-bf16, ov-int8, ...); auto: the fastest valid one, timed on this "
        "machine at startup.  [default: the export's default]",
    )
    provider: str = setting(
        "auto",
        "auto: CUDA where onnxruntime-gpu really loads it, else the CPU (/info says which); cuda: refuse to start "
        "where it cannot.",
        choices=("auto", "cuda", "cpu"),
    )
    threads: int | None = setting(None, "ONNX Runtime or OpenVINO intra-op threads.  [default: all cores]", min=1)
    spinning: bool = setting(
        False,
        "Let idle ONNX Runtime threads busy-wait for the next call: lower latency on an idle machine, "
        "but they steal the cores the HTTP stack needs under load.",
        flag="--spin/--no-spin",
    )
    batching: BatcherConfig = field(default_factory=BatcherConfig)
    connections: ConnectionConfig = field(default_factory=ConnectionConfig)
    max_texts: int = setting(256, "Texts per request; beyond this 413.", min=1)
    max_body_bytes: int = setting(
        1 << 20, "Request body size, counted as it arrives (chunked or not); beyond this 413.", min=1
    )
    model_id: str | None = None  # reported in responses; default: what the export was made from (default_model_id)

    def contradictions(self) -> list[str]:
        """Settings that are each in range but cannot work together, one line each."""
        found = []
        if self.max_texts > self.batching.max_queue:
            found.append(
                f"--max-texts {self.max_texts} is above --max-queue {self.batching.max_queue}: a request of that "
                "many texts could never be queued and would get 429 forever; lower --max-texts or raise --max-queue"
            )
        return found
