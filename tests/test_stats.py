import numpy as np
import pytest

from kit.bench.stats import summarize


def test_percentiles_on_known_values():
    s = summarize(range(1, 101))  # 1..100
    assert (s.count, s.min, s.max, s.mean) == (100, 1, 100, 50.5)
    assert s.p50 == pytest.approx(50.5)
    assert s.p90 == pytest.approx(90.1)
    assert s.p99 == pytest.approx(99.01)
    assert s.p999 == pytest.approx(99.901)


def test_single_value_and_order():
    assert summarize([3.0]).to_dict() == {
        "count": 1,
        "mean": 3.0,
        "p50": 3.0,
        "p90": 3.0,
        "p99": 3.0,
        "p999": 3.0,
        "min": 3.0,
        "max": 3.0,
    }
    s = summarize(np.random.default_rng(0).exponential(size=1000))
    assert s.min <= s.p50 <= s.p90 <= s.p99 <= s.p999 <= s.max


def test_empty_is_an_error():
    with pytest.raises(ValueError):
        summarize([])
