"""`--variant auto`: the fastest variant of an export that passed its validation, measured on this machine.

Which variant is fastest depends on the CPU (OpenVINO bf16 wins where AMX computes it, int8 where only
VNNI does, and bf16 is slower than fp32 where it is emulated), so it is not read from a table: every
candidate that can run here is loaded and timed on the same reviews (the sample shipped with the kit,
length-sorted batches of the size the caller runs: `predict`'s --batch-size, the server's typical call),
best of a few passes, and the choice says why. The batch size matters: which variant leads changes with
the sequences per call (docs/openvino.md, bench/results/openvino-avx512_vnni/batch-sizes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.batching import predict_in_batches
from kit.data.nsmc import sample_reviews
from kit.errors import ModelError
from kit.manifest import Export, opened
from kit.runtime.backend import BackendOptions, BackendSpec
from kit.runtime.text_classifier import encode_ids

PROBE_TEXTS = 96
PROBE_PASSES = 3


@dataclass
class VariantChoice:
    name: str
    batch_size: int
    speeds: dict[str, float]  # samples/s per variant timed
    left_out: dict[str, str]  # variant -> why it was not a candidate
    backend: object = field(repr=False)  # the chosen variant, loaded and warm: the probe's own, not a second load

    @property
    def reason(self) -> str:
        timed = ", ".join(f"{n} {s:,.1f}/s" for n, s in sorted(self.speeds.items(), key=lambda kv: -kv[1]))
        skipped = "".join(f"; {n} left out: {why}" for n, why in self.left_out.items())
        return (
            f"--variant auto chose {self.name}, the fastest here ({timed}; samples/s on this machine, batches of "
            f"{self.batch_size}){skipped}"
        )


def _candidates(export: Export, options: BackendOptions) -> tuple[list[tuple[str, str]], dict[str, str]]:
    from kit.runtime.registry import unavailable_reason, variant_backend

    candidates, left_out = [], {}
    for variant in export.variants.values():
        name, backend = variant["name"], variant_backend(variant)
        reason = unavailable_reason(BackendSpec(backend, name), options.provider)
        if not variant["valid"]:
            reason = "judged invalid at export"
        elif variant.get("provider") == "cuda" and options.provider == "cpu":
            reason = "a GPU variant, and --provider is cpu"
        if reason:
            left_out[name] = reason
        else:
            candidates.append((backend, name))
    return candidates, left_out


def choose_variant(
    export: Export | str | Path, options: BackendOptions = BackendOptions(), batch_size: int = 32
) -> VariantChoice:
    """Time every candidate variant and return the fastest, with the figures that chose it."""
    from kit.runtime.registry import build_backend

    export = opened(export)
    texts = sample_reviews()
    candidates, left_out = _candidates(export, options)
    speeds: dict[str, float] = {}
    fastest = None
    for backend_name, name in candidates:
        try:
            backend = build_backend(BackendSpec(backend_name, name), export, options)
        except ModelError as e:  # e.g. a CUDA variant where CUDA cannot start
            left_out[name] = str(e)
            continue
        seqs = encode_ids(backend.tokenizer, texts[:PROBE_TEXTS])
        best = float("inf")
        for _ in range(1 + PROBE_PASSES):  # one more: the slower first pass (allocations) never is the best
            start = time.perf_counter()
            logits = predict_in_batches(
                backend.predict, seqs, "bucketed", batch_size, backend.max_length, backend.pad_id, backend.inputs
            )
            best = min(best, time.perf_counter() - start)
        if not np.isfinite(logits).all():
            left_out[name] = "its outputs are not finite (NaN or inf)"
            continue
        speeds[name] = len(seqs) / best
        if fastest is None or speeds[name] > speeds[fastest.variant["name"]]:
            fastest = backend
        del backend  # a slower one is released before the next loads
    if fastest is None:
        reasons = "; ".join(f"{n}: {w}" for n, w in left_out.items())
        raise ModelError(f"{export.folder}: no variant can run here ({reasons})")
    return VariantChoice(fastest.variant["name"], batch_size, speeds, left_out, fastest)
