"""A classifier's answers as output columns: pred_label, pred_label_name and prob_<label> per text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.runtime.text_classifier import TextClassifier, softmax


@dataclass
class Prediction:
    label: int
    label_name: str
    probabilities: list[float]


def prediction_kinds(labels: list[str]) -> dict[str, str]:
    """The prediction columns and what they hold (`kit.predict.writers`' kinds)."""
    return {"pred_label": "int", "pred_label_name": "str", **{f"prob_{name}": "float" for name in labels}}


def prediction_columns(classifier: TextClassifier, texts: list[str], batch_size: int) -> dict[str, list]:
    """The prediction columns for `texts`, in input order (batches length-sorted)."""
    probs = softmax(classifier.predict_logits(texts, batch_size))
    labels = probs.argmax(-1)
    columns: dict[str, list] = {
        "pred_label": labels.tolist(),
        "pred_label_name": [classifier.labels[i] for i in labels],
    }
    for i, name in enumerate(classifier.labels):
        columns[f"prob_{name}"] = np.round(probs[:, i].astype(np.float64), 6).tolist()
    return columns


def predictions(classifier: TextClassifier, texts: list[str], batch_size: int = 64) -> list[Prediction]:
    columns = prediction_columns(classifier, texts, batch_size)
    probs = [[columns[f"prob_{name}"][i] for name in classifier.labels] for i in range(len(texts))]
    return [
        Prediction(label, name, p) for label, name, p in zip(columns["pred_label"], columns["pred_label_name"], probs)
    ]
