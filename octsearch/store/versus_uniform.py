"""The verdict against uniform alpha: does each front member beat the uniform curve, significantly?

For each front member its *rival* is the most accurate uniform-alpha configuration with no more
FLOPs (in the search's convention; ties: the cheaper, then the lower trial number). A front member
that is itself uniform is compared with nothing; one cheaper than every uniform point has no rival.

The test (:data:`TEST`), per member compared: a one-sided z-test of H0 "the per-layer member is no
more accurate than its rival" on D = acc_member - acc_rival, with SE(D) = sqrt(se_m^2 + se_r^2).

- Independence is assumed. Both are measured on the same validation split, and two networks tend to
  err on the same images, so their errors are positively correlated and the true SE(D) is smaller:
  the test is conservative (it may miss a real gain, it does not invent one).
- A configuration with one seed has a stored SE of the split's binomial error alone (the spread
  across seeds is unmeasured); the test adds the search's pooled seed-to-seed variance to it.
  Where no configuration of the search has two seeds, there is none to add: a one-seed member or
  rival is then never called significant (its verdict is "measure the seed spread first").
- Holm-Bonferroni over the members compared keeps the family-wise error at ``alpha`` (5%).

What would settle it (:attr:`Comparison.settle`): the seeds per configuration that give the test
``power`` (80%) to detect the observed D at the Bonferroni level alpha / m (m members compared; Holm
is never stricter), with SE(K)^2 = b_m + b_r + 2 s^2 / K (b: binomial variance p (1 - p) / n_val,
which seeds do not shrink, see :func:`octsearch.store.records.aggregate`; s^2: pooled seed variance).
When D is beyond what b_m + b_r allows, no number of seeds settles it: only a larger validation split.

Units: accuracies, differences and SEs are fractions of the validation split; FLOPs multiply-adds.
Pure apart from :func:`versus_uniform`, which reads a store (no torch, no ray).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal

from octsearch.errors import ConfigError
from octsearch.stats import binomial_stderr
from octsearch.store.records import PROXY_BUDGET

if TYPE_CHECKING:
    from octsearch.store.records import EvaluationRecord, TrialRecord
    from octsearch.store.store import Store

ALPHA = 0.05
POWER = 0.8
MEASURE_SEEDS = 3  # seeds per configuration that measure an unknown seed spread (2 degrees of freedom)
TEST = ("one-sided z-test of per-layer minus uniform accuracy, SE = sqrt(se_a^2 + se_b^2) (errors taken as "
        "independent: conservative on the shared validation split), Holm-Bonferroni over the members compared")

Kind = Literal["compared", "uniform", "no_rival"]
# significant | seeds: seeds_needed more would do | split: below what the split resolves |
# not_ahead: the member is not more accurate | spread: measure the seed spread first
Settle = Literal["significant", "seeds", "split", "not_ahead", "spread"]


@dataclass(frozen=True)
class Measured:
    """One configuration as the test sees it: ``flops`` in multiply-adds, ``accuracy`` and ``stderr``
    (the stored SE) fractions of the validation split, ``n_val`` its images per evaluation."""

    trial: int
    flops: int
    accuracy: float
    stderr: float
    n_evals: int
    n_val: float
    uniform_alpha: float | None = None  # None: a per-layer configuration

    @property
    def split_var(self) -> float:
        """Binomial variance of the split, p (1 - p) / n_val: what more seeds cannot shrink."""
        return binomial_stderr(self.accuracy, round(self.n_val)) ** 2 if self.n_val > 0 else self.stderr ** 2

    def test_var(self, seed_var: float | None) -> float:
        """Variance used by the test: the stored one, plus the pooled seed spread for one seed."""
        extra = seed_var if self.n_evals == 1 and seed_var is not None else 0.0
        return self.stderr ** 2 + extra


@dataclass(frozen=True)
class Comparison:
    """One front member against its rival. ``difference`` (member minus rival) and ``stderr`` are
    fractions of the validation split; ``seeds_needed`` is per configuration, in total."""

    member: int
    member_flops: int
    member_accuracy: float
    member_stderr: float
    kind: Kind
    rival: int | None = None
    rival_flops: int | None = None
    rival_alpha: float | None = None
    rival_accuracy: float | None = None
    rival_stderr: float | None = None
    difference: float | None = None
    stderr: float | None = None
    z: float | None = None
    p_value: float | None = None
    p_corrected: float | None = None
    significant: bool = False
    settle: Settle | None = None
    seeds_needed: int | None = None

    @property
    def win(self) -> bool:
        return self.difference is not None and self.difference > 0


@dataclass(frozen=True)
class Verdict:
    """Every front member's comparison and the summary; ``seed_std`` is the pooled seed-to-seed
    standard deviation (fraction; None when no configuration has two seeds) over ``seed_groups``."""

    search: str
    budget: str
    flops_key: str
    comparisons: tuple[Comparison, ...]
    seed_std: float | None
    seed_groups: int
    alpha: float = ALPHA
    power: float = POWER
    test: str = TEST

    @property
    def compared(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.kind == "compared")

    @property
    def levels(self) -> int:
        """FLOPs levels compared: front members with a uniform rival."""
        return len(self.compared)

    @property
    def wins(self) -> int:
        return sum(c.win for c in self.compared)

    @property
    def significant_wins(self) -> int:
        return sum(c.significant for c in self.compared)

    @property
    def seeds_needed(self) -> int | None:
        """The most seeds per configuration any unsettled member asks for (None: none asks)."""
        asks = [c.seeds_needed for c in self.compared if c.seeds_needed is not None]
        return max(asks) if asks else None


def one_sided_p(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input's order: the i-th smallest p (from 0) is
    multiplied by m - i, then made non-decreasing in that order and capped at 1."""
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda j: p_values[j])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def pooled_seed_variance(groups: Iterable[Sequence[float]]) -> tuple[float | None, int]:
    """Variance across seeds pooled over the configurations with two or more, and how many there are."""
    groups = [g for g in groups if len(g) >= 2]
    dof = sum(len(g) - 1 for g in groups)
    if not dof:
        return None, 0
    ss = sum(sum((a - sum(g) / len(g)) ** 2 for a in g) for g in groups)
    return ss / dof, len(groups)


def rival_of(member: Measured, uniforms: Iterable[Measured]) -> Measured | None:
    """The most accurate uniform point with no more FLOPs (ties: cheaper, then lower number)."""
    fits = [u for u in uniforms if u.flops <= member.flops]
    return min(fits, key=lambda u: (-u.accuracy, u.flops, u.trial)) if fits else None


def seeds_to_settle(member: Measured, rival: Measured, seed_var: float | None, m: int,
                    alpha: float = ALPHA, power: float = POWER) -> tuple[Settle, int | None]:
    """What would make the member's gain significant; see the module docstring for the model."""
    d = member.accuracy - rival.accuracy
    if d <= 0:
        return "not_ahead", None
    normal = NormalDist()
    target = (d / (normal.inv_cdf(1 - alpha / m) + normal.inv_cdf(power))) ** 2
    room = target - member.split_var - rival.split_var
    if room <= 0:
        return "split", None
    if seed_var is None:
        return "spread", max(MEASURE_SEEDS, member.n_evals + 1, rival.n_evals + 1)
    k = math.ceil(2 * seed_var / room)
    # at least one more than either has: the pooled spread may promise what their own spread denies
    return "seeds", max(k, member.n_evals + 1, rival.n_evals + 1)


def _z(d: float, se: float) -> float:
    if se > 0:
        return d / se
    return math.copysign(math.inf, d) if d else 0.0


def _tested(member: Measured, rival: Measured, seed_var: float | None) -> Comparison:
    d = member.accuracy - rival.accuracy
    se_m, se_r = math.sqrt(member.test_var(seed_var)), math.sqrt(rival.test_var(seed_var))
    se = math.hypot(se_m, se_r)
    z = _z(d, se)
    return Comparison(member.trial, member.flops, member.accuracy, se_m, "compared", rival.trial, rival.flops,
                      rival.uniform_alpha, rival.accuracy, se_r, d, se, z, one_sided_p(z))


def _untested(member: Measured, kind: Kind) -> Comparison:
    return Comparison(member.trial, member.flops, member.accuracy, member.stderr, kind)


def _judged(c: Comparison, p_corrected: float, settle: tuple[Settle, int | None], alpha: float,
            measured: bool = True) -> Comparison:
    """``measured``: the test's SE includes the seed spread (its own seeds, or the pooled one); a
    one-seed SE of the split's binomial error alone would call noise significant."""
    if p_corrected <= alpha and measured:
        return replace(c, p_corrected=p_corrected, significant=True, settle="significant")
    return replace(c, p_corrected=p_corrected, settle=settle[0], seeds_needed=settle[1])


def compare(members: Sequence[Measured], uniforms: Sequence[Measured], seed_var: float | None,
            alpha: float = ALPHA, power: float = POWER) -> tuple[Comparison, ...]:
    """Every member's comparison, in the members' order (see the module docstring)."""
    rivals = {m.trial: rival_of(m, uniforms) for m in members if m.uniform_alpha is None}
    pairs = [(m, r) for m in members if (r := rivals.get(m.trial)) is not None]
    tested = {m.trial: _tested(m, r, seed_var) for m, r in pairs}
    corrected = holm([tested[m.trial].p_value for m, _ in pairs])  # type: ignore[misc]
    judged = {m.trial: _judged(tested[m.trial], p, seeds_to_settle(m, r, seed_var, len(pairs), alpha, power), alpha,
                               seed_var is not None or min(m.n_evals, r.n_evals) > 1)
              for (m, r), p in zip(pairs, corrected, strict=True)}
    return tuple(judged.get(m.trial) or _untested(m, "uniform" if m.uniform_alpha is not None else "no_rival")
                 for m in members)


# -- reading a store ----------------------------------------------------------------------------


def _point(t: TrialRecord, flops_key: str, evals: Sequence[EvaluationRecord]) -> Measured | None:
    flops = getattr(t, flops_key)
    if flops is None or t.accuracy is None or t.accuracy_stderr is None:
        return None
    n_val = sum(e.n_val for e in evals) / len(evals) if evals else 0.0
    alpha = (t.uniform_alpha if t.uniform_alpha is not None else 0.0) if t.is_uniform else None
    return Measured(t.number, flops, t.accuracy, t.accuracy_stderr, t.n_evals, n_val, alpha)


def versus_uniform(store: Store, search: str, budget: str = PROXY_BUDGET, also: Collection[int] = (),
                   alpha: float = ALPHA, power: float = POWER) -> Verdict:
    """The verdict of a search's front at ``budget``; trials in ``also`` (e.g. an exported one)
    are judged with the front members and counted in the correction. ConfigError when the search
    has no complete uniform-alpha trial at that budget."""
    record = store.get_search(search)  # unknown: the error lists the names
    scored = store.scored_trials(search, budget)
    by_trial: dict[int, list[EvaluationRecord]] = {}
    for e in store.evaluations(search, budget=budget):
        by_trial.setdefault(e.trial, []).append(e)
    points = {t.number: p for t in scored if (p := _point(t, record.flops_key, by_trial.get(t.number, ())))}
    uniforms = [p for p in points.values() if p.uniform_alpha is not None]
    if not uniforms:
        raise ConfigError(f"search {search!r} has no complete uniform-alpha trial at budget {budget!r}: "
                          "nothing to compare its front with (a search evaluates its uniform points first)")
    numbers = [t.number for t in store.front(search, budget)] + sorted(set(also))
    members = [points[n] for n in dict.fromkeys(numbers) if n in points]
    seed_var, groups = pooled_seed_variance([e.accuracy for e in g] for g in by_trial.values())
    return Verdict(search, budget, record.flops_key, compare(members, uniforms, seed_var, alpha, power),
                   None if seed_var is None else math.sqrt(seed_var), groups, alpha, power)
