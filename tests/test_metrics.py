"""Metrics for any number of classes."""

import numpy as np
import pytest

from kit.metrics import classification_metrics, per_class_f1


def test_macro_and_per_class_f1():
    labels = np.array([0, 0, 1, 1, 2, 2])
    logits = np.eye(3)[[0, 0, 1, 1, 1, 1]]  # class 2 never predicted
    metrics = classification_metrics(labels, logits)
    per_class = per_class_f1(labels, logits, ["a", "b", "c"])
    assert per_class["a"] == 1.0 and per_class["c"] == 0.0 and 0 < per_class["b"] < 1
    assert metrics["macro_f1"] == pytest.approx(sum(per_class.values()) / 3)
    assert "f1" not in metrics  # the positive class's F1 is for binary tasks only
    binary = classification_metrics(np.array([0, 1, 1]), np.eye(2)[[0, 1, 0]])
    assert binary["f1"] == pytest.approx(2 / 3) and binary["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_f1_with_no_positives_anywhere_is_zero():
    assert classification_metrics(np.zeros(4, int), np.eye(2)[[0, 0, 0, 0]])["f1"] == 0.0
