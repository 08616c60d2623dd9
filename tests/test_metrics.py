import numpy as np
import pytest

from kit.metrics import accuracy, classification_metrics, f1_binary


def test_metrics_on_known_predictions():
    labels = np.array([1, 1, 1, 0, 0, 0])
    preds = np.array([1, 1, 0, 1, 0, 0])
    assert accuracy(labels, preds) == pytest.approx(4 / 6)
    # tp=2, fp=1, fn=1 -> 2*2 / (4 + 1 + 1)
    assert f1_binary(labels, preds) == pytest.approx(4 / 6)
    logits = np.stack([1 - preds, preds], axis=1).astype(float)
    assert classification_metrics(labels, logits) == {"accuracy": pytest.approx(4 / 6), "f1": pytest.approx(4 / 6)}


def test_f1_with_no_positives_anywhere_is_zero():
    assert f1_binary(np.zeros(4, int), np.zeros(4, int)) == 0.0
