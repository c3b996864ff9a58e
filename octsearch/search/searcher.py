"""The search's Tune searcher: Ray's public ``Searcher`` interface over an ``optuna.Study`` (ask and
tell), screening configurations before they are dispatched.

- Every draw becomes a :class:`~octsearch.configuration.Configuration` and goes through the
  driver's screen: one over the FLOPs budget, or one whose result is already stored, is answered
  at once and never reaches a worker; the sampler is told (with Optuna's constraint for the
  budget) and asked again.
- The driver keeps every trial in flight and ends each once (told by the recorder, which sees
  errors); it then hands the ended flight here (``driver.tell_sampler``) and the sampler is told.
  A trial the scheduler stopped is told as PRUNED, never with its truncated accuracy.
- The study is kept in the store's database (:mod:`octsearch.search.study`): a resumed search
  reloads it, so the sampler goes on with its own state and nothing is re-injected.
- Every trial carries the configuration's FLOPs, parameter count and slot alphas as attributes;
  the FLOPs budget is an Optuna constraint (``Trial.set_constraint``); every finished evaluation,
  a repeat seed too, is a trial of the search's evaluations study
  (:mod:`octsearch.search.study_history`).
- The next configuration is drawn and screened while trials run (``prefetch``). A dispatched
  trial's Tune config is one :class:`~octsearch.search.worker.EvaluationRequest`, counted by the
  driver, so workers never count again. The prefetched draw is the one thing held here.
- Tune pickles its searcher when the Tuner is built (for ``Tuner.restore``, which octsearch does
  not use: a resumed search is rebuilt from the store). What it pickles is the metric names and
  modes only: never the study, the sampler (Optuna 5.1's NSGA samplers hold a lock) or the driver.
"""

from __future__ import annotations

import atexit
import logging
import pickle
import random
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ray.tune.search import Searcher

from octsearch.errors import ConfigError
from octsearch.search.state import DrawAnswer, Flight, KnownPoint
from octsearch.search.study_history import (
    CONSTRAINT,
    configuration_attrs,
    known_trial,
    record_evaluation,
)
from octsearch.search.worker import (
    METRIC_MODES,
    EvaluationRequest,
    WorkerReport,
    request_of,
)
from octsearch.spaces.remaining import draw_untaken, exhausted

if TYPE_CHECKING:
    from optuna import Study

    from octsearch.configuration import Configuration
    from octsearch.search.driver import SearchDriver

log = logging.getLogger(__name__)

# Screened draws in a row (each one a trial told to the study in the database) after which the
# next draw is an untaken configuration chosen uniformly at random instead of the sampler's. A
# sampler that repeats itself three times rarely stops: TPE replaying 40 trials of mnist81 needed
# 27 random draws at 3 and 26 at 10, with 86 against 272 draws screened (12.6 against 26 CPU s).
MAX_SCREENED = 3


class StudySearcher(Searcher):
    """Tune's searcher of one search: the driver screens, ``study`` (its sampler set) draws."""

    def __init__(
        self,
        study: Study,
        driver: SearchDriver,
        distributions: Mapping[str, Any],
        *,
        metrics: Sequence[str] = ("accuracy", "flops"),
        points_to_evaluate: Sequence[Mapping[str, float]] = (),
        evaluations: Study | None = None,
    ) -> None:
        """``study`` holds the search's history already (:func:`~octsearch.search.tuner.searcher_for`);
        ``points_to_evaluate`` are enqueued; a draw never dispatched is failed at exit, so a kept
        study shows nothing running."""
        super().__init__(metric=list(metrics), mode=[METRIC_MODES[m] for m in metrics])
        self._study: Study | None = study
        self._distributions = dict(distributions)  # parameter -> Optuna distribution (distributions_of)
        self._driver: SearchDriver | None = driver
        self._timings = driver.timings
        driver.tell_sampler = self._told
        # With a FLOPs budget every trial the sampler is told carries its constraint.
        self._constrained = getattr(driver.space, "flops_budget", None) is not None
        self._evaluations = evaluations
        self.screened = 0
        self._ready: list[tuple[Any, dict | str | None]] = []  # prefetched (Optuna trial, config), not dispatched
        for point in points_to_evaluate:
            study.enqueue_trial(dict(point))
        atexit.register(_fail_untold, weakref.ref(self))

    # -- what Tune pickles -------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        return {"_metric": self._metric, "_mode": self._mode}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._study = self._driver = None  # detached: a resumed search is rebuilt from the store

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__getstate__(), f)

    def restore(self, checkpoint_path: str) -> None:
        raise ConfigError(f"octsearch does not restore a searcher from {checkpoint_path}; accepted: launch the "
                          "search again with the same --name (it resumes from the store)")

    def set_search_properties(self, metric: Any, mode: Any, config: dict, **spec: Any) -> bool:
        return True  # the search space is the driver's; Tune's config stays empty

    # -- the study ---------------------------------------------------------------------------------

    @property
    def study(self) -> Study:
        if self._study is None:
            raise ConfigError("this searcher was unpickled and holds no study; accepted: a searcher made by "
                              "octsearch.search.tuner.searcher_for")
        return self._study

    def _add_known(self, point: KnownPoint) -> None:
        trial = known_trial(point, self._distributions, self._constrained)
        if trial is not None:
            self.study.add_trial(trial)

    def _describe(self, ot_trial: Any, cfg: Configuration, answer: DrawAnswer | None) -> None:
        """The configuration as the trial's attributes; a draw answered from the store or running
        already gets its key only (one write, not one per slot: such draws come by the hundred)."""
        attrs = configuration_attrs(cfg)
        if answer is not None and answer.over_budget <= 0:
            attrs = {"configuration": attrs["configuration"]}
        for key, value in attrs.items():
            ot_trial.set_user_attr(key, value)

    def _constrain(self, ot_trial: Any, over_budget: float) -> None:
        """The FLOPs budget as Optuna's constraint, on every COMPLETE and PRUNED trial."""
        if self._constrained:
            ot_trial.set_constraint(CONSTRAINT, float(over_budget))

    def _tell(self, ot_trial: Any, answer: DrawAnswer) -> None:
        if answer.values is None:
            from optuna.trial import TrialState

            ot_trial.set_user_attr("outcome", "running already: not trained twice")
            self.study.tell(ot_trial, None, state=TrialState.FAIL)
            return
        over = answer.over_budget > 0
        ot_trial.set_user_attr("outcome", "over the FLOPs budget: not trained" if over else
                               "evaluated before: answered from the store")
        self._constrain(ot_trial, answer.over_budget)
        self.study.tell(ot_trial, list(answer.values))

    # -- Tune's calls ------------------------------------------------------------------------------

    def suggest(self, trial_id: str) -> dict | str | None:
        """The next evaluation: one lost with its worker first, then a repeat seed when one is
        due, else the sampler's next draw. Once the budget is dispatched: None (ask again) while
        trials run, since one may yet be lost and run again; FINISHED when none is left."""
        driver = self._driver
        if driver.budget_spent:
            return None if len(driver.flights) else Searcher.FINISHED
        extra = driver.next_evaluation()
        if extra is not None:  # a run again or a repeat seed: not a sampler trial
            draw, config = None, extra.as_config()
        else:
            draw, config = self._ready.pop() if self._ready else self._next_screened()
        if isinstance(config, dict):
            driver.dispatch(trial_id, request_of(config), draw)
        return config

    def prefetch(self) -> None:
        """Draw and screen the next configuration now, while trials run, so that the slot the next
        finishing trial frees is filled at once (the screen counts FLOPs: 0.1-0.4 s here). The draw
        then misses the result of the trial finishing in between, as it would at one more
        concurrent trial; NSGA-II draws from its last generation anyway."""
        if not self._ready and not self._driver.budget_spent:  # nothing would take it: draw no more
            self._ready.append(self._next_screened())

    def _next_screened(self) -> tuple[Any, dict | str | None]:
        """(Optuna trial, config) of the next draw that passes the screen, or (None, FINISHED)
        once every configuration of the space is taken."""
        in_a_row = 0
        while not self._exhausted():
            if in_a_row >= MAX_SCREENED and not self._enqueue_untaken():
                break
            with self._timings.timed("sampler (suggest)"):
                ot_trial = self.study.ask(self._distributions)
            with self._timings.timed("screen (FLOPs count, budget)"):
                configuration, answer = self._driver.screen(ot_trial.params)
            with self._timings.timed("sampler (study attributes)"):
                self._describe(ot_trial, configuration, answer)
            if answer is None:
                return ot_trial, EvaluationRequest(configuration).as_config()
            self.screened += 1
            in_a_row += 1
            self._tell(ot_trial, answer)
        log.warning("every configuration of the space (%d) is evaluated, over the FLOPs budget or running: "
                    "the search is exhausted", self._driver.space.num_configurations)
        return None, Searcher.FINISHED

    def _taken(self) -> set[str]:
        return set(self._driver.known) | self._driver.dispatched

    def _exhausted(self) -> bool:
        return exhausted(self._driver.space, self._taken())

    def _enqueue_untaken(self) -> bool:
        """The sampler keeps proposing taken configurations: its next draw is an untaken one chosen
        uniformly at random (seeded by the search and its draws so far), counted as such."""
        taken = self._taken()
        cfg = draw_untaken(self._driver.space, taken, random.Random(f"{self._driver.name}/{len(taken)}"))
        if cfg is None:
            return False
        self.study.enqueue_trial(cfg.by_param)
        self._driver.drew_at_random()
        return True

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """Tune's call at a trial's end. The trial is ended once, by the driver (the recorder tells
        it, with the error Tune's searcher calls do not see), which then calls :meth:`_told`."""

    def _told(self, flight: Flight, report: WorkerReport | None) -> None:
        """The sampler learns how an ended flight went: its draw is told the objective values, or
        PRUNED (stopped by the scheduler) or FAIL (failed, lost, interrupted); a repeat seed or a run
        again is an evaluation of the evaluations study instead."""
        from optuna.trial import TrialState

        if flight.bypasses_sampler:
            if report is not None:
                self._extra_complete(flight.request, report)
            return
        ot_trial = flight.draw
        if report is None:
            if flight.pruned:
                self._constrain(ot_trial, 0.0)
            self.study.tell(ot_trial, None, state=TrialState.PRUNED if flight.pruned else TrialState.FAIL)
            return
        ot_trial.set_user_attr("outcome", "trained")
        ot_trial.set_user_attr("seed", report.seed)
        if report.latency_ms is not None:
            ot_trial.set_user_attr("latency_ms", report.latency_ms)
        self._constrain(ot_trial, 0.0)
        with self._timings.timed("sampler (tell)"):
            self.study.tell(ot_trial, self._values(report))
        self._record(flight.request.configuration, report, {})

    def _values(self, report: WorkerReport) -> list[float]:
        return [report.value(m) for m in self.metric]

    def _extra_complete(self, extra: EvaluationRequest, report: WorkerReport) -> None:
        if extra.repeat_of is not None:
            self._record(extra.configuration, report, {"repeat of octsearch trial": extra.repeat_of})
            return
        # The lost trial's draw was told FAIL; the sampler learns the result of its run again here.
        self._add_known(KnownPoint(extra.configuration, "complete", tuple(self._values(report))))
        self._record(extra.configuration, report, {"run again of octsearch trial": extra.rerun_of})

    def _record(self, cfg: Configuration, report: WorkerReport, attrs: dict[str, Any]) -> None:
        if self._evaluations is None:
            return
        with self._timings.timed("sampler (evaluations study)"):
            record_evaluation(self._evaluations, cfg, self._distributions, self._values(report),
                              {"seed": report.seed, **attrs})

    def fail_untold(self) -> None:
        """Draws never told when the search ended (one prefetched and never dispatched; trials
        Tune stopped without a callback) become FAIL, so the kept study shows nothing running."""
        from optuna.trial import TrialState

        draws = [ot_trial for ot_trial, _config in self._ready if ot_trial is not None]
        if self._driver is not None:
            draws += self._driver.flights.draws()
        for ot_trial in draws:
            self.study.tell(ot_trial, None, state=TrialState.FAIL)
        self._ready.clear()


def _fail_untold(ref: weakref.ref) -> None:
    searcher = ref()
    if searcher is None or searcher._study is None:
        return
    try:
        searcher.fail_untold()
    except Exception:  # noqa: BLE001 (at exit: the next launch fails what is left running)
        log.debug("could not fail the untold draws", exc_info=True)
