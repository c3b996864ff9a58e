"""The per-layer sensitivity picture of ``octsearch effects --plot``: each parameter's effect per
alpha with its 95% confidence interval, parameters in the order the network runs, grouped by stage.

y is in points of validation accuracy at equal FLOPs against alpha 0 (0 = no effect; below 0 the
alpha costs accuracy). Filled markers: Holm-corrected p < .05. A picture for people, so it lives
with the CLI; matplotlib (Agg) is imported only when one is drawn; the file is written whole.
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from octsearch.cli.effects_view import alpha_text
from octsearch.cli.output_files import write_whole

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from octsearch.analysis import EffectsResult

STAGE_GAP = 0.6  # extra space between stages, in parameter widths
SPREAD = 0.5  # the alphas of one parameter share this width


def plot_effects(path: str | Path, r: EffectsResult) -> Path:
    """Write the PNG (``path`` ends in .png; check it first with ``check_writable``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = [p for p in r.params if any(e.parameter == p for e in r.effects)]
    positions = _positions(params)
    fig, ax = plt.subplots(figsize=(max(6.5, 1.1 * len(params) + 2.5), 4.8), dpi=120)
    _stage_bands(ax, params, positions)
    _effects(ax, r, positions)
    ax.axhline(0, color="0.2", lw=0.9, zorder=1)
    ax.text(1.0, 0, " alpha 0", transform=ax.get_yaxis_transform(), va="center", ha="left", fontsize=8)
    _label(ax, r, params, positions)
    fig.tight_layout()
    try:
        return write_whole(path, lambda p: fig.savefig(p, format="png"), "plot")
    finally:
        plt.close(fig)


def _positions(params: list[str]) -> dict[str, float]:
    """x of each parameter: one unit apart, with a gap between stages."""
    from octsearch.analysis.effects import stage_of

    out, x, previous = {}, 0.0, None
    for p in params:
        if previous is not None:
            x += 1 + (STAGE_GAP if stage_of(p) != previous else 0)
        out[p], previous = x, stage_of(p)
    return out


def _stage_bands(ax: Axes, params: list[str], positions: dict[str, float]) -> None:
    """Alternate shading per stage, the stage's name on top."""
    from octsearch.analysis.effects import stage_of

    for k, (stage, members) in enumerate(groupby(params, key=stage_of)):
        xs = [positions[p] for p in members]
        left, right = min(xs) - 0.5 - STAGE_GAP / 2, max(xs) + 0.5 + STAGE_GAP / 2
        if k % 2 == 0:
            ax.axvspan(left, right, color="0.93", zorder=0)
        ax.text((left + right) / 2, 1.01, stage, transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=9, fontweight="bold")


def _effects(ax: Axes, r: EffectsResult, positions: dict[str, float]) -> None:
    """One series per alpha: error bar (95% CI) and marker, filled where Holm p < .05."""
    import matplotlib.pyplot as plt

    alphas = sorted({e.alpha for e in r.effects})
    colours = plt.get_cmap("viridis")([0.05 + 0.65 * i / max(1, len(alphas) - 1) for i in range(len(alphas))])
    for i, (alpha, colour) in enumerate(zip(alphas, colours, strict=True)):
        offset = (i - (len(alphas) - 1) / 2) * SPREAD / max(1, len(alphas) - 1) if len(alphas) > 1 else 0.0
        chosen = [e for e in r.effects if e.alpha == alpha]
        xs = [positions[e.parameter] + offset for e in chosen]
        ys = [e.estimate for e in chosen]
        errors = [[e.estimate - e.ci_low for e in chosen], [e.ci_high - e.estimate for e in chosen]]
        ax.errorbar(xs, ys, yerr=errors, fmt="none", ecolor=colour, elinewidth=1.6, capsize=3, zorder=2)
        faces = [colour if e.significant else "white" for e in chosen]
        ax.scatter(xs, ys, s=42, marker="o", facecolors=faces, edgecolors=[colour], linewidths=1.6, zorder=3,
                   label=f"alpha {alpha_text(alpha)}")


def _label(ax: Axes, r: EffectsResult, params: list[str], positions: dict[str, float]) -> None:
    ax.set_xticks([positions[p] for p in params])
    ax.set_xticklabels(params, rotation=30 if len(params) > 6 else 0, ha="right" if len(params) > 6 else "center",
                       fontsize=9)
    ax.set_xlim(min(positions.values()) - 0.5 - STAGE_GAP / 2, max(positions.values()) + 0.5 + STAGE_GAP / 2)
    ax.set_xlabel("searched parameter, in the order the network runs (grouped by stage)")
    ax.set_ylabel("effect on validation accuracy (points)\nat equal FLOPs, against alpha 0")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="95% CI; filled: Holm p < .05", fontsize=8, title_fontsize=8, loc="best")
    ax.set_title(f"{r.search} (budget {r.budget}): which layers tolerate alpha\n"
                 f"OLS over {r.n_evaluations} evaluations of {r.n_configurations} configurations, "
                 f"{r.flops_label} FLOPs held equal", fontsize=9, pad=18)
