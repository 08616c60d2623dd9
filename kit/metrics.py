"""Classification metrics computed locally (`evaluate.load` needs the hub, which users may not reach)."""

from __future__ import annotations

import numpy as np


def accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    return float(np.mean(labels == preds)) if len(labels) else float("nan")


def f1_binary(labels: np.ndarray, preds: np.ndarray, positive: int = 1) -> float:
    """F1 of the positive class (sklearn's `f1_score` default for binary labels)."""
    tp = int(np.sum((preds == positive) & (labels == positive)))
    fp = int(np.sum((preds == positive) & (labels != positive)))
    fn = int(np.sum((preds != positive) & (labels == positive)))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def classification_metrics(labels: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    preds = logits.argmax(axis=-1)
    return {"accuracy": accuracy(labels, preds), "f1": f1_binary(labels, preds)}
