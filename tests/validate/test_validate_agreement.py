"""Kendall tau (scipy's, its values pinned), front survival and the noise floor: pure functions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octsearch.validate.agreement import front_survival, kendall_tau, pareto_keys, pooled_std

MAX_MIN = ["max", "min"]  # accuracy up, FLOPs down


def test_kendall_tau_pins_scipys_values_and_names_the_method():
    # two swapped pairs of 10: 2 discordant of 45 pairs; exact p = 2 (1 + 9 + 44) / 10! (Mahonian numbers)
    exact = kendall_tau(list(range(10)), [1, 0, 2, 3, 4, 5, 6, 7, 9, 8])
    assert exact.tau == pytest.approx(41 / 45) and exact.method == "exact"
    assert exact.p_value == pytest.approx(2 * 54 / math.factorial(10))
    # 40 values, the first 20 reversed: 190 discordant of 780 pairs; beyond 33 the normal approximation
    large = kendall_tau(list(range(40)), [*range(19, -1, -1), *range(20, 40)])
    assert large.tau == pytest.approx(400 / 780) and large.method == "asymptotic"
    assert large.p_value == pytest.approx(3.1557426536984635e-06, rel=1e-9)
    # ties: tau-b with the tie-corrected variance
    tied = kendall_tau([1, 2, 3, 4, 5, 6], [1, 2, 2, 4, 6, 5])
    assert tied.tau == pytest.approx(0.8280786712108251) and tied.method == "asymptotic"
    assert tied.p_value == pytest.approx(0.021717302554090816, rel=1e-9)


def test_kendall_tau_fixed_cases():
    same = kendall_tau([0.90, 0.91, 0.92, 0.93, 0.94], [0.95, 0.96, 0.97, 0.975, 0.98])
    assert same.tau == pytest.approx(1.0) and same.n == 5 and same.p_value == pytest.approx(2 / 120)
    reversed_ = kendall_tau([1, 2, 3, 4], [4, 3, 2, 1])
    assert reversed_.tau == pytest.approx(-1.0) and reversed_.p_value == pytest.approx(2 / 24)
    # one swapped pair out of 6: (6 - 2 * 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]).tau == pytest.approx(4 / 6)
    for x, y in (([0.5], [0.7]), ([0.9, 0.9, 0.9], [0.1, 0.2, 0.3]), ([], [])):
        undefined = kendall_tau(x, y)
        assert math.isnan(undefined.tau) and math.isnan(undefined.p_value) and undefined.n == len(x)
    with pytest.raises(ValueError, match="paired"):
        kendall_tau([1, 2], [1])
    with pytest.raises(ValueError, match="NaN"):
        kendall_tau([1, math.nan], [1, 2])


def test_front_survival_counts_members_that_stay_non_dominated():
    # proxy front: a (cheap), b, c (expensive); at full budget the uniform point u beats b
    full = {"a": (0.90, 1.0), "b": (0.91, 2.0), "c": (0.95, 3.0), "u": (0.93, 1.5), "d": (0.80, 2.5)}
    s = front_survival(["a", "b", "c", "missing"], full, MAX_MIN)
    assert s.judged == ("a", "b", "c")  # a member without a full score is not judged
    assert s.kept == ("a", "c")
    assert set(s.front) == {"a", "u", "c"}
    assert s.fraction == pytest.approx(2 / 3)
    assert front_survival([], full, MAX_MIN).judged == () and math.isnan(front_survival([], full, MAX_MIN).fraction)


def test_pareto_keys_keeps_equal_points_and_the_mapping_order():
    points = {3: (0.9, 1.0), 1: (0.9, 1.0), 2: (0.8, 1.0), 0: (0.95, 2.0)}
    assert pareto_keys(points, MAX_MIN) == (3, 1, 0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.5, 1.0), st.floats(1e6, 1e7)), min_size=1, max_size=20))
def test_front_survival_of_the_same_scores_keeps_every_member(points):
    scored = dict(enumerate(points))
    front = pareto_keys(scored, MAX_MIN)
    s = front_survival(front, scored, MAX_MIN)
    assert s.kept == s.judged == front


def test_pooled_std():
    std, groups = pooled_std([[0.90, 0.92], [0.80, 0.80, 0.83], [0.7]])
    # squared deviations: 2 * 0.01^2 + (2 * 0.01^2 + 0.02^2) over 1 + 2 degrees of freedom
    assert groups == 2
    assert std == pytest.approx(math.sqrt((2e-4 + 2e-4 + 4e-4) / 3))
    assert math.isnan(pooled_std([[0.9], []])[0])
