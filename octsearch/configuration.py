"""One configuration of alphas, as one frozen value from the space file to the export file.

A :class:`Configuration` holds the searched parameters (parameter -> alpha), the free slots' alphas
they expand to (slot -> alpha, slot order), one identity key, and its cost once counted. Only a
:class:`~octsearch.spaces.SearchSpace` builds a new one (``space.from_params(...)``, ``space.uniform(...)``, ..., validated
there, once); the sampler's suggestion, the trial on a worker, the store and the export file carry
it, and the store and the export file read it back with :meth:`Configuration.from_json`.

Pure Python (no torch): the store imports it. FLOPs are multiply-adds at batch 1 (1 fused
multiply-add = 1 FLOP): ``flops_paper`` counts convolutions and fully connected layers (the paper's
convention), ``flops_all`` every operator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from octsearch.errors import ConfigError

# A space's ``objectives.flops`` convention -> the Cost / store field that holds it.
FLOPS_FIELDS = {"paper": "flops_paper", "all": "flops_all"}


@dataclass(frozen=True)
class Cost:
    """A configuration's counted cost: multiply-adds at batch 1 in both conventions, parameters."""

    flops_paper: int
    flops_all: int
    param_count: int

    def flops(self, convention: str) -> int:
        """FLOPs in a space's objective convention (``paper`` or ``all``)."""
        return getattr(self, flops_field(convention))


def flops_field(convention: str) -> str:
    """``flops_paper`` or ``flops_all`` for a convention; the one switch between the two."""
    try:
        return FLOPS_FIELDS[convention]
    except KeyError:
        raise ConfigError(f"FLOPs convention {convention!r}; accepted: {', '.join(FLOPS_FIELDS)}") from None


Pairs = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Configuration:
    """Searched parameters, the free slots' alphas they set, and the cost once counted.

    ``params`` and ``alphas`` are (name, alpha) pairs in the space's order; :attr:`key` is the one
    identity (SHA-256 of the alphas as canonical JSON), the same across spaces that name their
    parameters differently. Build one with a space's constructors (``space.from_params``, ``from_slots``, ``uniform``);
    never by hand.
    """

    params: Pairs
    alphas: Pairs
    cost: Cost | None = None

    @property
    def key(self) -> str:
        canonical = json.dumps(dict(self.alphas), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def by_param(self) -> dict[str, float]:
        return dict(self.params)

    @property
    def by_slot(self) -> dict[str, float]:
        return dict(self.alphas)

    @property
    def uniform_alpha(self) -> float | None:
        """The alpha every searched parameter takes, if they all take one; else None."""
        values = {alpha for _, alpha in self.params}
        return values.pop() if len(values) == 1 else None

    @property
    def counted(self) -> Cost:
        """The cost; an error if it was never counted (a bug, not bad input)."""
        if self.cost is None:
            raise ConfigError(f"configuration {self.by_param} has no FLOP count yet; count it with its space")
        return self.cost

    def with_cost(self, cost: Cost) -> Configuration:
        return replace(self, cost=cost)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"params": self.by_param, "alphas": self.by_slot}
        if self.cost is not None:
            out["cost"] = {"flops_paper": self.cost.flops_paper, "flops_all": self.cost.flops_all,
                           "param_count": self.cost.param_count}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "") -> Configuration:
        """Read back what :meth:`to_json` wrote (a store row, an export file): shapes checked, not
        the space's choices (that is the space's job, when it matters). ``where`` prefixes errors."""
        alphas = _pairs(data.get("alphas"), f"{where}alphas")
        params = _pairs(data.get("params"), f"{where}params")
        cost = data.get("cost")
        if cost is None:
            return cls(params, alphas)
        try:
            return cls(params, alphas, Cost(int(cost["flops_paper"]), int(cost["flops_all"]),
                                            int(cost["param_count"])))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{where}cost {cost!r}; accepted: flops_paper, flops_all, param_count "
                              "as integers") from None


def _pairs(value: Any, where: str) -> Pairs:
    from octsearch.core.split import check_alpha

    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} {value!r}; accepted: a mapping of names to alphas")
    return tuple((str(name), check_alpha(alpha, f"{where}[{name!r}]")) for name, alpha in value.items())
