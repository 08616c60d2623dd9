"""The open loop's schedule (`kit.bench.loadtest.schedule`): arrivals decided before a level starts, at the
rate asked, Poisson (bursty) or evenly spaced, the same for the same seed."""

from __future__ import annotations

from kit.bench.loadtest import LoadtestConfig, schedule


def test_the_open_loop_schedule_is_fixed_in_advance_and_holds_its_rate():
    config = LoadtestConfig(url="http://127.0.0.1:1", rates=(200.0,), duration_s=30, seed=7)
    times = schedule(200.0, config)
    assert (times == schedule(200.0, config)).all()  # the same seed, the same arrivals: decided before sending
    assert (times[1:] > times[:-1]).all() and times[0] >= 0 and times[-1] < 30
    assert abs(len(times) - 6000) < 4 * 6000**0.5  # Poisson: 200/s for 30 s, within four standard deviations
    gaps = times[1:] - times[:-1]
    assert gaps.std() > 0.5 * gaps.mean()  # bursty, as Poisson arrivals are (evenly spaced ones have no spread)
    even = schedule(200.0, LoadtestConfig(url=config.url, rates=(200.0,), duration_s=30, arrivals="constant"))
    assert len(even) == 6000 and abs((even[1:] - even[:-1]).std()) < 1e-9
    capped = schedule(200.0, LoadtestConfig(url=config.url, rates=(200.0,), duration_s=30, requests=50, seed=7))
    assert (capped == times[:50]).all()
