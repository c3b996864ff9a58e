"""What the studies of a search hold: each trial's attributes, the history of a search made before
the study existed (built once from the stored results), and every evaluation (repeat seeds too).

Trial attributes (user attrs, shown by optuna-dashboard): ``flops_paper`` and ``flops_all`` in
multiply-adds (batch 1; paper convention: convolutions and fully connected layers), ``param_count``,
``alpha <slot>`` for every free slot, ``configuration`` (the first 12 hex digits of the
configuration's key: the evaluations of one configuration share it), and once measured
``latency_ms`` and ``seed``. A configuration over the FLOPs budget is COMPLETE with a violated
constraint (``Trial.set_constraint("flops_over_budget", multiply-adds over)``); a stopped one is
PRUNED, a failed one FAIL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError
from octsearch.search.study import (
    SearchStudy,
    fail_left_running,
    open_search_study,
    open_storage,
    waiting_points,
)

if TYPE_CHECKING:
    from optuna.study import Study

    from octsearch.search.driver import SearchDriver
    from octsearch.search.state import KnownPoint

log = logging.getLogger(__name__)

CONSTRAINT = "flops_over_budget"  # multiply-adds over the FLOPs budget (<= 0: within)
_BUILT = "octsearch:history"  # study system attr: the stored results are in the study


def configuration_attrs(cfg: Configuration) -> dict[str, Any]:
    attrs: dict[str, Any] = {"configuration": cfg.key[:12]}
    if cfg.cost is not None:
        attrs.update(flops_paper=cfg.cost.flops_paper, flops_all=cfg.cost.flops_all,
                     param_count=cfg.cost.param_count)
    attrs.update({f"alpha {slot}": alpha for slot, alpha in cfg.alphas})
    return attrs


def metric_names(store_names: Sequence[str]) -> list[str]:
    return [f"{n} (multiply-adds)" if n.startswith("flops") else n for n in store_names]


def distributions_of(space: Any) -> dict[str, Any]:
    """The Optuna distribution of every searched parameter of ``space`` (its alpha choices)."""
    import optuna

    return {p.name: optuna.distributions.CategoricalDistribution(list(p.choices)) for p in space.params}


def open_studies(driver: SearchDriver, distributions: Mapping[str, Any], constrained: bool,
                 sampler: Any = None) -> tuple[SearchStudy, Study]:
    """The search's sampler study, drawing with ``sampler`` (reloaded, or new; a search made
    before the study existed gets its stored results), and its evaluations study."""
    directions = ["maximize" if m == "max" else "minimize" for m in driver.objectives.modes]
    names = metric_names(driver.objectives.store_names)
    storage = open_storage(driver.store)
    study, existed = open_search_study(driver.store, storage, driver.name, directions, names, sampler=sampler)
    evaluations, _ = open_search_study(driver.store, storage, driver.name, directions, names, role="evaluations")
    if existed:
        left = fail_left_running(study)
        if left:
            log.info("%d trials of study %s left running by an earlier launch are now failed", left, study.study_name)
    study_id = storage.get_study_id_from_name(study.study_name)
    if not storage.get_study_system_attrs(study_id).get(_BUILT):
        _build(driver, study, evaluations, distributions, constrained)
        storage.set_study_system_attr(study_id, _BUILT, True)
    return SearchStudy(study, waiting_points(study)), evaluations


def _build(driver: SearchDriver, study: Study, evaluations: Study, distributions: Mapping[str, Any],
           constrained: bool) -> None:
    """Once per study: the results stored before it existed (none for a new search)."""
    if driver.history:
        study.add_trials(history_trials(driver, distributions, constrained))
        evaluations.add_trials(evaluation_trials(driver, distributions))
        log.info("study %s built from %d stored trials", study.study_name, len(driver.history))


def _fits(params: Mapping[str, Any], distributions: Mapping[str, Any]) -> bool:
    return all(k in distributions and v in distributions[k].choices for k, v in params.items())


def known_trial(point: KnownPoint, distributions: Mapping[str, Any], constrained: bool,
                user_attrs: Mapping[str, Any] | None = None) -> Any:
    """A recorded result as an Optuna trial to add to a study; None when the sampler cannot take it
    (a state it has no word for, or a configuration outside the distributions)."""
    import optuna
    from optuna.trial import TrialState

    states = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "failed": TrialState.FAIL}
    params = point.configuration.by_param  # the Optuna boundary: parameter -> alpha
    if point.state not in states or not _fits(params, distributions):
        return None
    complete = point.state == "complete"
    return optuna.trial.create_trial(
        state=states[point.state], values=list(point.values) if complete else None,
        params=params, distributions=dict(distributions), user_attrs=dict(user_attrs or {}),
        system_attrs=constraint_attrs(point.over_budget) if constrained and point.state != "failed" else {},
    )


def history_trials(driver: SearchDriver, distributions: Mapping[str, Any], constrained: bool) -> list:
    """The driver's recorded results as Optuna trials (what a resumed sampler used to be told)."""
    trials = (known_trial(point, distributions, constrained, configuration_attrs(point.configuration))
              for point in driver.known_points())
    return [t for t in trials if t is not None]


def evaluation_trials(driver: SearchDriver, distributions: Mapping[str, Any]) -> list:
    """Every stored proxy-budget evaluation as a COMPLETE trial of the evaluations study."""
    import optuna

    by_number = {t.number: t for t in driver.history}
    out = []
    for e in driver.store.evaluations(driver.name, budget="proxy"):
        record = by_number.get(e.trial)
        if record is None or record.configuration.cost is None or not _fits(record.configuration.by_param, distributions):
            continue
        cfg = record.configuration
        out.append(optuna.trial.create_trial(
            values=list(driver.objectives.values(e.accuracy, cfg.cost, record.latency_ms)),
            params=dict(record.configuration.by_param), distributions=dict(distributions),
            user_attrs={**configuration_attrs(cfg), "seed": e.seed, "octsearch trial": e.trial},
        ))
    return out


def constraint_attrs(over_budget: float) -> dict[str, float]:
    """System attrs of ``Trial.set_constraint(CONSTRAINT, over_budget)`` for a trial built by hand."""
    return {f"constraints:{CONSTRAINT}": float(over_budget)}


def record_evaluation(study: Study, cfg: Configuration, distributions: Mapping[str, Any],
                      values: Sequence[float], attrs: Mapping[str, Any]) -> None:
    """One finished training run of ``cfg`` in the evaluations study (logged, never raised: the
    store holds the result either way)."""
    import optuna

    try:
        study.add_trial(optuna.trial.create_trial(
            values=[float(v) for v in values], params=cfg.by_param, distributions=dict(distributions),
            user_attrs={**configuration_attrs(cfg), **attrs}))
    except Exception:  # noqa: BLE001
        log.exception("octsearch could not record an evaluation in study %s", study.study_name)


def dashboard_study(store: Any, search: str) -> int:
    """The Optuna study id of search ``search`` for a dashboard. A search made before octsearch
    kept a study gets one built from its stored results (as its next launch would), unless it is
    running now; a study octsearch did not create is refused. Writes only such a migration."""
    from octsearch.search.study import check_marker, marker_of, study_name

    record = store.get_search(search)  # unknown name: lists the names
    if not check_marker(marker_of(store, study_name(search)), search, "sampler", store.url):
        if record.status == "running":
            raise ConfigError(f"search {search!r} has no Optuna study yet and is running (an octsearch from "
                              "before studies were kept); accepted: its dashboard once it has ended")
        _migrate(store, record)
    return open_storage(store, writer=False).get_study_id_from_name(study_name(search))


def _migrate(store: Any, record: Any) -> None:
    """Build the studies of a stored search that has none, from what the store holds."""
    from octsearch.search.driver import SearchDriver
    from octsearch.search.repeats import RepeatPolicy
    from octsearch.spaces.load import space_from_text

    space = space_from_text(record.space_text, record.name)
    driver = SearchDriver(space, store, record, RepeatPolicy(seeds=0), 0, lambda event: None)
    driver.history = store.trials(record.name)  # read only: nothing is reconciled
    open_studies(driver, distributions_of(space), space.flops_budget is not None)
