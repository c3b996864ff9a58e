"""The search driver: the state of one running search, owned in one place (the driver process).

Lifecycle: :meth:`SearchDriver.resume` (reconcile what a killed driver left running, read the
history, the trials left of the budget) -> :meth:`warm_start` (the uniform-alpha configurations and
another search's front, minus what is stored) -> for every sampler draw :meth:`screen` (answered
from the store, over the FLOPs budget, or already in flight: not dispatched) and before every draw
:meth:`next_repeat` (a further seed for a front candidate) -> the searcher dispatches it
(:meth:`dispatch`) -> the recorder reports each trial's start and end (:meth:`started`,
:meth:`completed`, :meth:`errored`, :meth:`lost`), and the driver ends it once: the store first,
then the sampler (``tell_sampler``, set by the searcher). The driver keeps every trial in flight
(:class:`~octsearch.search.state.Flights`) and is the one writer of the store; what happens goes to
``emit`` as events (:mod:`octsearch.search.events`).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError
from octsearch.search.events import Event, Progress, TrialEnded, TrialStarted
from octsearch.search.repeats import RepeatPolicy, next_seed, pick_repeat
from octsearch.search.state import DrawAnswer, Flight, Flights, KnownPoint, Objectives, Timings
from octsearch.search.worker import EvaluationRequest, WorkerReport
from octsearch.spaces.space import SearchSpace
from octsearch.store import SearchRecord, Store, TrialRecord

# Why a trial is lost: its worker died under it (a killed node or container, a crashed worker
# process). A lost trial does not count against the budget, and its evaluation is run again.
LOST = "lost with its worker"

# Times one configuration may be lost with its worker before it fails for good: a configuration
# that kills its worker (memory, say) would otherwise be run again forever.
MAX_LOSSES = 2


def counts_against_budget(trial: TrialRecord) -> bool:
    """Finished trials count against ``--trials``; one interrupted by a stopped driver does not
    (it is run again when the sampler proposes it again), nor one lost with its worker (run
    again at once)."""
    return trial.status in ("complete", "pruned", "infeasible", "failed")


class SearchDriver:
    """Screening, what is known and in flight, repeats and budget accounting of one search."""

    def __init__(self, space: SearchSpace, store: Store, record: SearchRecord, policy: RepeatPolicy,
                 total: int, emit: Callable[[Event], None]) -> None:
        self.space, self.store, self.name = space, store, record.name
        self.objectives = Objectives.of(space)
        self.reference_accuracy = record.reference_accuracy
        self.policy, self.total, self.emit = policy, total, emit
        self._warm_up = len(space.uniform_configurations())
        self.flights = Flights()  # the trials in flight; the scheduler marks the ones it stops
        self.timings = Timings()  # the driver's itemised time (bench/overhead.py, the summary)
        # How an ended flight reaches the sampler (the searcher sets it): after the store.
        self.tell_sampler: Callable[[Flight, WorkerReport | None], None] = lambda flight, report: None
        self.counts: Counter[str] = Counter()
        self.known: dict[str, TrialRecord] = {}  # complete or infeasible, by configuration key
        self.dispatched: set[str] = set()  # configurations this launch sent to workers
        self.dispatches = 0  # evaluations handed to workers this launch, less those lost with them
        self.reruns: deque[EvaluationRequest] = deque()  # lost evaluations, dispatched before any draw
        self._losses: Counter[str] = Counter()  # configuration key -> times lost with its worker
        self._lost_notes: dict[int, str] = {}  # trial number -> why it was lost, until run again
        self.history: list[TrialRecord] = []
        self.remaining = 0
        self.seconds: Counter[str] = Counter()  # train, eval and worker seconds summed over evaluations
        self.timeline: list[tuple[int, float, float, float, float]] = []  # see completed()
        self.clock = time.monotonic  # a replay sets its simulated clock
        self.started_at = self.clock()

    # -- before the first draw -----------------------------------------------------------------

    def resume(self) -> list[int]:
        """Reconcile trials a killed driver left running; read the history. Returns the numbers
        of the reconciled trials; :attr:`remaining` is then what is left of the budget."""
        reconciled = self.store.reconcile_running(self.name)
        self.history = self.store.trials(self.name)
        self.remaining = self.total - self.finished_before
        self.known = {t.configuration.key: t for t in self.history
                      if t.status in ("complete", "infeasible")}
        for t in self.history:  # lost with its worker and not yet run again when the driver stopped
            if t.status == "lost":
                self.dispatched.add(t.configuration.key)  # the run again, not the sampler, trains it
                self.reruns.append(EvaluationRequest(t.configuration, rerun_of=t.number))
                self._lost_notes[t.number] = t.error or LOST
        return reconciled

    @property
    def finished_before(self) -> int:
        return sum(counts_against_budget(t) for t in self.history)

    def warm_start(self, seed_from: str | None, given: tuple[Configuration, ...] = ()) -> list[Configuration]:
        """Uniform-alpha configurations first, then ``given`` (configurations to confirm, say), then
        another search's front; minus what is stored."""
        points = [*self.space.uniform_configurations(), *given]
        if seed_from is not None:
            for t in self.store.front(seed_from):
                with contextlib.suppress(ConfigError):  # a member outside this space's grid
                    points.append(self.space.from_slots(t.configuration.by_slot))
        out, seen = [], set(self.known)
        for p in points:
            if p.key not in seen:
                seen.add(p.key)
                out.append(p)
        return out

    def known_points(self) -> list[KnownPoint]:
        """The recorded results, for the sampler of a resumed search."""
        points = []
        for t in self.history:
            cfg = t.configuration
            over = self.space.over_budget(cfg)
            if t.status in ("complete", "infeasible") and (t.accuracy is not None or t.status == "infeasible"):
                points.append(KnownPoint(cfg, "complete", self._values(t, cfg), over))
            elif t.status in ("pruned", "failed"):
                points.append(KnownPoint(cfg, t.status))
        return points

    def _values(self, trial: TrialRecord, cfg: Configuration) -> tuple[float, ...]:
        """A stored trial's objective values; an infeasible one scores chance-level accuracy."""
        accuracy = trial.accuracy if trial.status == "complete" else self.reference_accuracy
        return self.objectives.values(accuracy, cfg.counted, trial.latency_ms)

    # -- the search loop -------------------------------------------------------------------------

    def screen(self, params: Mapping[str, Any]) -> tuple[Configuration, DrawAnswer | None]:
        """The sampler's draw as a counted configuration, and the answer to it if it is not to be
        dispatched (already stored, over the FLOPs budget, or in flight); None: dispatch it."""
        cfg = self.space.with_cost(self.space.from_params(params))
        over = self.space.over_budget(cfg)
        stored = self.known.get(cfg.key)
        if stored is not None:  # already evaluated: answer from the store, train nothing
            self.counts["already known"] += 1
            return cfg, DrawAnswer(self._values(stored, cfg), over)
        if over > 0:  # over the FLOPs budget: recorded, never trained
            self.known[cfg.key] = self._record_infeasible(cfg)
            self.counts["infeasible"] += 1
            return cfg, DrawAnswer(self.objectives.values(self.reference_accuracy, cfg.counted), over)
        if cfg.key in self.dispatched:  # running or finished in this launch: never train it twice
            self.counts["already known"] += 1
            return cfg, DrawAnswer(None)
        self.dispatched.add(cfg.key)
        return cfg, None

    def _record_infeasible(self, cfg: Configuration) -> TrialRecord:
        number = self.store.start_trial(self.name, cfg)
        # The status says why; the stored FLOPs and the search's budget say by how much.
        return self.store.record_failure(self.name, number, "", status="infeasible")

    def next_evaluation(self) -> EvaluationRequest | None:
        """What runs next when it is not the sampler's draw: an evaluation lost with its worker
        first, then a repeat seed when one is due; None: ask the sampler."""
        return self.reruns.popleft() if self.reruns else self.next_repeat()

    def drew_at_random(self) -> None:
        """The sampler kept proposing taken configurations; the searcher drew an untaken one."""
        self.counts["drawn at random (sampler repeating itself)"] += 1

    def next_repeat(self) -> EvaluationRequest | None:
        """A repeat evaluation when one is due (the sampler is not asked then), else None."""
        if self.policy.seeds == 0 or self.counts["repeats dispatched"] >= self.policy.max_share * self.remaining:
            return None
        trials = self.store.trials(self.name)
        complete = [t for t in trials if t.status == "complete"]
        if len(complete) <= self._warm_up:  # let a front form first (the uniform points)
            return None
        # Pace repeats: at most max_share of the evaluations so far, so they spread over the search.
        if self.counts["repeats dispatched"] >= self.policy.max_share * sum(t.n_evals for t in complete):
            return None
        number = pick_repeat(trials, self.store.front(self.name), self.policy, self.objectives.flops_key,
                             busy=self.flights.repeats_of)
        if number is None:
            return None
        used = [e.seed for e in self.store.evaluations(self.name, number=number)]
        self.counts["repeats dispatched"] += 1
        trial = self.store.trial(self.name, number)
        return EvaluationRequest(trial.configuration, next_seed(used, self.space.budget().seed + 1), number)

    @property
    def budget_spent(self) -> bool:
        """Every evaluation of the budget is dispatched (a lost one gives its place back)."""
        return self.dispatches >= self.remaining

    def dispatch(self, trial_id: str, request: EvaluationRequest, draw: Any = None) -> None:
        """The searcher hands ``request`` to Tune as trial ``trial_id``; ``draw``: the sampler's
        Optuna trial it answers (None for a run again or a repeat seed)."""
        self.flights.add(trial_id, Flight(request, draw))
        self.dispatches += 1

    # -- what the recorder reports ---------------------------------------------------------------

    def started(self, trial_id: str, request: EvaluationRequest) -> None:
        with self.timings.timed("store writes"):
            flight = self.flights.get(trial_id)  # every trial Tune or a replay starts was dispatched
            cfg = request.configuration
            flight.number = request.repeat_of if request.repeat_of is not None else self.store.start_trial(self.name, cfg)
            flight.started_at = time.time()
            self.emit(TrialStarted(flight.number, cfg, request.repeat_of is not None))
            self.progress()

    def completed(self, trial_id: str, report: WorkerReport | None, budget: str) -> None:
        """A trial ended without an error: pruned by the scheduler, cut short by a stopped
        search (no final report), or finished with its final report."""
        flight = self.flights.pop(trial_id)
        if flight is None:
            return
        report = None if flight.pruned else report  # a stopped trial's last report is an epoch's
        if flight.number is not None:
            with self.timings.timed("store writes"):
                self._record_end(flight, report, budget)
        self.tell_sampler(flight, report)

    def _record_end(self, flight: Flight, report: WorkerReport | None, budget: str) -> None:
        number, request, started_at = flight.number, flight.request, flight.started_at
        if flight.pruned:
            self.store.record_failure(self.name, number, "", status="pruned")
            self._ended(TrialEnded(number, "pruned"))
        elif report is None:
            error = "the search stopped before this trial finished"
            self.store.record_failure(self.name, number, error, status="interrupted")
            self._ended(TrialEnded(number, "interrupted", error=error))
        else:
            self._record_evaluation(number, report, budget)
            if request.rerun_of is not None and request.repeat_of is None:
                # The store keeps one row per configuration: the row that was lost is the one run
                # again; its error keeps the loss (a complete trial's error is a note, as for a
                # failed repeat seed).
                self.store.record_failure(self.name, number, f"{self._lost_notes.pop(number, LOST)}; run again to completion")
            self.timeline.append((report.pid, started_at, report.t_begin, report.t_end, time.time()))
            outcome = "repeat" if request.repeat_of is not None else "complete"
            self._ended(TrialEnded(number, outcome, accuracy=report.accuracy))

    def _record_evaluation(self, number: int, report: WorkerReport, budget: str) -> None:
        self.store.record_evaluation(
            self.name, number, seed=int(report.seed), accuracy=report.accuracy, n_val=report.n_val, budget=budget,
            train_seconds=report.train_seconds, node=report.node, epoch_accuracies=list(report.epoch_accuracies),
            latency_ms=report.latency_ms,
        )
        self.seconds["train_seconds"] += report.train_seconds
        self.seconds["eval_seconds"] += report.eval_seconds
        self.seconds["worker_seconds"] += report.worker_seconds

    def errored(self, trial_id: str, error: str) -> None:
        flight = self.flights.pop(trial_id)
        number = None if flight is None else flight.number
        with self.timings.timed("store writes"):
            if number is not None:
                self.store.record_failure(self.name, number, error)
            self._ended(TrialEnded(number, "failed", error=error))
        if flight is not None:
            self.tell_sampler(flight, None)

    def lost(self, trial_id: str, error: str) -> None:
        """The trial's worker died under it (node, container or process): recorded as lost, not
        counted against the budget, and its evaluation queued to run again on another worker;
        after :data:`MAX_LOSSES` losses of one configuration it fails for good. The sampler's
        draw is told FAIL; it learns the result of the run again when that ends."""
        flight = self.flights.get(trial_id)
        if flight is None or flight.number is None:  # never started: nothing to run again
            self.errored(trial_id, error)
            return
        key = flight.request.configuration.key
        self._losses[key] += 1
        if self._losses[key] > MAX_LOSSES:
            self.errored(trial_id, f"failed: {LOST} {self._losses[key]} times, not run again: {error}")
            return
        self.flights.pop(trial_id)
        with self.timings.timed("store writes"):
            self._run_again(flight.number, flight.request, f"{LOST}: {error}")
        self.tell_sampler(flight, None)

    def _run_again(self, number: int, request: EvaluationRequest, why: str) -> None:
        self.dispatches -= 1  # the lost evaluation gives its place in the budget back
        rerun_of = number if request.repeat_of is None else request.rerun_of
        self.reruns.append(EvaluationRequest(request.configuration, request.seed, request.repeat_of, rerun_of))
        if request.repeat_of is None:  # a lost repeat seed leaves its trial's result standing
            self.store.record_failure(self.name, number, why, status="lost")
            self._lost_notes[number] = why
        self._ended(TrialEnded(number, "lost", error=why))

    def unrecorded(self) -> None:
        """A store write inside a Tune callback failed (logged there); counted, the search goes on."""
        self.counts["unrecorded"] += 1

    def _ended(self, event: TrialEnded) -> None:
        self.counts[event.outcome] += 1
        self.emit(event)
        self.progress()

    def progress(self) -> None:
        c = self.counts
        self.emit(Progress(
            done=c["complete"] + c["repeat"], running=self.flights.started, failed=c["failed"] + c["interrupted"],
            pruned=c["pruned"], infeasible=c["infeasible"], skipped=c["already known"], repeats=c["repeat"],
            total=self.remaining, front_size=len(self.store.front(self.name)),
            hypervolume=self.store.hypervolume(self.name), elapsed=self.clock() - self.started_at, lost=c["lost"]))

    @property
    def run_counts(self) -> dict[str, int]:
        """What this launch did, by outcome (trials run, and draws answered without training)."""
        return {k: v for k, v in self.counts.items() if v and k != "repeats dispatched"}

