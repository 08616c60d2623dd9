"""Batching strategies: every row once, the right padding, order restored."""

from __future__ import annotations

import numpy as np
import pytest

from kit.batching import STRATEGIES, batch_order, bounded_calls, pad_batch, plan_batches, restore_order, split_by_cost

LENGTHS = np.random.default_rng(0).integers(3, 90, size=1000)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_row_exactly_once(strategy, shuffle):
    batches = batch_order(LENGTHS, 32, strategy, shuffle, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(LENGTHS)))
    assert all(len(b) == 32 for b in batches[:-1]) or strategy == "bucketed"
    assert len(batches) == 32  # ceil(1000 / 32)


def test_padding_efficiency_on_known_lengths():
    lengths = np.array([2, 4, 6, 8])
    assert plan_batches(lengths, 2, "fixed", 10).padding_efficiency(lengths) == pytest.approx(20 / 40)
    assert plan_batches(lengths, 2, "dynamic", 10).padding_efficiency(lengths) == pytest.approx(20 / (2 * 4 + 2 * 8))
    assert plan_batches(lengths, 2, "bucketed", 10).padding_efficiency(lengths) == pytest.approx(20 / (2 * 8 + 2 * 4))
    rounded = plan_batches(lengths, 2, "dynamic", 10, pad_to_multiple_of=8)
    assert rounded.padded_lengths.tolist() == [8, 8]


def test_bucketing_beats_dynamic_which_beats_fixed():
    eff = {
        s: plan_batches(LENGTHS, 32, s, 128, shuffle=True, rng=np.random.default_rng(2)).padding_efficiency(LENGTHS)
        for s in STRATEGIES
    }
    assert eff["fixed"] < eff["dynamic"] < eff["bucketed"]
    assert eff["bucketed"] > 0.9


def test_training_shuffle_depends_on_seed_only():
    a = batch_order(LENGTHS, 32, "bucketed", True, np.random.default_rng(5))
    b = batch_order(LENGTHS, 32, "bucketed", True, np.random.default_rng(5))
    c = batch_order(LENGTHS, 32, "bucketed", True, np.random.default_rng(6))
    assert all((x == y).all() for x, y in zip(a, b))
    assert any(len(x) != len(y) or (x != y).any() for x, y in zip(a, c))


def test_sorted_evaluation_restores_original_order():
    batches = batch_order(LENGTHS, 32, "bucketed", shuffle=False)
    order = np.concatenate(batches)
    assert (np.diff(LENGTHS[order]) <= 0).all()
    values = LENGTHS[order] * 10
    assert (restore_order(values, order) == LENGTHS * 10).all()


def test_pad_batch_right_pads_with_mask_and_token_types():
    batch = pad_batch([np.array([2, 7, 3]), np.array([2, 3])], length=4, pad_id=0)
    assert batch["input_ids"].tolist() == [[2, 7, 3, 0], [2, 3, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]
    assert batch["token_type_ids"].tolist() == [[0] * 4] * 2
    assert batch["input_ids"].dtype == np.int64


def test_unknown_strategy_is_rejected():
    with pytest.raises(ValueError, match="choose one of fixed, dynamic, bucketed"):
        batch_order(LENGTHS, 32, "sorted-ish", False)


def test_split_by_cost_trades_padding_against_calls():
    lengths = np.array([100, 10, 10, 10])
    # one call: 4 x 100 + 50 = 450; split after the long one: 100 + 50 + 3 x 10 + 50 = 230
    assert split_by_cost(lengths, call_cost=50) == [(0, 1), (1, 4)]
    # expensive calls: 1 x 100 + 3 x 10 + 2 x 1000 = 2130 > 400 + 1000, so one call
    assert split_by_cost(lengths, call_cost=1000) == [(0, 4)]
    assert split_by_cost(np.array([7, 7, 7]), call_cost=0) in ([(0, 3)], [(0, 1), (1, 2), (2, 3)], [(0, 2), (2, 3)])
    assert split_by_cost(np.array([], dtype=int), call_cost=5) == []
    chunks = split_by_cost(np.sort(LENGTHS)[::-1][:64], call_cost=128)
    assert chunks[0][0] == 0 and chunks[-1][1] == 64 and all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))


def test_bounded_calls_never_exceed_the_budget_whatever_one_request_holds():
    """240 reviews of 512 tokens in one request: split_by_cost alone makes one call of 122,880 positions."""
    lengths = np.full(240, 512)
    assert split_by_cost(lengths, call_cost=2048) == [(0, 240)]
    calls = bounded_calls(lengths, call_cost=2048, max_tokens=16384, max_rows=64)
    # 16384 positions at 512 would be 32 rows; attention grows with length^2, so 32 x 128 / 512 = 8 rows
    assert calls == [(i, min(i + 8, 240)) for i in range(0, 240, 8)]
    short = bounded_calls(np.full(240, 64), call_cost=2048, max_tokens=16384, max_rows=64)
    assert short == [(i, min(i + 64, 240)) for i in range(0, 240, 64)]  # short rows: the row cap binds
    mixed = np.sort(np.concatenate([np.full(50, 500), LENGTHS[:200]]))[::-1]
    calls = bounded_calls(mixed, call_cost=128, max_tokens=4096, max_rows=16)
    assert calls[0][0] == 0 and calls[-1][1] == len(mixed) and all(a[1] == b[0] for a, b in zip(calls, calls[1:]))
    assert all(b - a <= 16 and (b - a) * mixed[a] <= 4096 for a, b in calls)
    assert bounded_calls(np.array([9000]), call_cost=0, max_tokens=4096, max_rows=8) == [(0, 1)]  # never cut a row
