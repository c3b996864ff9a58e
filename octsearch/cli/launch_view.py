"""What ``octsearch launch`` shows while a search runs: the driver's events as text."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from octsearch.search.events import (
    Event,
    NothingLeft,
    Progress,
    Resumed,
    ScreenStarted,
    SearchStarted,
    TrialEnded,
)

if TYPE_CHECKING:
    from octsearch.supernet.report import ConfirmReport
    from octsearch.supernet.screen import Screen


def progress_text(p: Progress) -> str:
    eta = "?" if p.eta is None else duration(p.eta)
    extra = f" pruned {p.pruned}" if p.pruned else ""
    extra += f" infeasible {p.infeasible}" if p.infeasible else ""
    extra += f" already-known {p.skipped}" if p.skipped else ""
    extra += f" (of which repeat seeds {p.repeats})" if p.repeats else ""
    extra += f" lost-with-worker {p.lost} (run again)" if p.lost else ""
    return (f"trials {p.finished}/{p.total}: done {p.done} running {p.running} failed {p.failed}{extra} | "
            f"front {p.front_size} hypervolume {p.hypervolume:.4g} (accuracy x share of alpha-0 FLOPs saved) | "
            f"elapsed {duration(p.elapsed)} eta {eta}")


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def notice_text(event: Event) -> str | None:
    """The one sentence an event other than progress gets, or None for events not shown."""
    if isinstance(event, Resumed):
        return f"resumed: {event.reconciled} trial(s) left running by an earlier driver marked failed"
    if isinstance(event, NothingLeft):
        return f"search {event.name!r} already has {event.finished} of {event.total} trials; raise --trials to continue"
    if isinstance(event, TrialEnded) and event.outcome == "lost":
        return f"trial {event.number} {event.error}; running it again on another worker"
    if isinstance(event, ScreenStarted):
        return (f"screen: the supernet ({event.epochs} epoch(s)) scores the space into search {event.companion!r} at "
                f"budget 'supernet' (what is stored or checkpointed is not redone); then {event.confirm} "
                "configuration(s) train stand-alone")
    if isinstance(event, SearchStarted):
        return (f"search {event.name!r}: {event.remaining} trial(s) to run, sampler {event.sampler}, "
                f"{event.concurrency} at a time; store {event.store_url}; "
                f"Ray logs in {event.ray_log or 'the Ray session dir'}")
    return None


class LaunchView:
    """Writes events: the progress line rewritten in place on a terminal, one line per change
    otherwise (logs, CI); notices on lines of their own."""

    def __init__(self, write: Callable[[str], None], tty: bool, min_interval: float = 0.5) -> None:
        self._write, self._tty, self._min = write, tty, min_interval
        self._last_text = ""
        self._last_time = 0.0

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._show(progress_text(event))
            return
        text = notice_text(event)
        if text is not None:
            self._end_line()
            self._write(text + "\n")

    def _show(self, text: str) -> None:
        now = time.monotonic()
        if text == self._last_text or (self._tty and now - self._last_time < self._min):
            return
        self._last_text, self._last_time = text, now
        self._write(f"\r\x1b[2K{text}" if self._tty else f"{text}\n")

    def _end_line(self) -> None:
        if self._tty and self._last_text:
            self._write("\n")
            self._last_text = ""

    def close(self) -> None:
        self._end_line()


# -- screen and confirm (--evaluator supernet): the report after the search ------------------------


def screen_lines(screen: Screen) -> list[str]:
    """What the supernet did and what it chose."""
    run, outcome = screen.outcome.run, screen.outcome
    if run is None:
        did = f"all {outcome.configurations} supernet scores were stored already: nothing trained"
    else:
        did = (f"supernet trained {screen.settings.epochs} epoch(s) in {run.train_seconds:.0f} s, "
               f"{outcome.recorded} configuration(s) scored in {run.score_seconds:.0f} s")
    layers = max(p.layer for p in screen.picks)
    uniform = sum(p.layer == 0 for p in screen.picks)
    source = "front" if layers <= 1 else f"front and next {layers - 1} non-dominated layer(s)"
    return [*([outcome.notice] if outcome.notice else []),
            f"screen: {did} (search {screen.companion!r}, budget 'supernet')",
            f"confirmed stand-alone: {len(screen.picks)} configuration(s): {uniform} uniform-alpha point(s) + "
            f"{len(screen.picks) - uniform} from the supernet's Pareto {source} (supernet accuracy up, FLOPs down; "
            "cheapest first within a layer)"]


def confirm_lines(report: ConfirmReport) -> list[str]:
    """Rank agreement, the stand-alone front beside the supernet's scores, the two-budget model."""
    a = report.agreement
    tau = (f"Kendall tau-b {a.tau:+.3f} (n {a.n}, two-sided p {_p(a.p_value)})" if a.n >= 2 and a.tau == a.tau
           else f"Kendall tau-b not defined (n {a.n}: too few configurations, or one side constant)")
    lines = [f"rank agreement on the confirmed configurations, supernet score vs stand-alone proxy accuracy: {tau}",
             f"stand-alone front ({len(report.front)} of {len(report.confirmed)} confirmed; hypervolume "
             f"{report.hypervolume:.4g}, accuracy fraction x share of alpha-0 FLOPs saved):"]
    for c in report.front:
        supernet = "not scored" if c.supernet is None else f"{c.supernet:.2f}"
        lines.append(f"  {c.params}: stand-alone {c.standalone:.2f}, supernet {supernet} points; "
                     f"{c.flops / 1e6:.3g} M multiply-adds ({report.flops_label})")
    lines.append(_model_line(report))
    lines.append(f"units: {report.units} ({report.flops_label})")
    return lines


def _model_line(report: ConfirmReport) -> str:
    m = report.model
    if m is None:
        return f"model of the space on both budgets: not fitted: {report.model_missing}"
    resolved = [f"{e.parameter} alpha {e.alpha:g} {e.estimate:+.2f} +/- {e.se:.2f}" for e in m.effects if e.significant]
    return (f"model of the space on both budgets (OLS: accuracy (points) ~ {_FLOPS_TERM[m.flops_degree]} + one effect per "
            f"parameter and alpha, against alpha 0 + budget, supernet against proxy; {m.n.get('proxy', 0)} stand-alone + {m.n.get('supernet', 0)} supernet evaluations "
            f"of {m.n_configurations} configurations): supernet minus stand-alone {m.offset:+.2f} +/- "
            f"{m.offset_se:.2f} points (p {_p(m.offset_p)}); effects at equal FLOPs resolved (Holm p < 0.05): "
            f"{'; '.join(resolved) or 'none'} of {len(m.effects)}")


_FLOPS_TERM = {2: "quadratic in log FLOPs", 1: "linear in log FLOPs (the quadratic term not separable)",
               0: "no FLOPs term (the alphas fix FLOPs: effects are not at equal FLOPs)"}


def _p(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"{p:.2g}"
