"""Classification metrics for any number of classes, from scikit-learn (`evaluate.load` needs the hub,
which users may not reach): accuracy, macro F1 and each class's F1; a binary task also keeps the positive
class's F1 (class 1), named so."""

from __future__ import annotations

import numpy as np


def accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    return float(np.mean(labels == preds)) if len(labels) else float("nan")


def classification_metrics(labels: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """Flat floats (what Trainer logs): accuracy, macro_f1, and for two classes f1 (class 1's)."""
    from sklearn.metrics import f1_score

    preds = logits.argmax(axis=-1)
    classes = list(range(logits.shape[-1]))
    metrics = {
        "accuracy": accuracy(labels, preds),
        "macro_f1": float(f1_score(labels, preds, labels=classes, average="macro", zero_division=0)),
    }
    if len(classes) == 2:
        metrics["f1"] = float(f1_score(labels, preds, pos_label=1, average="binary", zero_division=0))
    return metrics


def per_class_f1(labels: np.ndarray, logits: np.ndarray, names: list[str]) -> dict[str, float]:
    """Each class's F1, by name."""
    from sklearn.metrics import f1_score

    scores = f1_score(labels, logits.argmax(axis=-1), labels=list(range(len(names))), average=None, zero_division=0)
    return {name: float(score) for name, score in zip(names, scores)}
