"""Front plot: every trial in grey, the front highlighted, the uniform-alpha curve beside it.

A picture for people, so it lives with the CLI; matplotlib is imported only when one is drawn.
x is plotted in multiply-adds and only its tick labels are GFLOPs (:func:`gflops`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from octsearch.cli._format import gflops
from octsearch.errors import ConfigError
from octsearch.store import FLOPS_LABELS, TrialRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_front(
    path: str | Path,
    trials: Sequence[TrialRecord],
    front: Sequence[TrialRecord],
    *,
    title: str,
    reference_flops: int,
    flops_key: str = "flops_paper",
) -> Path:
    """Write a PNG: x = GFLOPs (``flops_key``'s multiply-adds), y = validation accuracy (%)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"plot file {str(path)!r} must end in .png")
    usable = _usable(trials, flops_key)
    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=120)
    x, y = _xy(usable, flops_key)
    ax.scatter(x, y, s=10, color="0.7", label=f"all complete trials ({len(x)})", zorder=1)
    _uniform_curve(ax, [t for t in usable if t.is_uniform], flops_key)
    _front_steps(ax, _usable(front, flops_key), flops_key)
    ax.axvline(reference_flops, color="0.4", lw=0.8, ls=":", label="alpha-0 network FLOPs")
    _label_axes(ax, flops_key, title)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as e:
        raise ConfigError(f"cannot write plot file {path}: {e.strerror}") from None
    finally:
        plt.close(fig)
    return path


def _usable(records: Sequence[TrialRecord], flops_key: str) -> list[TrialRecord]:
    """The trials with both a cost and an accuracy, cheapest first."""
    usable = [t for t in records if getattr(t, flops_key) is not None and t.accuracy is not None]
    return sorted(usable, key=lambda t: getattr(t, flops_key))


def _xy(records: Sequence[TrialRecord], flops_key: str) -> tuple[list[float], list[float]]:
    """x in multiply-adds, y in % of the validation split."""
    return [getattr(t, flops_key) for t in records], [100 * t.accuracy for t in records]  # type: ignore[misc]


def _uniform_curve(ax: Axes, uniform: list[TrialRecord], flops_key: str) -> None:
    """The paper's baseline: one alpha for every layer, each point labelled with it."""
    if not uniform:
        return
    ux, uy = _xy(uniform, flops_key)
    ax.plot(ux, uy, "s--", color="tab:blue", ms=5, label="uniform alpha", zorder=2)
    for t, px, py in zip(uniform, ux, uy, strict=True):
        ax.annotate(_alpha_label(t.uniform_alpha), (px, py), textcoords="offset points",
                    xytext=(4, -10), fontsize=7, color="tab:blue")


def _front_steps(ax: Axes, front: list[TrialRecord], flops_key: str) -> None:
    fx, fy = _xy(front, flops_key)
    errors = [100 * (t.accuracy_stderr or 0.0) for t in front]
    ax.errorbar(fx, fy, yerr=errors, fmt="o-", color="tab:red", ms=5, capsize=2, drawstyle="steps-post",
                label=f"Pareto front ({len(fx)}), ± stderr", zorder=3)


def _label_axes(ax: Axes, flops_key: str, title: str) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: gflops(value)))
    ax.set_xlabel(f"GFLOPs ({FLOPS_LABELS[flops_key]} multiply-adds, batch 1)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def _alpha_label(alpha: float | None) -> str:
    return "α=?" if alpha is None else f"α={alpha:g}"
