"""Which configurations, budget and seeds re-validation plans (no training)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from octsearch.errors import ConfigError
from octsearch.validate.selection import (
    FULL_SEED_BASE,
    check_count,
    parse_budget,
    plan_seeds,
    select_trials,
)


@pytest.mark.parametrize(("text", "label", "epochs"), [
    ("full", "full", None), (" FULL ", "full", None), ("8", "epochs=8", 8), ("epochs=12", "epochs=12", 12),
])
def test_parse_budget(text, label, epochs):
    choice = parse_budget(text)
    assert (choice.label, choice.epochs) == (label, epochs)


@pytest.mark.parametrize("text", ["proxy", "0", "-3", "2.5", "epochs=0", "", "eight"])
def test_parse_budget_refuses_with_one_line_naming_the_value(text):
    with pytest.raises(ConfigError) as e:
        parse_budget(text)
    assert repr(text) in str(e.value) and "\n" not in str(e.value) and "full" in str(e.value)


@pytest.mark.parametrize("value", [0, -1, True, 2.0])
def test_check_count_refuses(value):
    with pytest.raises(ConfigError, match="--seeds"):
        check_count("--seeds", value)


def test_plan_seeds_avoids_proxy_and_stored_seeds_and_is_deterministic():
    assert plan_seeds(set(), 0, 2) == [FULL_SEED_BASE, FULL_SEED_BASE + 1]
    # seed 1000 used by the proxy (a repeat), 1001 already stored at the budget: one more needed
    assert plan_seeds({0, 1000, 1001}, 1, 3) == [1002, 1003]
    assert plan_seeds({1000, 1001}, 2, 2) == []
    assert plan_seeds({1000}, 5, 2) == []  # more than asked already: nothing


def _t(number, accuracy, uniform=False, status="complete"):
    return SimpleNamespace(number=number, accuracy=accuracy, is_uniform=uniform, status=status)


def test_select_trials_takes_the_top_front_members_and_every_complete_uniform_point():
    front = [_t(4, 0.95), _t(7, 0.97), _t(2, 0.90)]
    trials = [_t(0, 0.9, True), _t(1, 0.8, True), _t(3, None, True, "failed"), _t(2, 0.90), _t(4, 0.95), _t(7, 0.97)]
    assert [t.number for t in select_trials(front, trials)] == [0, 1, 2, 4, 7]
    assert [t.number for t in select_trials(front, trials, top=2)] == [0, 1, 4, 7]
    assert [t.number for t in select_trials(front, [], top=1)] == [7]
