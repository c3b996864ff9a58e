"""The statistics of the verdict against uniform alpha, on hand-computed numbers (no store)."""

from __future__ import annotations

import math

import pytest

from octsearch.store.versus_uniform import (
    Measured,
    Verdict,
    compare,
    holm,
    one_sided_p,
    pooled_seed_variance,
    rival_of,
    seeds_to_settle,
)

P_Z2 = 0.022750131948179  # P(Z >= 2)


def _p(trial, flops, acc, se, n_evals=2, n_val=2500, uniform=None):
    return Measured(trial, flops, acc, se, n_evals, n_val, uniform)


def test_one_sided_p():
    assert one_sided_p(2.0) == pytest.approx(P_Z2)
    assert one_sided_p(0.0) == 0.5
    assert one_sided_p(math.inf) == 0.0


@pytest.mark.parametrize(("p", "adjusted"), [
    ([0.01, 0.02, 0.04], [0.03, 0.04, 0.04]),  # Bonferroni would say 0.03, 0.06, 0.12
    ([0.04, 0.01, 0.02], [0.04, 0.03, 0.04]),  # the input's order is kept
    ([0.01, 0.04, 0.03], [0.03, 0.06, 0.06]),  # made non-decreasing: 0.04 * 1 < 0.03 * 2
    ([0.6, 0.5], [1.0, 1.0]),  # capped at 1
    ([], []),
])
def test_holm(p, adjusted):
    assert holm(p) == pytest.approx(adjusted)


def test_pooled_seed_variance_skips_single_seeds():
    # (0.5, 0.52): ss 0.0002, 1 dof; (0.6, 0.62, 0.64): ss 0.0008, 2 dof -> 0.001 / 3
    var, groups = pooled_seed_variance([[0.5, 0.52], [0.6, 0.62, 0.64], [0.7]])
    assert var == pytest.approx(0.001 / 3) and groups == 2
    assert pooled_seed_variance([[0.7], [0.8]]) == (None, 0)


def test_rival_is_the_most_accurate_uniform_point_at_or_below_the_flops():
    uniforms = [_p(0, 100, 0.90, 0.01, uniform=0.0), _p(1, 80, 0.88, 0.01, uniform=0.25),
                _p(2, 60, 0.88, 0.01, uniform=0.5), _p(3, 40, 0.80, 0.01, uniform=0.75)]
    assert rival_of(_p(9, 100, 0.9, 0.01), uniforms).trial == 0  # equal FLOPs count as "no more"
    assert rival_of(_p(9, 99, 0.9, 0.01), uniforms).trial == 2  # accuracy tie 1 vs 2: the cheaper
    assert rival_of(_p(9, 59, 0.9, 0.01), uniforms).trial == 3
    assert rival_of(_p(9, 39, 0.9, 0.01), uniforms) is None  # cheaper than every uniform point


def test_a_significant_and_a_non_significant_member_with_holm():
    # member 5: D = 0.02, SE = sqrt(0.006^2 + 0.008^2) = 0.01, z = 2, p = 0.02275, Holm x2 = 0.0455
    # member 6: D = 0.005244, SE = 0.01, z = 0.5244, p = 0.3, Holm max(0.0455, 0.3 x 1) = 0.3
    uniforms = [_p(0, 100, 0.88, 0.008, uniform=0.0), _p(1, 50, 0.70, 0.008, uniform=0.5)]
    members = [_p(6, 60, 0.705244, 0.006), _p(5, 110, 0.90, 0.006)]
    by = {c.member: c for c in compare(members, uniforms, seed_var=None)}
    a, b = by[5], by[6]
    assert (a.rival, b.rival) == (0, 1) and a.kind == b.kind == "compared"
    assert a.difference == pytest.approx(0.02) and a.stderr == pytest.approx(0.01) and a.z == pytest.approx(2.0)
    assert a.p_value == pytest.approx(P_Z2) and a.p_corrected == pytest.approx(2 * P_Z2)
    assert a.significant and a.settle == "significant" and a.seeds_needed is None
    assert b.z == pytest.approx(0.5244) and b.p_value == pytest.approx(0.3, abs=1e-4)
    assert b.p_corrected == pytest.approx(0.3, abs=1e-4) and not b.significant
    assert [c.member for c in compare(members, uniforms, None)] == [6, 5]  # the members' order


def test_the_correction_can_take_significance_away():
    # two members each at z = 2 (p = 0.02275) and one at p = 0.5: Holm 3p = 0.068 > 5%
    uniforms = [_p(0, 10, 0.80, 0.008, uniform=0.75)]
    members = [_p(1, 20, 0.82, 0.006), _p(2, 30, 0.82, 0.006), _p(3, 40, 0.80, 0.006)]
    comparisons = compare(members, uniforms, None)
    assert [c.p_corrected for c in comparisons] == pytest.approx([3 * P_Z2, 3 * P_Z2, 0.5])
    assert not any(c.significant for c in comparisons)
    assert compare(members[:1], uniforms, None)[0].significant  # alone it would be


def test_a_tie_is_not_a_win_and_more_seeds_cannot_make_it_one():
    c = compare([_p(1, 20, 0.80, 0.006)], [_p(0, 20, 0.80, 0.008, uniform=0.5)], 1e-4)[0]
    assert c.difference == 0 and c.z == 0 and c.p_value == 0.5 and not c.win and not c.significant
    assert (c.settle, c.seeds_needed) == ("not_ahead", None)


def test_uniform_members_and_members_without_rival_are_compared_with_nothing():
    uniforms = [_p(0, 50, 0.80, 0.008, uniform=0.5)]
    members = [_p(7, 40, 0.79, 0.006), _p(0, 50, 0.80, 0.008, uniform=0.5), _p(8, 60, 0.83, 0.006)]
    kinds = [(c.member, c.kind, c.rival) for c in compare(members, uniforms, None)]
    assert kinds == [(7, "no_rival", None), (0, "uniform", None), (8, "compared", 0)]
    verdict = Verdict("s", "proxy", "flops_paper", compare(members, uniforms, None), None, 0)
    # member 8 alone in the correction: D = 0.03, SE = 0.01, z = 3, p = 0.00135
    assert (verdict.levels, verdict.wins, verdict.significant_wins) == (1, 1, 1)


def test_one_seed_configurations_get_the_pooled_seed_spread():
    # stored SEs 0.01 (binomial only, one seed each) + pooled seed variance 3e-4: 0.02 each
    c = compare([_p(1, 20, 0.84, 0.01, n_evals=1)], [_p(0, 10, 0.80, 0.01, n_evals=1, uniform=0.5)], 3e-4)[0]
    assert c.member_stderr == pytest.approx(0.02) and c.rival_stderr == pytest.approx(0.02)
    assert c.stderr == pytest.approx(math.sqrt(8e-4)) and c.z == pytest.approx(0.04 / math.sqrt(8e-4))


def test_one_seed_without_a_measured_seed_spread_is_never_significant():
    # binomial SEs alone (0.005) would make a 4-point gap z 5.7; the seed spread is unmeasured
    member, rival = _p(1, 20, 0.84, 0.005, n_evals=1), _p(0, 10, 0.80, 0.005, n_evals=1, uniform=0.5)
    c = compare([member], [rival], None)[0]
    assert c.p_corrected < 1e-6 and not c.significant and (c.settle, c.seeds_needed) == ("spread", 3)
    assert compare([member], [rival], 1e-6)[0].significant  # a measured (small) spread: a real test
    both_seeded = compare([_p(1, 20, 0.84, 0.005)], [_p(0, 10, 0.80, 0.005, uniform=0.5)], None)[0]
    assert both_seeded.significant  # their own SEs carry their seeds' spread


def test_seeds_to_settle_by_the_power_calculation():
    # b_m = .55 x .45 / 2500 = 9.9e-5, b_r = .5 x .5 / 2500 = 1e-4, s^2 = 4e-4, D = 0.05, m = 1:
    # target SE^2 = (0.05 / (1.6449 + 0.8416))^2 = 4.0436e-4; room 2.0536e-4; K = 8e-4 / room = 3.9 -> 4
    member, rival = _p(1, 20, 0.55, 0.02), _p(0, 10, 0.50, 0.02, uniform=0.5)
    assert seeds_to_settle(member, rival, 4e-4, m=1) == ("seeds", 4)
    # with m = 2 the level is 2.5%: (0.05 / (1.9600 + 0.8416))^2 = 3.1843e-4; room 1.1943e-4 -> 6.7 -> 7
    assert seeds_to_settle(member, rival, 4e-4, m=2) == ("seeds", 7)
    # at least one more seed than either has
    assert seeds_to_settle(member, rival, 1e-7, m=1) == ("seeds", 3)
    # D = 0.02: target (0.02 / 2.4865)^2 = 6.5e-5 < b_m + b_r: only a larger split resolves it
    assert seeds_to_settle(_p(1, 20, 0.52, 0.02), rival, 4e-4, m=1) == ("split", None)
    # an unmeasured spread: measure it first (3 seeds), unless the split already rules it out
    assert seeds_to_settle(member, rival, None, m=1) == ("spread", 3)
    assert seeds_to_settle(_p(1, 20, 0.45, 0.02), rival, None, m=1) == ("not_ahead", None)


def test_verdict_summary():
    uniforms = [_p(0, 10, 0.50, 0.02, uniform=0.5)]
    members = [_p(1, 20, 0.55, 0.02), _p(2, 30, 0.56, 0.02), _p(3, 5, 0.40, 0.02), _p(4, 40, 0.49, 0.02)]
    verdict = Verdict("s", "proxy", "flops_paper", compare(members, uniforms, 4e-4), 0.02, 3)
    assert (verdict.levels, verdict.wins, verdict.significant_wins) == (3, 2, 0)
    settles = [(c.member, c.settle) for c in verdict.comparisons]
    assert settles == [(1, "seeds"), (2, "seeds"), (3, None), (4, "not_ahead")]
    assert verdict.seeds_needed == max(c.seeds_needed for c in verdict.compared if c.seeds_needed)
