"""Latency statistics, computed in one place: count, mean, p50/p90/p99/p99.9, min, max."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Summary:
    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    p999: float  # the tail an open-loop load test exists to show
    min: float
    max: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(values) -> Summary:
    """Percentiles by linear interpolation (numpy's default), so p50 of [1, 2, 3, 4] is 2.5."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("no values to summarize")
    p50, p90, p99, p999 = np.percentile(data, [50, 90, 99, 99.9])
    return Summary(
        int(data.size),
        float(data.mean()),
        float(p50),
        float(p90),
        float(p99),
        float(p999),
        float(data.min()),
        float(data.max()),
    )
