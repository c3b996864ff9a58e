"""OptunaSearch that screens configurations before they are dispatched, and knows what the
driver knows (pruned trials, the recorded history of a resumed search).

- Every draw becomes a :class:`~octsearch.configuration.Configuration` and goes through the
  driver's screen: one over the FLOPs budget, or one whose result is already stored, is answered
  at once and never reaches a worker; the sampler is told (with Optuna's constraint for the
  budget) and asked again.
- A trial the scheduler stopped is told to the sampler as PRUNED, never with its truncated
  accuracy (plain OptunaSearch would record it as COMPLETE).
- A resumed search hands every recorded result to the sampler before the first suggestion.
- The next configuration is drawn and screened while trials run (``prefetch``). A dispatched
  trial's Tune config is one :class:`~octsearch.search.request.EvaluationRequest`, counted by the
  driver, so workers never count again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from octsearch.search.objectives import METRIC_MODES
from octsearch.search.request import EvaluationRequest
from octsearch.search.samplers import CONSTRAINT_ATTR
from octsearch.search.state import KnownPoint, Verdict

if TYPE_CHECKING:
    from octsearch.search.driver import SearchDriver

log = logging.getLogger(__name__)

# Consecutive screened suggestions after which the space counts as exhausted.
MAX_SCREENED = 300


class OctOptunaSearch(OptunaSearch):
    def __init__(
        self,
        distributions: Mapping[str, Sequence[float]],
        sampler: Any,
        driver: SearchDriver,
        *,
        points_to_evaluate: Sequence[Mapping[str, float]] = (),
        history: Sequence[KnownPoint] = (),
        metrics: Sequence[str] = ("accuracy", "flops"),
    ) -> None:
        import optuna

        self._distributions = {k: optuna.distributions.CategoricalDistribution(list(v))
                               for k, v in distributions.items()}
        super().__init__(space=self._distributions, metric=list(metrics), mode=[METRIC_MODES[m] for m in metrics],
                         points_to_evaluate=[dict(p) for p in points_to_evaluate] or None, sampler=sampler)
        self._driver: SearchDriver | None = driver
        self._state = driver.state
        self.screened = 0
        self._ready: list[tuple[Any, dict | str | None]] = []  # prefetched (Optuna trial, config)
        for point in history:
            self._add_known(point)

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its configuration (for Tuner.restore, which octsearch does not use: a
        # resumed search is rebuilt from the store). The driver-side hooks hold the open store.
        state = self.__dict__.copy()
        state["_driver"] = None
        state["_state"] = None
        return state

    def save(self, checkpoint_path: str) -> None:
        import pickle

        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__getstate__(), f)

    def _add_known(self, point: KnownPoint) -> None:
        import optuna
        from optuna.trial import TrialState

        states = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "failed": TrialState.FAIL}
        if point.state not in states or any(
            k not in self._distributions or v not in self._distributions[k].choices
            for k, v in point.params.items()
        ):
            return
        complete = point.state == "complete"
        self._ot_study.add_trial(optuna.trial.create_trial(
            state=states[point.state],
            values=list(point.values) if complete else None,
            params=dict(point.params),
            distributions=self._distributions,
            user_attrs={CONSTRAINT_ATTR: point.over_budget},
            system_attrs={"constraints": (point.over_budget,)} if complete else {},
        ))

    def _tell(self, ot_trial: Any, verdict: Verdict) -> None:
        if verdict.values is None:
            from optuna.trial import TrialState

            self._ot_study.tell(ot_trial, None, state=TrialState.FAIL)
            return
        ot_trial.set_user_attr(CONSTRAINT_ATTR, float(verdict.over_budget))
        self._ot_study.tell(ot_trial, list(verdict.values))

    def suggest(self, trial_id: str) -> dict | None:
        repeat = self._driver.next_repeat()
        if repeat is not None:  # a repeat evaluation: not a sampler trial
            self._state.extra[trial_id] = repeat
            return repeat.as_config()
        if self._ready:
            ot_trial, config = self._ready.pop()
            if ot_trial is not None:
                self._ot_trials[trial_id] = ot_trial
            return config
        ot_trial, config = self._next_screened(trial_id)
        if ot_trial is not None:
            self._ot_trials[trial_id] = ot_trial
        return config

    def prefetch(self) -> None:
        """Draw and screen the next configuration now, while trials run, so that the slot the next
        finishing trial frees is filled at once (the screen counts FLOPs: 0.1-0.4 s here). The draw
        then misses the result of the trial finishing in between, as it would at one more
        concurrent trial; NSGA-II, the default, draws from its last generation anyway."""
        if not self._ready:
            self._ready.append(self._next_screened("__prefetch__"))

    def _next_screened(self, key: str) -> tuple[Any, dict | str | None]:
        """(Optuna trial, config) of the next draw that passes the screen, or (None, None |
        FINISHED)."""
        for _ in range(MAX_SCREENED):
            with self._state.timings.timed("sampler (suggest)"):
                config = super().suggest(key)
            if config is None:
                return None, None
            ot_trial = self._ot_trials.pop(key)
            with self._state.timings.timed("screen (FLOPs count, budget)"):
                configuration, verdict = self._driver.screen(config)
            if verdict is None:
                return ot_trial, EvaluationRequest(configuration).as_config()
            self.screened += 1
            self._tell(ot_trial, verdict)
        log.warning("%d suggestions in a row were over budget or already evaluated: stopping", MAX_SCREENED)
        return None, Searcher.FINISHED

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        from optuna.trial import TrialState

        if self._state.extra.pop(trial_id, None) is not None:
            return
        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return
        ot_trial = self._ot_trials[trial_id]
        final = bool(result and result.get("final"))
        if error or not final:
            state = TrialState.PRUNED if trial_id in self._state.pruned else TrialState.FAIL
            self._ot_study.tell(ot_trial, None, state=state)
            self._completed_trials.add(trial_id)
            return
        ot_trial.set_user_attr(CONSTRAINT_ATTR, 0.0)
        with self._state.timings.timed("sampler (tell)"):
            super().on_trial_complete(trial_id, result, error)
