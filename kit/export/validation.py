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

import numpy as np

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


@dataclass
class ExportTexts:
    """The real text an export is judged on, all from the task's own data where it is at hand: reviews whose
    logits every variant must reproduce (plus hard cases), labeled rows that approximate variants must keep
    their accuracy on (the test split), and rows that calibrate static int8 (the training split, so the
    judged rows stay unseen); the sample shipped with the kit where no data is given."""

    validation: list[str]
    described: str
    labeled: tuple[list[str], np.ndarray, str] | None
    calibration: list[str]
    calibration_described: str


def export_texts(data, task, rows: int, label_rows: int, calibration_rows: int) -> ExportTexts:
    """`data`: a `DataConfig` (None: no data, the shipped sample); `task`: the model's, whose labels the
    data's are mapped onto (a row with a label the task lacks is one error naming it)."""
    import dataclasses

    from kit.data.nsmc import sample_reviews

    if data is None:
        sample = sample_reviews()
        shipped = "reviews from kit/sample_reviews.txt"
        return ExportTexts(
            sample[:rows] + HARD_CASES,
            f"{len(sample[:rows])} {shipped} + {len(HARD_CASES)} hard cases",
            None,
            sample[:calibration_rows],
            f"{len(sample[:calibration_rows])} {shipped}",
        )
    from kit.data.splits import load_splits

    # the files in their own order, no validation carved: their heads are what is read (NSMC's are shuffled)
    data = dataclasses.replace(data, val_ratio=0.0, limit=None)
    need = ("train", "test") if data.kind == "nsmc" or data.train_file or data.dataset else ("test",)
    splits = load_splits(data, need, task.labels, task.data.get("label_keys"))
    test, where = splits.test, _described(splits, "test")
    train = splits.train if len(splits.train) else test
    labeled = test.texts[:label_rows], test.labels[:label_rows], f"{min(label_rows, len(test))} labeled rows of {where}"
    return ExportTexts(
        test.texts[:rows] + HARD_CASES,
        f"{min(rows, len(test))} rows of {where} + {len(HARD_CASES)} hard cases",
        labeled if label_rows else None,
        train.texts[:calibration_rows],
        f"{min(calibration_rows, len(train))} rows of {_described(splits, 'train' if len(splits.train) else 'test')}",
    )


def _described(splits, split: str) -> str:
    source = splits.source.get(split, {})
    return source.get("path") or f"{source.get('dataset')} [{source.get('split')}]"


def compare(reference: dict[str, np.ndarray], candidate: dict[str, np.ndarray], exact: bool) -> VariantCheck:
    check = VariantCheck(exact)
    for strategy, ref in reference.items():
        got = candidate[strategy]
        check.per_strategy[strategy] = {
            "max_abs_diff": float(np.abs(got - ref).max()),
            "agreement": float(np.mean(got.argmax(-1) == ref.argmax(-1))),
        }
    return check
