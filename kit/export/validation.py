"""Proof that an export agrees with PyTorch, on real text, under every batching strategy.

Optimum's own validation feeds random attention masks, which ONNX Runtime's fused
attention (O2 and up) does not expect; real reviews with right padding are what the
model will see, so that is what we compare on (plus hard cases: empty, emoji,
Latin/Hangul mix, longer than max_length).

Exact variants (fp32, O1, O2) must match PyTorch's logits. Approximate ones (O3, O4, int8, ov-*)
are judged on labels when labeled rows are at hand, by the evidence: their accuracy against
PyTorch fp32's on the same rows is a paired difference (only the rows where exactly one of the
two is right move it: McNemar's b and c) with a 95% interval, and the verdict is

- *invalid* when the whole interval lies below -tolerance (the drop is shown to exceed it),
- *valid* when the whole interval lies above -tolerance (shown within it),
- *undecided* otherwise, with the number of labeled rows that would decide it at the observed
  rates (usable, with a `Note:` wherever it is loaded).

Labeled rows are scored in rounds until the verdict is decided or `label_rows` are used, so a
clear case costs a few hundred rows. A reference whose accuracy is near chance (its interval
reaches the majority label's share) or that started from random weights says nothing about
labels: the variant is then judged on its logits against fp32's, said so: whether it orders the rows
as fp32 does (the correlation of their row-centred logits, the decision margins for two labels), which
does not depend on how little such a model's logits vary from row to row. (On the 16-step quick run,
logits of RMS 0.03: int8's error is 11% of them, yet its margins correlate at r 0.985; ov-bf16 0.997.)
Without labels, prediction agreement stands in (a weaker judge: near-zero margins flip on noise).
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
LOGIT_MIN_CORRELATION = 0.95  # near-chance models: r of the row-centred logits against fp32's
Z95 = 1.959964
LABEL_ROUND = 250  # labeled rows scored per round; rounds stop as soon as the verdict is decided
FIXED_ROWS = 64  # rows checked at the fixed strategy's full pad length (exactness needs no more; it costs most)


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
    majority_share: float = 0.0  # the most frequent label's share of the rows: a constant guess's accuracy

    @property
    def difference(self) -> float:
        return (self.variant_only - self.reference_only) / self.rows

    @property
    def ci95(self) -> tuple[float, float]:
        n, b, c = self.rows, self.reference_only, self.variant_only
        half = Z95 * np.sqrt(max(b + c - (c - b) ** 2 / n, 0.0)) / n
        return self.difference - half, self.difference + half

    @property
    def verdict(self) -> str:
        low, high = self.ci95
        if high < -self.tolerance:
            return "invalid"
        return "valid" if low >= -self.tolerance else "undecided"

    @property
    def rows_to_decide(self) -> int | None:
        """Labeled rows whose interval would exclude -tolerance at the observed difference and discordance
        (None: decided already, or a difference equal to the tolerance, which no number of rows decides)."""
        margin = abs(self.difference + self.tolerance)
        if self.verdict != "undecided" or margin == 0:
            return None
        spread = (self.reference_only + self.variant_only) / self.rows - self.difference**2
        return int(np.ceil(Z95**2 * spread / margin**2))

    @property
    def near_chance(self) -> bool:
        """The reference's accuracy interval reaches the majority label's share: its labels say nothing."""
        accuracy = self.reference_accuracy
        return accuracy - Z95 * np.sqrt(accuracy * (1 - accuracy) / self.rows) <= self.majority_share

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "difference": self.difference,
            "ci95": list(self.ci95),
            "verdict": self.verdict,
            "rows_to_decide": self.rows_to_decide,
        }


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
        majority_share=float(np.bincount(labels).max() / len(labels)) if len(labels) else 0.0,
    )


@dataclass
class VariantCheck:
    """One variant against PyTorch fp32: logits per batching strategy, and for an approximate variant its
    labeled accuracy (or, where labels say nothing, its logits), with the verdict and why."""

    exact: bool  # held to the fp32 logit threshold, else judged on labels (or logits, or agreement)
    per_strategy: dict[str, dict[str, float]] = field(default_factory=dict)
    labeled: PairedAccuracy | None = None
    on_logits: str | None = None  # why an approximate variant is judged on its logits instead of labels

    @property
    def max_abs_diff(self) -> float:
        return max(s["max_abs_diff"] for s in self.per_strategy.values())

    @property
    def agreement(self) -> float:
        return min(s["agreement"] for s in self.per_strategy.values())

    @property
    def logit_correlation(self) -> float:
        """r of the row-centred logits against fp32's (the decision margins, for two labels), worst strategy."""
        return min(s["logit_correlation"] for s in self.per_strategy.values())

    @property
    def finite(self) -> bool:
        return all(s.get("finite", True) for s in self.per_strategy.values())

    @property
    def verdict(self) -> str:
        if not self.finite:
            return "invalid"
        if self.exact:
            ok = self.max_abs_diff <= EXACT_MAX_DIFF and self.agreement == 1.0
        elif self.on_logits:
            ok = self.logit_correlation >= LOGIT_MIN_CORRELATION
        elif self.labeled is not None:
            return self.labeled.verdict
        else:
            ok = self.agreement >= APPROX_MIN_AGREEMENT
        return "valid" if ok else "invalid"

    @property
    def valid(self) -> bool:
        """Usable: valid, or undecided (loaded with a note); an invalid variant is not."""
        return self.verdict != "invalid"

    @property
    def threshold(self) -> str:
        if self.exact:
            return f"Δ ≤ {EXACT_MAX_DIFF:g}, 100%"
        if self.on_logits:
            return f"logits correlate with fp32's, r ≥ {LOGIT_MIN_CORRELATION:g}"
        if self.labeled is not None:
            return f"accuracy drop ≤ {self.labeled.tolerance * 100:g} pt, shown by the 95% interval"
        return f"≥ {APPROX_MIN_AGREEMENT:.1%} agree"

    @property
    def why(self) -> str:
        """The verdict in words, as export.json, the table and every later Note say it."""
        if not self.finite:
            return "its outputs are not finite (NaN or inf)"
        if self.on_logits:
            return f"judged on logits ({self.on_logits}): r {self.logit_correlation:.3f} with fp32's"
        if self.labeled is None or self.exact:
            return f"max |Δlogit| {self.max_abs_diff:.1e}, agreement {self.agreement:.2%}"
        labeled = self.labeled
        interval = format_points(labeled.difference, labeled.ci95)
        tolerance = f"-{labeled.tolerance * 100:g} pt"
        if labeled.verdict == "undecided":
            more = f"; about {labeled.rows_to_decide:,} labeled rows would decide it" if labeled.rows_to_decide else ""
            return f"accuracy {interval} on {labeled.rows:,} rows: the interval spans {tolerance}{more}"
        side = "above" if labeled.verdict == "valid" else "below"
        return f"accuracy {interval} on {labeled.rows:,} rows: the interval lies {side} {tolerance}"

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "labeled": self.labeled.to_dict() if self.labeled else None,
            "max_abs_diff": self.max_abs_diff,
            "agreement": self.agreement,
            "logit_correlation": self.logit_correlation,
            "verdict": self.verdict,
            "valid": self.valid,
            "why": self.why,
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


def strategy_rows(seqs: list[np.ndarray], strategy: str) -> list[np.ndarray]:
    """The rows a strategy is checked on: all of them, but for `fixed` (every row padded to max_length, the
    costliest) the first FIXED_ROWS and the hard cases, which `validation` puts last."""
    if strategy != "fixed" or len(seqs) <= FIXED_ROWS + len(HARD_CASES):
        return seqs
    return seqs[:FIXED_ROWS] + seqs[-len(HARD_CASES) :]


class LabeledRounds:
    """Approximate variants judged on labeled rows in rounds of LABEL_ROUND, each stopping as soon as its
    verdict is decided (or the reference shows itself near chance); the reference's predictions are computed
    once, as far as any variant needed them."""

    def __init__(self, seqs: list[np.ndarray], labels: np.ndarray, reference, predict, tolerance: float):
        self.seqs, self.labels, self.predict, self.tolerance = seqs, labels, predict, tolerance
        self.reference, self.reference_preds = reference, np.zeros(0, dtype=np.int64)

    def _reference_upto(self, n: int) -> np.ndarray:
        done = len(self.reference_preds)
        if n > done:
            more = self.predict(self.reference, self.seqs[done:n])
            self.reference_preds = np.concatenate([self.reference_preds, more])
        return self.reference_preds[:n]

    def judge(self, run) -> PairedAccuracy:
        preds = np.zeros(0, dtype=np.int64)
        while True:
            n = min(len(preds) + LABEL_ROUND, len(self.seqs))
            reference = self._reference_upto(n)
            preds = np.concatenate([preds, self.predict(run, self.seqs[len(preds) : n])])
            paired = paired_accuracy(self.labels[:n], reference, preds, self.tolerance)
            if paired.verdict != "undecided" or paired.near_chance or n == len(self.seqs):
                return paired


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r; logits that do not vary at all correlate 1 with themselves, 0 with anything else."""
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


def compare(reference: dict[str, np.ndarray], candidate: dict[str, np.ndarray], exact: bool) -> VariantCheck:
    check = VariantCheck(exact)
    for strategy, ref in reference.items():
        got = candidate[strategy]
        centred_ref, centred = ref - ref.mean(-1, keepdims=True), got - got.mean(-1, keepdims=True)
        check.per_strategy[strategy] = {
            "finite": bool(np.isfinite(got).all()),
            "max_abs_diff": float(np.abs(got - ref).max()),
            "agreement": float(np.mean(got.argmax(-1) == ref.argmax(-1))),
            "logit_correlation": _correlation(centred_ref.ravel(), centred.ravel()),
        }
    return check
