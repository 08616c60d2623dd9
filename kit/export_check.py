"""Proof that an export agrees with PyTorch, on real text, under every batching strategy.

Optimum's own validation feeds random attention masks, which ONNX Runtime's fused
attention (O2 and up) does not expect; real reviews with right padding are what the
model will see, so that is what we compare on (plus hard cases: empty, emoji,
Latin/Hangul mix, longer than max_length).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from kit.batching import STRATEGIES, predict_in_batches

HARD_CASES = [
    "",
    "😂😂 이거 진짜 👍👍 최고 🎬🍿",
    "CG는 awesome한데 story가 너무 boring했음 ㅋㅋ 7/10",
    "처음부터 끝까지 지루하고 배우들 연기도 어색했다 " * 60,  # far beyond max_length: truncation
]
EXACT_MAX_DIFF = 1e-4  # fp32 variants: logits must match
APPROX_MIN_AGREEMENT = 0.995  # fp16 / int8 / approximated-GELU variants: predictions must agree


@dataclass
class VariantCheck:
    """Agreement of one variant with PyTorch fp32, per batching strategy."""

    exact: bool  # held to the fp32 logit threshold, else to prediction agreement only
    per_strategy: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def max_abs_diff(self) -> float:
        return max(s["max_abs_diff"] for s in self.per_strategy.values())

    @property
    def agreement(self) -> float:
        return min(s["agreement"] for s in self.per_strategy.values())

    @property
    def valid(self) -> bool:
        if self.exact:
            return self.max_abs_diff <= EXACT_MAX_DIFF and self.agreement == 1.0
        return self.agreement >= APPROX_MIN_AGREEMENT

    def to_dict(self) -> dict:
        threshold = f"Δ ≤ {EXACT_MAX_DIFF:g}, 100%" if self.exact else f"≥ {APPROX_MIN_AGREEMENT:.1%} agree"
        return {
            **asdict(self),
            "max_abs_diff": self.max_abs_diff,
            "agreement": self.agreement,
            "valid": self.valid,
            "threshold": threshold,
        }


def validation_texts(data_dir: str | None, rows: int) -> tuple[list[str], str]:
    """NSMC test reviews when a local copy is given, else the sample shipped with the kit; plus hard cases."""
    if data_dir and (Path(data_dir) / "ratings_test.txt").is_file():
        from kit.data import read_nsmc_file

        texts, source = read_nsmc_file(Path(data_dir) / "ratings_test.txt").texts[:rows], f"{data_dir}/ratings_test.txt"
    else:
        sample = resources.files("kit").joinpath("sample_reviews.txt").read_text(encoding="utf-8")
        texts, source = sample.splitlines()[:rows], "kit/sample_reviews.txt"
    return texts + HARD_CASES, f"{len(texts)} reviews from {source} + {len(HARD_CASES)} hard cases"


def logits_per_strategy(predict, seqs: list[np.ndarray], batch_size: int, max_length: int, pad_id: int):
    return {s: predict_in_batches(predict, seqs, s, batch_size, max_length, pad_id) for s in STRATEGIES}


def compare(reference: dict[str, np.ndarray], candidate: dict[str, np.ndarray], exact: bool) -> VariantCheck:
    check = VariantCheck(exact)
    for strategy, ref in reference.items():
        got = candidate[strategy]
        check.per_strategy[strategy] = {
            "max_abs_diff": float(np.abs(got - ref).max()),
            "agreement": float(np.mean(got.argmax(-1) == ref.argmax(-1))),
        }
    return check
