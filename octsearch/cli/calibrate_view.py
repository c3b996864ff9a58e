"""The text of ``octsearch calibrate``: the pilot's plan, each rung's figures, the recommendation."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from octsearch.cli._format import table

if TYPE_CHECKING:
    from octsearch.calibrate.pilot import PilotPlan
    from octsearch.calibrate.report import Calibration, RungFigures


def plan_text(plan: PilotPlan) -> str:
    pilot = plan.pilot
    uniform = len(pilot.space.uniform_configurations())
    todo = sum(len(j) for j in plan.jobs.values())
    return (f"calibration {pilot.name!r}: {len(pilot.configurations)} configurations ({uniform} uniform-alpha + "
            f"{len(pilot.configurations) - uniform} more from {len(pilot.design.rows)} design rows: {pilot.design.kind}) x "
            f"{len(pilot.seeds)} seeds ({', '.join(map(str, pilot.seeds))}) x {len(pilot.ladder)} rung(s); "
            f"{plan.stored} run(s) stored, {todo} to train, {plan.concurrency} at a time")


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(value: float | None, ci: tuple[float, float] | None) -> str:
    return _num(value) if ci is None else f"{_num(value)} [{ci[0]:.2f}-{ci[1]:.2f}]"


def _scaled(ci: tuple[float, float] | None, value: float | None, sd: float | None) -> tuple[float, float] | None:
    """A figure proportional to the seed SD, over the SD's confidence interval."""
    if ci is None or value is None or not sd:
        return None
    return (value * ci[0] / sd, value * ci[1] / sd)


def rung_rows(report: Calibration) -> list[dict[str, Any]]:
    return [{
        "rung (budget label)": r.label,
        "evals": r.evaluations,
        "val imgs": r.n_val,
        "mean acc": _num(r.mean_accuracy),
        "seed SD [95% CI]": _interval(r.seed_sd, r.seed_sd_ci),
        "tau": _num(r.tau),
        f"SE@{report.trials}": _num(r.se_search, 3),
        "resolves +/- [95% CI]": _interval(r.resolves, _scaled(r.seed_sd_ci, r.resolves, r.seed_sd)),
        "80% power": _num(r.detectable),
        "s/trial": _num(r.seconds, 1),
    } for r in report.rungs]


def report_text(report: Calibration, device: str) -> str:
    lines = [
        f"calibration {report.pilot!r}: what a search of {report.trials} trials resolves at each rung",
        table(rung_rows(report)),
        "",
        "Units: accuracies, SDs, SEs and effects are points of validation accuracy (percent of the rung's "
        "validation split); effects at equal FLOPs (multiply-adds, the space's convention); s/trial = training "
        f"wall seconds per evaluation on {device}.",
        "seed SD: pooled SD within a configuration, its 95% CI by chi-square (the resolution scales with it); tau: seed-to-seed Kendall tau-b of the configurations, mean over "
        f"seed pairs; SE@{report.trials}: the pooled model's median effect SE from a search of {report.trials} "
        f"evaluations at the rung = seed SD x {report.unit_se:.3f} (the SE per point of noise of a balanced design "
        "of that size: the best case, assuming the additive model fits); resolves: 2 SE; 80% power: the effect a "
        "5% two-sided test detects with 80% power (2.8 SE).",
    ]
    lines += [f"{r.label}: {r.failures} training failure(s) (near chance), counted in the seed SD"
              for r in report.rungs if r.failures]
    lines.append(recommendation_text(report))
    return "\n".join(lines)


def recommendation_text(report: Calibration) -> str:
    if report.recommended is not None:
        r = _rung(report, report.recommended)
        return (f"recommended: {r.label}, the cheapest rung ({r.seconds:.1f} s a trial) at which {report.trials} "
                f"trials resolve +/-{report.target:g} points (they resolve +/-{r.resolves:.2f}, SE {r.se_search:.3f})")
    if report.best is None:
        return f"no rung could be modelled: nothing resolves +/-{report.target:g} points"
    r = _rung(report, report.best)
    return (f"no rung resolves +/-{report.target:g} points with {report.trials} trials: the best, {r.label}, resolves "
            f"+/-{r.resolves:.2f} (SE {r.se_search:.3f}); it would take about {r.trials_needed} trials "
            f"(about {r.trials_needed * r.seconds / 60:.0f} min of training on one worker)")


def _rung(report: Calibration, label: str) -> RungFigures:
    return next(r for r in report.rungs if r.label == label)


def report_json(report: Calibration, plan: PilotPlan, device: str, command: str) -> dict[str, Any]:
    pilot = plan.pilot
    return {
        **dataclasses.asdict(report),
        "device": device,
        "command": command,
        "design": pilot.design.kind,
        "configurations": len(pilot.configurations),
        "seeds": list(pilot.seeds),
        "recommendation": recommendation_text(report),
    }


def comment_lines(report: Calibration, command: str) -> tuple[str, ...]:
    """The comment a written space carries above its budget: what it resolves, and the command."""
    r = _rung(report, report.recommended or "")
    return (f"{r.label}: a search of {report.trials} trials resolves effects to +/-{r.resolves:.2f} points of "
            f"validation accuracy at equal FLOPs (SE {r.se_search:.3f}, best case; seed SD {_num(r.seed_sd)} points, "
            f"seed-to-seed Kendall tau {_num(r.tau)}, {r.seconds:.1f} s of training a trial on one CPU worker).",
            f"measured by: {command}")
