"""Proof that an export agrees with PyTorch, on real text, under every batching strategy.

Optimum's own validation feeds random attention masks, which ONNX Runtime's fused
attention (O2 and up) does not expect; real reviews with right padding are what the
model will see, so that is what we compare on (plus hard cases: empty, emoji,
Latin/Hangul mix, longer than max_length).

Exact variants (fp32, O1, O2) must match PyTorch's logits. Approximate ones (O3, O4, int8)
are judged on labels when labeled reviews are at hand: their accuracy against PyTorch fp32's
on the same rows, a paired difference with its 95% interval, within a tolerance. Without
labels, prediction agreement stands in (a weaker judge: near-zero margins flip on noise).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
APPROX_MIN_AGREEMENT = 0.995  # approximate variants without labels: predictions must agree
Z95 = 1.959964


@dataclass
class PairedAccuracy:
    """A variant's accuracy against the reference's on the same labeled rows. Only the discordant pairs
    (McNemar's b and c) move the difference, so its interval is the paired one, not two independent ones."""

    rows: int
    reference_accuracy: float
    accuracy: float
    reference_only: int  # rows the reference gets right and the variant wrong
    variant_only: int  # rows the variant gets right and the reference wrong
    tolerance: float  # the largest accuracy drop a valid variant may show

    @property
    def difference(self) -> float:
        return (self.variant_only - self.reference_only) / self.rows

    @property
    def ci95(self) -> tuple[float, float]:
        n, b, c = self.rows, self.reference_only, self.variant_only
        half = Z95 * np.sqrt(max(b + c - (c - b) ** 2 / n, 0.0)) / n
        return self.difference - half, self.difference + half

    @property
    def valid(self) -> bool:
        return self.difference >= -self.tolerance

    def to_dict(self) -> dict:
        return {**asdict(self), "difference": self.difference, "ci95": list(self.ci95), "valid": self.valid}


def format_points(difference: float, ci95) -> str:
    """An accuracy difference and its interval in points: `-0.05 pt [-0.22, +0.12]`."""
    low, high = ci95
    return f"{difference * 100:+.2f} pt [{low * 100:+.2f}, {high * 100:+.2f}]"


def paired_accuracy(labels: np.ndarray, reference: np.ndarray, preds: np.ndarray, tolerance: float) -> PairedAccuracy:
    ref_right, right = reference == labels, preds == labels
    return PairedAccuracy(
        rows=len(labels),
        reference_accuracy=float(ref_right.mean()),
        accuracy=float(right.mean()),
        reference_only=int(np.sum(ref_right & ~right)),
        variant_only=int(np.sum(right & ~ref_right)),
        tolerance=tolerance,
    )


@dataclass
class VariantCheck:
    """Agreement of one variant with PyTorch fp32, per batching strategy."""

    exact: bool  # held to the fp32 logit threshold, else judged on labels (or agreement without them)
    per_strategy: dict[str, dict[str, float]] = field(default_factory=dict)
    labeled: PairedAccuracy | None = None

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
        if self.labeled is not None:
            return self.labeled.valid
        return self.agreement >= APPROX_MIN_AGREEMENT

    @property
    def threshold(self) -> str:
        if self.exact:
            return f"Δ ≤ {EXACT_MAX_DIFF:g}, 100%"
        if self.labeled is not None:
            return f"accuracy drop ≤ {self.labeled.tolerance * 100:g} pt"
        return f"≥ {APPROX_MIN_AGREEMENT:.1%} agree"

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "labeled": self.labeled.to_dict() if self.labeled else None,
            "max_abs_diff": self.max_abs_diff,
            "agreement": self.agreement,
            "valid": self.valid,
            "threshold": self.threshold,
        }


def validation_texts(data_dir: str | None, rows: int) -> tuple[list[str], str]:
    """NSMC test reviews when a local copy is given, else the sample shipped with the kit; plus hard cases."""
    from kit.data.nsmc import head_reviews

    texts, described = head_reviews(data_dir, "test", rows)
    return texts + HARD_CASES, f"{described} + {len(HARD_CASES)} hard cases"


def labeled_reviews(data_dir: str | None, rows: int) -> tuple[list[str], np.ndarray, str] | None:
    """The first `rows` NSMC test reviews with their labels (the release's test file is a seeded shuffle,
    so its head is a random sample), or None without a local copy."""
    path = Path(data_dir) / "ratings_test.txt" if data_dir else None
    if not rows or path is None or not path.is_file():
        return None
    from kit.data.nsmc import read_nsmc_file

    split = read_nsmc_file(path)
    return split.texts[:rows], split.labels[:rows], f"{min(rows, len(split))} labeled reviews from {path}"


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
