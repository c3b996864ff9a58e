"""The noise a benchmark on a table stands on, in words: the lines every sampler claim opens with.

Figures from :func:`octsearch.tables.resolution.resolution` (see its module docstring for what
each means); accuracies and effects in points of validation accuracy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octsearch.store import Store
    from octsearch.tables.resolution import Resolution

TRUTH_TEXT = {
    "means": "the table's mean validation accuracy over its seeds",
    "model": "the pooled model's predicted validation accuracy (octsearch.tables.truth.model_truth: quadratic in "
             "log FLOPs + one effect per parameter and alpha + seed, fit on every evaluation of the table)",
}


def span(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    lo, hi = min(values) * scale, max(values) * scale
    return f"{lo:.{digits}f}" if round(lo, digits) == round(hi, digits) else f"{lo:.{digits}f} to {hi:.{digits}f}"


def noise_lines(store: Store, table: str, truth: str) -> list[str]:
    """The table's seed-to-seed tau and detectable effects, then what the scoring truth resolves."""
    from octsearch.tables.resolution import resolution

    raw = resolution(store, table, "means")
    lines = [f"noise: the table's seeds {raw.seeds} rank its configurations with Kendall tau {span(raw.taus)} "
             f"(each pair of seeds); the pooled model of all its evaluations detects (80% power, 5% two-sided) "
             f"effects of {span(list(raw.detectable), digits=1)} points at equal FLOPs; one seed's true front "
             f"reaches {span(raw.front_shares, 100, 1)}% of another seed's true hypervolume"]
    own = raw if truth == "means" else resolution(store, table, truth)
    lines.append(truth_line(own))
    return lines


def truth_line(r: Resolution) -> str:
    return (f"scored on truth '{r.kind}': SE of a configuration's true accuracy {r.se_median:.2f} points (median; "
            f"{r.se_range[0]:.2f} to {r.se_range[1]:.2f}); built from one seed each, two such truths agree at tau "
            f"{span(r.taus)} and one's front reaches {span(r.front_shares, 100, 1)}% of the other's hypervolume "
            f"(a floor: the truth uses all {len(r.seeds)} seeds); the uniform-alpha configurations alone hold "
            f"{100 * r.uniform_share:.1f}% of its true hypervolume")
