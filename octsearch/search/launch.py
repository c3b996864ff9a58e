"""``launch``: run (or continue) a search of a space on a local Ray or a Ray cluster.

Lifecycle: validate everything (space, sampler, name vs stored space, cluster address) before any
Ray process starts and before anything is written -> register the search -> reconcile trials a
killed driver left RUNNING -> hand the recorded history to a freshly seeded sampler -> evaluate
the uniform-alpha points not yet evaluated -> Tune runs the rest of the budget, the driver
recording every trial as it ends -> mark the search finished or interrupted.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from octsearch.errors import ConfigError, UnknownNameError
from octsearch.search.cluster import RaySession, check_address, ray_session
from octsearch.search.interrupt import stop_on_sigint
from octsearch.search.progress import Progress, ProgressLine
from octsearch.search.repeats import RepeatPolicy, next_seed, pick_repeat
from octsearch.search.samplers import check_sampler, make_sampler
from octsearch.search.searcher import KnownPoint, SearchState, Verdict
from octsearch.search.status import INTERRUPTED
from octsearch.search.worker import strip_private


def _counts_against_budget(trial: Any) -> bool:
    """Finished trials count against ``--trials``; one cut short by a stopped driver does not
    (it is run again when the sampler proposes it again)."""
    if trial.status == "failed":
        return not (trial.error or "").startswith(INTERRUPTED)
    return trial.status in ("complete", "pruned", "infeasible")


@dataclass(frozen=True)
class LaunchOptions:
    space: str
    name: str
    trials: int | None = None  # the search's total; a resumed search runs what is left
    concurrency: int | None = None
    sampler: str | None = None
    seed: int | None = None
    address: str | None = None
    db: str | None = None
    seed_from: str | None = None
    early_stop: bool = False
    results_dir: str | None = None
    repeats: int | None = None  # further seeds for front candidates (default: the space's)
    noise_margin: float | None = None  # in standard errors (default: the space's)


@dataclass(frozen=True)
class LaunchResult:
    name: str
    status: str  # finished | interrupted
    trials_run: int
    counts: dict[str, int]
    elapsed_seconds: float
    train_seconds: float
    db_url: str
    ray_log: str | None
    worker_seconds: float = 0.0  # summed wall time inside trainables (training plus set-up)
    driver_seconds: dict[str, float] | None = None  # itemised driver time (sampler, screen, store)
    startup_seconds: float = 0.0  # from launch to Ray ready
    eval_seconds: float = 0.0  # summed validation time inside trials
    timeline: list[tuple[int, float, float, float, float]] | None = None  # see StoreRecorder.timeline


def _positive(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{name}={value!r}; accepted: an integer >= 1")
    return value


def _prepare(opts: LaunchOptions) -> tuple[Any, Any, str, int, int, int]:
    """Every check that can fail on user input, with nothing written and no Ray started."""
    from octsearch.spaces import load_space
    from octsearch.store import open_store

    space = load_space(opts.space)
    sampler = check_sampler(opts.sampler or space.sampler.name)
    trials = _positive("--trials", opts.trials) or space.sampler.trials
    concurrency = _positive("--concurrency", opts.concurrency) or space.sampler.concurrency
    seed = opts.seed if opts.seed is not None else space.budget().seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"--seed {seed!r}; accepted: an integer >= 0")
    check_address(opts.address)
    if space.objectives.latency and space.objectives.latency_path == "fast+onnxruntime":
        from octsearch.core.fast.onnxrt import require

        # else every trial would fail on its worker
        require(f"{space.path}: objectives.latency_path fast+onnxruntime", instead="latency_path fast")
    store = open_store(opts.db)
    try:
        existing = store.get_search(opts.name)
    except UnknownNameError:
        existing = None
    if existing is not None and existing.space_hash != space.hash:
        raise ConfigError(
            f"search {opts.name!r} exists with another space file (stored {existing.space_hash[:12]}, "
            f"given {space.hash[:12]} from {space.path}); use another --name or the same space file")
    if opts.seed_from is not None:
        store.get_search(opts.seed_from)  # unknown name: lists the names
    return space, store, sampler, trials, concurrency, seed


def _reference(space: Any) -> tuple[float, int]:
    """Chance-level accuracy and the FLOPs (objective convention) of the alpha-0 network."""
    from octsearch.core.flops import count_flops
    from octsearch.core.registry import create_model

    count = count_flops(create_model(space.model_name, 0.0, **space.model_args))
    flops = getattr(count, Objectives.of(space).flops_key)
    return 1.0 / int(space.model_args["num_classes"]), int(flops)


@dataclass(frozen=True)
class Objectives:
    """The space's objectives, as the store names them and as workers report them."""

    store_names: tuple[str, ...]  # e.g. ("accuracy", "flops_paper", "latency_ms")
    metrics: tuple[str, ...]  # e.g. ("accuracy", "flops", "latency_ms")

    @property
    def flops_key(self) -> str:
        """The FLOPs convention minimised: "flops_paper" or "flops_all"."""
        return self.store_names[1]

    @classmethod
    def of(cls, space: Any) -> Objectives:
        flops = "flops_all" if space.objectives.flops == "all" else "flops_paper"
        extra = tuple(name for name, on in (("params", space.objectives.params),
                                             ("latency_ms", space.objectives.latency)) if on)
        return cls(("accuracy", flops, *extra), ("accuracy", "flops", *extra))

    def values(self, accuracy: float, trial: Any) -> tuple[float, ...]:
        """Objective values of a stored trial or a configuration check, in metric order; a
        latency never measured (an infeasible configuration) counts as infinitely slow."""
        flops = getattr(trial, self.flops_key)
        params = getattr(trial, "params_count", None) or getattr(trial, "params", None)
        latency = getattr(trial, "latency_ms", None)
        known = {"accuracy": float(accuracy), "flops": float(flops or 0), "params": float(params or 0),
                 "latency_ms": float("inf") if latency is None else float(latency)}
        return tuple(known[m] for m in self.metrics)


def _register(store: Any, opts: LaunchOptions, space: Any, sampler: str, seed: int) -> Any:
    from octsearch.store import SearchSpec

    ref_acc, ref_flops = _reference(space)
    objectives = Objectives.of(space).store_names
    return store.create_search(SearchSpec(
        name=opts.name, space_text=space.text, space_hash=space.hash, model_name=space.model_name,
        model_args=dict(space.model_args), reference_accuracy=ref_acc, reference_flops=ref_flops,
        objectives=objectives, sampler=sampler, sampler_args=dict(space.sampler.args), seed=seed,
        flops_budget=None if space.flops_budget is None else int(space.flops_budget),
    ), exist_ok=True)


def _known_points(space: Any, trials: list[Any], reference_accuracy: float) -> list[KnownPoint]:
    objectives = Objectives.of(space)
    budget = space.flops_budget
    points = []
    for t in trials:
        flops = float(getattr(t, objectives.flops_key) or 0)
        over = 0.0 if budget is None else flops - budget
        if t.status == "complete" and t.accuracy is not None:
            points.append(KnownPoint(dict(t.config), "complete", objectives.values(t.accuracy, t), over))
        elif t.status == "infeasible":
            points.append(KnownPoint(dict(t.config), "complete", objectives.values(reference_accuracy, t), over))
        elif t.status in ("pruned", "failed"):
            points.append(KnownPoint(dict(t.config), t.status))
    return points


def _warm_start(space: Any, store: Any, name: str, seed_from: str | None, known: set[str]) -> list[dict]:
    """Uniform-alpha points first, then another search's front; minus what is already stored."""
    points = [dict(p) for p in space.uniform_points()]
    if seed_from is not None:
        for t in store.front(seed_from):
            with contextlib.suppress(ConfigError):
                points.append(space.params_from_alphas(dict(t.alphas)))
    out, seen = [], set(known)
    for p in points:
        key = _key(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _key(params: dict[str, Any]) -> str:
    return repr(sorted((k, float(v)) for k, v in params.items()))


def launch(opts: LaunchOptions, write: Callable[[str], None] | None = None, tty: bool = False) -> LaunchResult:
    """Run the search described by ``opts``; progress goes to ``write`` (one line)."""
    from octsearch.trial.check import check_config

    space, store, sampler_name, trials, concurrency, seed = _prepare(opts)
    record = _register(store, opts, space, sampler_name, seed)
    reconciled = store.reconcile_running(opts.name)
    history = store.trials(opts.name)
    finished_before = sum(_counts_against_budget(t) for t in history)
    remaining = trials - finished_before
    write = write or (lambda text: None)
    if reconciled:
        write(f"resumed: {len(reconciled)} trial(s) left running by an earlier driver marked failed\n")
    if remaining <= 0:
        store.set_search_status(opts.name, "finished")
        write(f"search {opts.name!r} already has {finished_before} of {trials} trials; raise --trials to continue\n")
        return LaunchResult(opts.name, "finished", 0, {}, 0.0, 0.0, store.url, None)

    known = {_key(dict(t.config)): t for t in history if t.status in ("complete", "infeasible")}
    state = SearchState()
    objectives = Objectives.of(space)
    counts = {"infeasible": 0, "already known": 0}  # proposals answered without training
    dispatched: set[str] = set()  # configurations sent to workers by this launch

    def screen(params: dict[str, Any]) -> Verdict | None:
        params = strip_private(params)
        key = _key(params)
        check = check_config(space, params)
        stored = known.get(key)
        if stored is not None:  # already evaluated: answer from the store, train nothing
            counts["already known"] += 1
            acc = stored.accuracy if stored.status == "complete" else record.reference_accuracy
            over = 0.0 if check.flops_budget is None else check.flops - check.flops_budget
            return Verdict(objectives.values(acc, stored), over)
        if not check.feasible:  # over the FLOPs budget: recorded, never trained
            number = store.start_trial(opts.name, check.alphas, params, flops_paper=check.flops_paper,
                                       flops_all=check.flops_all, params=check.params_count)
            store.record_failure(opts.name, number, f"{check.flops / 1e9:.4f} GFLOPs is over the budget "
                                 f"{check.flops_budget / 1e9:.4f} GFLOPs", status="infeasible")
            known[_key(params)] = store.trial(opts.name, number)
            counts["infeasible"] += 1
            return Verdict(objectives.values(record.reference_accuracy, check), check.flops - check.flops_budget)
        if key in dispatched:  # running or finished in this launch: never train it twice
            counts["already known"] += 1
            return Verdict(None)
        dispatched.add(key)
        return None

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = make_sampler(sampler_name, trials, seed + finished_before, space.sampler.args,
                           constrained=space.flops_budget is not None)
    points = _warm_start(space, store, opts.name, opts.seed_from, set(known))
    from octsearch.search.searcher import OctOptunaSearch

    policy = _repeat_policy(opts, space)
    state.next_extra = _repeat_source(store, opts.name, space, policy, counts, remaining, state)
    searcher = OctOptunaSearch({p.name: p.choices for p in space.params}, sampler, points_to_evaluate=points,
                               screen=screen, state=state,
                               history=_known_points(space, history, record.reference_accuracy),
                               metrics=objectives.metrics,
                               annotate=lambda config: check_config(space, strip_private(config)).cost.to_config())
    state.prefetch = searcher.prefetch
    started = time.monotonic()
    with ray_session(check_address(opts.address)) as session, stop_on_sigint() as should_stop:
        ray_ready = time.monotonic()
        write(f"search {opts.name!r}: {remaining} trial(s) to run, sampler {sampler_name}, "
              f"{concurrency} at a time; store {store.url}; Ray logs in {session.log_file or 'the Ray session dir'}\n")
        try:
            recorder, line = _run_tuner(opts, space, store, session, searcher, state, remaining, concurrency,
                                        should_stop, write, tty, counts, started)
        finally:
            # Trials still running when Tune stopped (Ctrl-C) never reach a callback.
            store.reconcile_running(opts.name)
            if not should_stop() and sys.exc_info()[0] is not None:
                store.set_search_status(opts.name, "failed")
    status = "interrupted" if should_stop() else "finished"
    store.set_search_status(opts.name, status)
    run_counts = dict(recorder.counts) | {k: v for k, v in counts.items() if v and k != "repeats_dispatched"}
    return LaunchResult(opts.name, status, sum(recorder.counts.values()), run_counts,
                        time.monotonic() - started, recorder.train_seconds, store.url, session.log_file,
                        recorder.worker_seconds, dict(state.timings.seconds), ray_ready - started,
                        recorder.eval_seconds, list(recorder.timeline))


def _repeat_policy(opts: LaunchOptions, space: Any) -> RepeatPolicy:
    spec = getattr(space.spec, "repeats", None)
    seeds = opts.repeats if opts.repeats is not None else (spec.seeds if spec is not None else 0)
    margin = opts.noise_margin if opts.noise_margin is not None else (spec.margin if spec is not None else 1.0)
    return RepeatPolicy(seeds=seeds, margin=margin)


def _repeat_source(store: Any, name: str, space: Any, policy: RepeatPolicy, counts: dict[str, int],
                   remaining: int, state: SearchState) -> Callable[[], dict[str, Any] | None]:
    """Called before each suggestion: a repeat evaluation (config with ``__seed`` and
    ``__number``) when one is due, else None (the sampler proposes)."""
    from octsearch.search.recorder import NUMBER_KEY
    from octsearch.search.worker import SEED_KEY

    flops_key = Objectives.of(space).flops_key
    base_seed = space.budget().seed
    warm_up = len(space.uniform_points())
    counts["repeats_dispatched"] = 0

    def next_extra() -> dict[str, Any] | None:
        if policy.seeds == 0 or counts["repeats_dispatched"] >= policy.max_share * remaining:
            return None
        trials = store.trials(name)
        complete = [t for t in trials if t.status == "complete"]
        if len(complete) <= warm_up:  # let a front form first
            return None
        # Pace repeats: at most max_share of the evaluations so far, so they spread over the search.
        if counts["repeats_dispatched"] >= policy.max_share * sum(t.n_evals for t in complete):
            return None
        busy = {int(cfg[NUMBER_KEY]) for cfg in state.extra.values()}  # repeats in flight
        number = pick_repeat(trials, store.front(name), policy, flops_key, busy)
        if number is None:
            return None
        trial = store.trial(name, number)
        seed = next_seed([e.seed for e in store.evaluations(name, number=number)], base_seed + 1)
        counts["repeats_dispatched"] += 1
        return {**dict(trial.config), SEED_KEY: seed, NUMBER_KEY: number}

    return next_extra


def _run_tuner(opts: LaunchOptions, space: Any, store: Any, session: RaySession, searcher: Any,
               state: SearchState, remaining: int, concurrency: int, should_stop: Callable[[], bool],
               write: Callable[[str], None], tty: bool, counts: dict[str, int], started: float) -> tuple[Any, Any]:
    from ray import tune

    from octsearch.search.recorder import StoreRecorder
    from octsearch.search.scheduler import ParetoHalvingScheduler
    from octsearch.search.stopper import StopOnFlag
    from octsearch.search.worker import proxy_trainable

    scheduler = None
    epochs = space.budget().epochs
    if opts.early_stop and epochs > 1:
        scheduler = ParetoHalvingScheduler(state, rungs=range(1, epochs))
    line = ProgressLine(write, tty)

    def refresh() -> None:
        line.show(Progress(
            done=recorder.counts["complete"] + recorder.counts["repeat"], running=len(recorder.running),
            failed=recorder.counts["failed"] + recorder.counts["interrupted"], pruned=recorder.counts["pruned"],
            infeasible=counts["infeasible"], skipped=counts["already known"], repeats=recorder.counts["repeat"],
            total=remaining,
            front_size=len(store.front(opts.name)), hypervolume=store.hypervolume(opts.name),
            elapsed=time.monotonic() - started))

    recorder = StoreRecorder(store, opts.name, space, state,
                             stopped_at=(scheduler.stopped_at.get if scheduler else None), on_change=refresh)
    threads = space.budget().threads
    trainable = tune.with_resources(
        tune.with_parameters(proxy_trainable, space_text=space.text, space_name=space.name,
                             space_path=space.path, report_epochs=scheduler is not None), {"cpu": threads})
    results_dir = Path(opts.results_dir or _default_results_dir()).resolve()
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher, scheduler=scheduler, num_samples=remaining, max_concurrent_trials=concurrency,
            reuse_actors=True, trial_dirname_creator=lambda trial: f"trial_{trial.trial_id}",
        ),
        run_config=tune.RunConfig(
            name=f"{opts.name}-{int(time.time())}", storage_path=str(results_dir), verbose=0,
            callbacks=[recorder], stop=StopOnFlag(should_stop), failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
    refresh()
    tuner.fit()
    line.close()
    return recorder, line


def _default_results_dir() -> str:
    from platformdirs import user_cache_dir

    return str(Path(user_cache_dir("octsearch")) / "tune")
