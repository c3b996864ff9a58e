"""Front plot: every trial in grey, the front highlighted, the uniform-alpha curve beside it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from octsearch.errors import ConfigError
from octsearch.store.records import FLOPS_LABELS, TrialRecord


def _alpha_label(alpha: float | None) -> str:
    return "α=?" if alpha is None else f"α={alpha:g}"


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

    def xy(records: Sequence[TrialRecord]) -> tuple[list[float], list[float]]:
        usable = [t for t in records if getattr(t, flops_key) is not None and t.accuracy is not None]
        return [getattr(t, flops_key) / 1e9 for t in usable], [100 * t.accuracy for t in usable]  # type: ignore[operator]

    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=120)
    x, y = xy(trials)
    ax.scatter(x, y, s=10, color="0.7", label=f"all complete trials ({len(x)})", zorder=1)

    uniform = sorted((t for t in trials if t.is_uniform), key=lambda t: getattr(t, flops_key) or 0)
    if uniform:
        ux, uy = xy(uniform)
        ax.plot(ux, uy, "s--", color="tab:blue", ms=5, label="uniform alpha", zorder=2)
        for t, px, py in zip(uniform, ux, uy, strict=False):
            ax.annotate(_alpha_label(t.uniform_alpha), (px, py), textcoords="offset points",
                        xytext=(4, -10), fontsize=7, color="tab:blue")

    members = sorted(front, key=lambda t: getattr(t, flops_key) or 0)
    fx, fy = xy(members)
    errors = [100 * (t.accuracy_stderr or 0.0) for t in members
              if getattr(t, flops_key) is not None and t.accuracy is not None]
    ax.errorbar(fx, fy, yerr=errors, fmt="o-", color="tab:red", ms=5, capsize=2, drawstyle="steps-post",
                label=f"Pareto front ({len(fx)}), ± stderr", zorder=3)
    ax.axvline(reference_flops / 1e9, color="0.4", lw=0.8, ls=":", label="alpha-0 network FLOPs")

    ax.set_xlabel(f"GFLOPs ({FLOPS_LABELS[flops_key]} multiply-adds, batch 1)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as e:
        raise ConfigError(f"cannot write plot file {path}: {e.strerror}") from None
    finally:
        plt.close(fig)
    return path
