"""A resolved search space: the searched parameters, their slots, and configurations.

A configuration maps each search parameter to one of its choices and sets an alpha for every free
slot of the model (parameters set their tied slots, unsearched free slots get the space's ``fixed``
alpha). :meth:`SearchSpace.configuration` is the only place that builds and validates one, as a
frozen :class:`~octsearch.configuration.Configuration`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from octsearch.configuration import Configuration
from octsearch.core.slots import AlphaSlot
from octsearch.core.split import check_alpha
from octsearch.errors import ConfigError, UnknownNameError
from octsearch.spaces.data import DataSpec
from octsearch.spaces.resources import TrialResources, trial_resources
from octsearch.spaces.schema import BudgetSpec, ObjectivesSpec, SamplerSpec, SpaceFile

_LISTED_MAX = 16  # names listed in one error line before "..."


@dataclass(frozen=True)
class SearchParam:
    """One searched variable: the slots it sets to one alpha, and the alphas it may take."""

    name: str
    choices: tuple[float, ...]
    slots: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """A search-space file resolved against its model's alpha slots (picklable, for Ray workers).

    Attributes:
        name: the file's stem (``default`` for ``search_spaces/default.yaml``).
        path: the file it was read from.
        text: the file's text; ``hash`` is its SHA-256 (hex), stable across machines.
        spec: the validated file.
        model_args: every argument of the model, defaults and data-derived ones included.
        slots: every alpha slot of the model, pinned ones too.
        params: the search parameters, in file order (explicit ones first, then automatic ones).
        fixed: alpha of each free slot that no parameter sets.
        data: the resolved data section.
    """

    name: str
    path: str
    text: str
    hash: str
    spec: SpaceFile
    model_args: dict[str, Any]
    slots: tuple[AlphaSlot, ...]
    params: tuple[SearchParam, ...]
    fixed: dict[str, float]
    data: DataSpec

    # -- sections of the file ----------------------------------------------------------------

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def model_name(self) -> str:
        return self.spec.model.name

    @property
    def objectives(self) -> ObjectivesSpec:
        return self.spec.objectives

    @property
    def sampler(self) -> SamplerSpec:
        return self.spec.sampler

    @property
    def flops_budget(self) -> float | None:
        """The FLOPs budget in multiply-adds (``objectives.flops`` convention), or None."""
        gflops = self.spec.flops_budget
        return None if gflops is None else gflops * 1e9

    def budget(self, which: str = "proxy") -> BudgetSpec:
        """The training budget: ``"proxy"`` or ``"full"`` (the proxy with ``budget.full`` applied)."""
        return self.spec.budget.resolve(which)

    def resources(self, gpus: float | None = None, cpus: int | None = None) -> TrialResources:
        """What each trial asks Ray for: ``resources:`` with launch's ``--gpus/--cpus-per-trial`` applied."""
        return trial_resources(self.spec.resources, self.budget().threads, self.path, gpus=gpus, cpus=cpus)

    # -- configurations ------------------------------------------------------------------------

    @property
    def free_slots(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slots if s.free)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def num_configurations(self) -> int:
        return math.prod(len(p.choices) for p in self.params)

    def configuration(self, value: float | Mapping[str, Any] | Configuration) -> Configuration:
        """A :class:`Configuration` from what a person typed (the CLI's ``--alphas``, a Python
        session): one alpha for every parameter, a parameter -> alpha mapping (every parameter
        named), a slot -> alpha mapping, or a Configuration to check. Code that knows what it
        holds calls :meth:`from_params`, :meth:`from_slots`, :meth:`uniform` or :meth:`checked`."""
        if isinstance(value, Configuration):
            return self.checked(value)
        if isinstance(value, Mapping):
            if value and len(value) == len(self.params) and all(k in self.param_names for k in value):
                return self.from_params(value)
            return self.from_slots(value)
        return self.uniform(value)

    def from_params(self, params: Mapping[str, Any]) -> Configuration:
        """Every searched parameter -> one of its choices."""
        return self._from_params(params)

    def from_slots(self, alphas: Mapping[str, Any]) -> Configuration:
        """Slot -> alpha: every searched slot named (tied slots sharing one of their parameter's
        choices); unsearched slots left out or at their fixed alpha."""
        return self._from_params(self._params_from_alphas(alphas))

    def from_indices(self, indices: Sequence[int]) -> Configuration:
        """One choice index per searched parameter, in parameter order (a design row)."""
        return self._from_params({p.name: p.choices[i] for p, i in zip(self.params, indices, strict=True)})

    def uniform(self, alpha: Any) -> Configuration:
        """One alpha on every searched parameter (it must be a choice of each)."""
        return self._from_params({p: alpha for p in self.param_names})

    def checked(self, configuration: Configuration) -> Configuration:
        """A Configuration read back from a store or a file, checked against this space (its
        stored cost kept)."""
        checked = self.from_slots(configuration.by_slot)
        return checked if configuration.cost is None else checked.with_cost(configuration.cost)

    def uniform_configurations(self) -> list[Configuration]:
        """One alpha on every parameter, for each alpha all parameters offer (the paper's curve)."""
        common = set(self.params[0].choices).intersection(*(p.choices for p in self.params[1:]))
        return [self.uniform(a) for a in sorted(common)]

    def extreme_configurations(self) -> tuple[Configuration, Configuration]:
        """(every parameter at its smallest choice, every parameter at its largest choice).

        With the paper convention these are the most and the least expensive configurations: more
        low-frequency channels never add multiply-adds.
        """
        return (self._from_params({p.name: p.choices[0] for p in self.params}),
                self._from_params({p.name: p.choices[-1] for p in self.params}))

    def with_cost(self, configuration: Configuration) -> Configuration:
        """The configuration with its cost (fvcore, cached per process) attached."""
        if configuration.cost is not None:
            return configuration
        from octsearch.spaces.cost import count_cost

        return configuration.with_cost(count_cost(self.model_name, self.model_args, configuration.alphas))

    def flops(self, configuration: Configuration) -> int:
        """Its multiply-adds in the objective convention (``objectives.flops``), counted if need be."""
        return self.with_cost(configuration).counted.flops(self.objectives.flops)

    def over_budget(self, configuration: Configuration) -> float:
        """Multiply-adds over the FLOPs budget (<= 0: within; always 0 without a budget)."""
        budget = self.flops_budget
        return 0.0 if budget is None else self.flops(configuration) - budget

    # -- validation (only here) ------------------------------------------------------------------

    def _from_params(self, params: Mapping[str, Any]) -> Configuration:
        checked = self._check_params(params)
        by_param = {s: checked[p.name] for p in self.params for s in p.slots}
        alphas = tuple((s, by_param.get(s, self.fixed.get(s, 0.0))) for s in self.free_slots)
        return Configuration(tuple(checked.items()), alphas)

    def _check_params(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Validate a configuration (parameter -> choice); return it in parameter order."""
        if not isinstance(params, Mapping):
            raise ConfigError(f"{self.name}: a configuration must map parameter names to alphas; got {params!r}")
        for key in params:
            if key not in self.param_names:
                raise UnknownNameError(
                    f"{self.name}: unknown search parameter {key!r}; accepted: {listed_names(self.param_names)}"
                )
        missing = [p for p in self.param_names if p not in params]
        if missing:
            raise ConfigError(
                f"{self.name}: the configuration leaves out search parameter(s) {listed_names(missing)}; "
                "every searched parameter needs a value"
            )
        out = {}
        for p in self.params:
            value = check_alpha(params[p.name], f"{self.name}: parameter {p.name}")
            if value not in p.choices:
                raise ConfigError(
                    f"{self.name}: parameter {p.name}={value} is not one of its choices; "
                    f"accepted: {', '.join(_fmt(c) for c in p.choices)}"
                )
            out[p.name] = value
        return out

    def _params_from_alphas(self, alphas: Mapping[str, Any]) -> dict[str, float]:
        """The configuration a slot -> alpha mapping stands for; an error if it is not one of this space.

        Every searched slot must be named; tied slots must share their alpha, which must be a choice
        of their parameter; unsearched slots may be left out or named with their fixed alpha
        (pinned ones with 0).
        """
        if not isinstance(alphas, Mapping):
            raise ConfigError(f"{self.name}: alphas must map slot names to alphas; got {alphas!r}")
        by_name = {s.name: s for s in self.slots}
        for slot in alphas:
            if slot not in by_name:
                raise UnknownNameError(
                    f"{self.name}: unknown slot {slot!r} for model {self.model_name}; "
                    f"accepted: {listed_names(self.free_slots)}"
                )
        values = {s: check_alpha(v, f"{self.name}: slot {s}") for s, v in alphas.items()}
        searched = [s for p in self.params for s in p.slots]
        missing = [s for s in searched if s not in values]
        if missing:
            raise ConfigError(
                f"{self.name}: the configuration leaves out searched slot(s) {listed_names(missing)}; "
                "every searched slot needs an alpha"
            )
        for slot, value in values.items():
            expected = 0.0 if not by_name[slot].free else self.fixed.get(slot)
            if expected is not None and value != expected:
                why = "pinned" if not by_name[slot].free else "not searched in this space, fixed"
                raise ConfigError(f"{self.name}: slot {slot} alpha={value} but it is {why} to {_fmt(expected)}; accepted: {_fmt(expected)}")
        params: dict[str, float] = {}
        for p in self.params:
            distinct = sorted({values[s] for s in p.slots})
            if len(distinct) > 1:
                raise ConfigError(
                    f"{self.name}: slots {listed_names(p.slots)} are tied by parameter {p.name} and need one "
                    f"alpha; got {', '.join(_fmt(v) for v in distinct)}"
                )
            params[p.name] = distinct[0]
        return params  # checked against the choices by _from_params, once


def _fmt(value: float) -> str:
    return f"{value:g}"


def listed_names(names: tuple[str, ...] | list[str]) -> str:
    names = list(names)
    if len(names) <= _LISTED_MAX:
        return ", ".join(names)
    return ", ".join(names[:_LISTED_MAX]) + f", ... ({len(names)} in all; see `octsearch space show`)"
