"""A search's records in the database: its store record (:func:`register_search`: objectives and
the fixed reference point of its hypervolume) and the sampler's Optuna study, kept in the store's
database (Optuna's ``RDBStorage``).

Lifecycle: :func:`refuse_foreign_study` (before anything is written: a study of the search's
name that octsearch did not create is refused) -> :func:`open_search_study` in the driver, the one
writer: a new search creates its study (marked as octsearch's, directions and metric names set);
a resumed search reloads it, so the sampler goes on with the state it had (NSGA-II's generations
and parents are in the study), after the trials a killed driver left RUNNING are failed; a search
from before the study existed gets one built from its stored results
(:mod:`octsearch.search.study_history`).

Samplers by name (:func:`make_sampler`), sized to the search's budget. The FLOPs budget reaches the
samplers that handle constraints (NSGA-II, NSGA-III, TPE, GP) as Optuna's constraint on each trial
(``Trial.set_constraint``, set by the searcher), not through ``constraints_func``, which Optuna 5.0
deprecates.

Naming: the study of search ``NAME`` is ``octsearch:NAME``; every evaluation (a repeat seed too)
is a trial of ``octsearch:NAME:evaluations``. Optuna's tables live beside the store's in the same
database and, on PostgreSQL, in the same schema (the URL's ``search_path``): the store's tables are
prefixed ``octsearch_`` and its Alembic history is kept in ``octsearch_alembic_version``, so
nothing collides, and ``optuna-dashboard URL`` (or ``octsearch dashboard``) reads the store's URL.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from octsearch.errors import ConfigError
from octsearch.store import SQLITE_BUSY_TIMEOUT_MS, LockTaken, open_database

if TYPE_CHECKING:
    from optuna.storages import RDBStorage
    from optuna.study import Study

    from octsearch.store import Store
from collections.abc import Callable, Mapping

from octsearch.errors import unknown_name
from octsearch.search.state import Objectives
from octsearch.spaces.space import SearchSpace
from octsearch.store import SearchRecord, SearchSpec, Store

PREFIX = "octsearch:"
EVALUATIONS = ":evaluations"
MARKER = "octsearch"  # study system attr: {"search": NAME, "role": "sampler" | "evaluations"}
ROLES = ("sampler", "evaluations")


def study_name(search: str, role: str = "sampler") -> str:
    """``octsearch:NAME`` (the sampler's study) or ``octsearch:NAME:evaluations``."""
    return f"{PREFIX}{search}{EVALUATIONS if role == 'evaluations' else ''}"


@dataclass(frozen=True)
class SearchStudy:
    """The sampler's study of one search, in the store's database, with the search's history in
    it already (reloaded, or built from the stored results), so nothing is re-injected;
    ``waiting``: warm-start points enqueued by an earlier launch and not drawn yet."""

    study: Any  # optuna.Study, its sampler set
    waiting: tuple[dict[str, float], ...] = ()


# -- reads without Optuna (nothing is written, no Optuna table is created) ---------------------


def marker_of(store: Store, name: str) -> dict | None | bool:
    """False: no study ``name`` in the database; None: one without octsearch's marker; else the
    marker. Plain SQL on Optuna's ``studies`` tables, so a check never creates them."""
    value = store.read_other_table(
        "studies", "SELECT COALESCE(a.value_json, 'null') FROM studies s LEFT JOIN study_system_attributes a "
        "ON a.study_id = s.study_id AND a.key = :k WHERE s.study_name = :n", {"n": name, "k": MARKER})
    return False if value is None else json.loads(value)


def check_marker(marker: dict | None | bool, search: str, role: str, shown: str) -> bool:
    """True if the study exists and is octsearch's study of ``search``; ConfigError if it is not."""
    if marker is False:
        return False
    if not isinstance(marker, dict) or marker.get("search") != search or marker.get("role") != role:
        raise ConfigError(
            f"the database {shown} holds an Optuna study {study_name(search, role)!r} that octsearch did not "
            f"create; accepted: another --name, or another database (--db)")
    return True


def refuse_foreign_study(url: str | None, search: str) -> None:
    """ConfigError if the database at ``url`` holds a study named like the search's that octsearch
    did not create. Reads only; a database that does not exist yet passes."""
    database = open_database(url)
    if database is None:
        return
    with database:
        for role in ROLES:
            check_marker(marker_of(database, study_name(search, role)), search, role, database.url)


# -- Optuna's storage on the store's database ---------------------------------------------------


def open_storage(store: Store, writer: bool = True) -> RDBStorage:
    """Optuna's RDB storage on the store's database. Creating its tables is serialised between
    processes; on SQLite a writer's transactions start with ``BEGIN IMMEDIATE`` and wait for
    the lock (30 s), so two searches in one file queue instead of failing with "database is
    locked"."""
    from optuna.storages import RDBStorage
    from sqlalchemy import event

    url = store.database_url
    sqlite = url.get_backend_name() == "sqlite"
    kwargs: dict[str, Any] = ({"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}} if sqlite
                              else {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}})
    with storage_lock(store), warnings.catch_warnings():
        _quiet_optuna_warnings()
        storage = RDBStorage(url.render_as_string(hide_password=False), engine_kwargs=kwargs)
    if sqlite and writer:
        event.listen(storage.engine, "connect", _sqlite_connect)
        event.listen(storage.engine, "begin", _sqlite_begin_immediate)
        storage.engine.dispose()  # connections made so far lack the listeners
    return storage


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # BEGIN is ours (see _sqlite_begin_immediate)
    dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    # WAL without a sync per commit: a power cut may lose the last draws told (the next launch
    # fails what it finds running); the results themselves are the store's, synced as before.
    dbapi_connection.execute("PRAGMA synchronous = NORMAL")


def _sqlite_begin_immediate(connection: Any) -> None:
    # Optuna reads then writes in one transaction; a deferred one fails at once with SQLITE_BUSY
    # when another process wrote in between, an immediate one waits for the write lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _quiet_optuna_warnings() -> None:
    """Inside ``warnings.catch_warnings()`` around octsearch's own call of Optuna's experimental
    API (the study's metric names): that warning is for people writing the call, not running it."""
    from optuna.exceptions import ExperimentalWarning

    warnings.simplefilter("ignore", category=ExperimentalWarning)


# -- the study of a search ------------------------------------------------------------------------


def open_search_study(store: Store, storage: RDBStorage, search: str, directions: list[str],
                      metric_names: list[str], role: str = "sampler", sampler: Any = None) -> tuple[Study, bool]:
    """(the study, True if it existed) in ``storage`` (:func:`open_storage` of ``store``), drawing
    with ``sampler`` (None: Optuna's default). A new one is marked as octsearch's study of
    ``search``; an existing one must be octsearch's, with the same directions."""
    import optuna

    name = study_name(search, role)
    existed = check_marker(marker_of(store, name), search, role, store.url)
    if existed:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        stored = [d.name.lower() for d in study.directions]
        if stored != directions:
            raise ConfigError(f"study {name!r} in {store.url} optimises {stored}, this search {directions}; "
                              "accepted: the space file the search was made with")
        return study, True
    study = optuna.create_study(storage=storage, study_name=name, directions=directions, sampler=sampler)
    storage.set_study_system_attr(storage.get_study_id_from_name(name), MARKER, {"search": search, "role": role})
    with warnings.catch_warnings():
        _quiet_optuna_warnings()
        study.set_metric_names(metric_names)
    study.set_user_attr("octsearch search", search)
    return study, False


def fail_left_running(study: Study) -> int:
    """Trials a killed (or stopped) driver left RUNNING become FAIL; returns how many."""
    from optuna.trial import TrialState

    left = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in left:
        study.tell(trial.number, state=TrialState.FAIL)
    return len(left)


def waiting_points(study: Study) -> tuple[dict[str, float], ...]:
    """Warm-start points an earlier launch enqueued and the sampler has not drawn yet."""
    from optuna.trial import TrialState

    return tuple(dict(t.system_attrs.get("fixed_params", {}))
                 for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


# -- locks between processes on the store's database ----------------------------------------------

_CREATE_TABLES = "optuna tables"  # one process at a time creates Optuna's tables


def storage_lock(store: Store) -> contextlib.AbstractContextManager[None]:
    """Wait for, then hold, the lock for creating Optuna's tables (concurrent creations race)."""
    return store.lock(_CREATE_TABLES)


@contextlib.contextmanager
def hold_search(store: Store, search: str) -> Iterator[None]:
    """Hold search ``search`` for this driver; ConfigError at once if another process runs it.

    Two drivers of one search would each keep their own record of what is in flight (and train
    a configuration twice) and interleave two samplers' generations in one study: the second
    launch is refused instead, with one line."""
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(store.lock(f"search {search}", wait=False))
        except LockTaken:
            raise ConfigError(f"search {search!r} is being run by another octsearch launch on {store.url}; "
                              "accepted: wait for it to end (or stop it), or another --name") from None
        yield


# -- the samplers the CLI accepts --------------------------------------------------------------

SAMPLER_NAMES = ("nsga2", "nsga3", "tpe", "random", "qmc", "gp")
# Samplers that read trials' constraints (the FLOPs budget); the others ignore them.
CONSTRAINED = frozenset({"nsga2", "nsga3", "tpe", "gp"})


def check_sampler(name: str) -> str:
    if name not in SAMPLER_NAMES:
        raise unknown_name("sampler", name, SAMPLER_NAMES)
    return name


def population_for(trials: int) -> int:
    """NSGA population sized so that at least three generations fit in the budget."""
    return max(4, min(50, trials // 4))


def make_sampler(name: str, trials: int, seed: int, args: Mapping[str, Any] | None = None,
                 constrained: bool = False) -> Any:
    """Build sampler ``name`` for a search of ``trials`` trials; ``args`` override our defaults.

    ``constrained`` (a search with a FLOPs budget) changes nothing here: each trial carries the
    constraint, and the samplers in :data:`CONSTRAINED` read it from there."""
    import optuna

    check_sampler(name)
    args = dict(args or {})
    startup = max(4, min(10, trials // 5))
    factories: dict[str, Callable[[], Any]] = {
        "nsga2": lambda: optuna.samplers.NSGAIISampler(
            **{"population_size": population_for(trials), "seed": seed, **args}),
        "nsga3": lambda: optuna.samplers.NSGAIIISampler(
            **{"population_size": population_for(trials), "seed": seed, **args}),
        "tpe": lambda: optuna.samplers.TPESampler(
            **{"n_startup_trials": startup, "multivariate": True, "seed": seed, **args}),
        "random": lambda: optuna.samplers.RandomSampler(**{"seed": seed, **args}),
        "qmc": lambda: optuna.samplers.QMCSampler(**{"qmc_type": "sobol", "scramble": True, "seed": seed,
                                                     "warn_independent_sampling": False, **args}),
        "gp": lambda: optuna.samplers.GPSampler(**{"n_startup_trials": startup, "seed": seed, **args}),
    }
    try:
        return factories[name]()
    except TypeError as e:
        raise ConfigError(f"sampler {name}: bad argument(s) {sorted(args)} ({e})") from None


# -- the search's record in the store: its objectives and the fixed reference point of its hypervolume ---

# -- the search record: its objectives and the fixed reference point of its hypervolume -----------
# (chance-level accuracy, the alpha-0 network's FLOPs in the objective convention)


def sampler_args(space: SearchSpace, sampler: str, given: Mapping[str, Any] | None = None) -> dict:
    """``given`` when set (the benchmark's strategies); else the space's sampler arguments when the
    search uses the space's sampler, none for another (``--sampler tpe`` on a space tuned for
    NSGA-II must not get its ``population_size``)."""
    if given is not None:
        return dict(given)
    return dict(space.sampler.args) if sampler == space.sampler.name else {}


def reference_point(space: SearchSpace) -> tuple[float, int]:
    """Chance-level accuracy and the FLOPs (objective convention) of the alpha-0 network."""
    from octsearch.spaces.cost import count_cost

    # Alpha 0 need not be a choice of the space's grid: counted directly, not as a configuration.
    cost = count_cost(space.model_name, space.model_args, tuple((slot, 0.0) for slot in space.free_slots))
    return 1.0 / int(space.model_args["num_classes"]), cost.flops(space.objectives.flops)


def register_search(store: Store, space: SearchSpace, name: str, sampler: str, seed: int,
                    kind: str = "search", source: str | None = None,
                    args: Mapping[str, Any] | None = None) -> SearchRecord:
    """Create the search, or return the stored one if it is the same (space, kind, source);
    ``args``: the sampler's arguments when not the space's (see :func:`sampler_args`)."""
    ref_acc, ref_flops = reference_point(space)
    return store.create_search(SearchSpec(
        name=name, space_text=space.text, space_hash=space.hash, model_name=space.model_name,
        model_args=dict(space.model_args), reference_accuracy=ref_acc, reference_flops=ref_flops,
        objectives=Objectives.of(space).store_names, sampler=sampler, sampler_args=sampler_args(space, sampler, args),
        seed=seed, flops_budget=None if space.flops_budget is None else int(space.flops_budget),
        kind=kind, source=source,
    ), exist_ok=True)
