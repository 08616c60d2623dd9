"""Serve-mode tuning's search, on a known surface of sustained rates in place of servers: which candidates
it tries, in what order, and where it stops. (Servers under load are tests/test_tune.py's.)"""

from __future__ import annotations

from kit.errors import KitError
from kit.tune.config import TuneConfig, describe
from kit.tune.serve_search import BEAT_BY, ServeSearch, _climb, neighbours


class Surface(ServeSearch):
    """The search with each candidate's sustained rate given by `rate(settings)`, as a server would hold it:
    nothing (0) when it cannot beat the best so far by BEAT_BY."""

    def __init__(self, rate):
        super().__init__(TuneConfig(export="unused", p99_ms=100, budget_s=3600), (), progress=lambda line: None)
        self.rate, self.visited = rate, []

    def sustained_rate(self, settings: dict, floor: float) -> float:
        self.visited.append(dict(settings))
        held = self.rate(settings)
        return held if floor == 0 or held >= floor * BEAT_BY else 0.0


SPACE = {"a": [1, 2, 3], "b": [10, 20]}


def test_the_climb_moves_to_the_best_neighbour_until_none_beats_it():
    search = Surface(lambda s: s["a"] * s["b"])
    _climb(search, SPACE)
    assert search.visited[0] == {"a": 1, "b": 10}  # the defaults first: the baseline to beat
    best = max(search.sustained, key=search.sustained.get)
    assert best == (3, 20) and search.sustained[best] == 60
    keys = [tuple(v.values()) for v in search.visited]
    assert len(keys) == len(set(keys))  # no candidate tried twice
    assert set(keys) == {(1, 10), (2, 10), (3, 10), (1, 20), (3, 20), (2, 20)}


def test_a_flat_surface_stops_after_the_defaults_neighbours():
    search = Surface(lambda s: 100.0)
    _climb(search, SPACE)
    assert [tuple(v.values()) for v in search.visited] == [(1, 10), (2, 10), (3, 10), (1, 20)]


def test_a_candidate_whose_server_does_not_start_is_noted_and_the_search_goes_on():
    def rate(settings):
        if settings["a"] == 2:
            raise KitError("the server did not start")
        return settings["a"] * settings["b"]

    search = Surface(rate)
    _climb(search, SPACE)
    failed = [{"a": 2, "b": 10}, {"a": 2, "b": 20}]
    assert search.notes == [f"{describe(s)}: the server did not start" for s in failed]  # each named
    assert max(search.sustained, key=search.sustained.get) == (3, 20)


def test_neighbours_change_one_setting_at_a_time():
    assert neighbours({"a": 1, "b": 10}, SPACE) == [{"a": 2, "b": 10}, {"a": 3, "b": 10}, {"a": 1, "b": 20}]
