"""Turn the ``search`` section into search parameters over a model's alpha slots.

Explicit parameters come first, in file order: each claims the free slots its patterns match
(``fnmatch`` globs; without ``slots`` the patterns are ``NAME`` and ``NAME.*``). Then ``per``
creates parameters for the free slots nobody claimed: one per slot (``slot``) or one per stage, the
first dotted part of the slot name (``stage``). Free slots still unclaimed keep ``fixed``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from octsearch.core.slots import AlphaSlot
from octsearch.core.split import low_channels
from octsearch.errors import SpaceError, UnknownNameError
from octsearch.spaces._errors import short
from octsearch.spaces.schema import SearchSpec
from octsearch.spaces.space import SearchParam, listed_names


def resolve_params(
    file: str, model: str, search: SearchSpec, slots: tuple[AlphaSlot, ...]
) -> tuple[tuple[SearchParam, ...], dict[str, float]]:
    """Return (parameters, fixed alpha of every unsearched free slot)."""
    free = [s.name for s in slots if s.free]
    pinned = {s.name: s.pinned for s in slots if not s.free}
    owner: dict[str, str] = {}
    params: list[SearchParam] = []
    for name, spec in search.params.items():
        where = f"search.params.{name}"
        # Without slots: the slot NAME itself or the group NAME.* (either may be absent).
        groups = [(p,) for p in spec.slots] if spec.slots else [(name, f"{name}.*")]
        matched: list[str] = []
        for patterns in groups:
            hits = [s for s in free if any(fnmatchcase(s, p) for p in patterns)]
            if not hits:
                _no_match(file, model, f"{where}.slots" if spec.slots else where, patterns, free, pinned)
            matched += [s for s in hits if s not in matched]
        for slot in matched:
            if slot in owner:
                raise SpaceError(
                    f"{file}: {where}: slot {slot} is already set by parameter {owner[slot]}; "
                    "accepted: each slot in at most one parameter"
                )
            owner[slot] = name
        params.append(SearchParam(name, spec.choices or search.grid, tuple(matched)))
    params += _automatic(file, search, [s for s in free if s not in owner], {p.name for p in params})
    if not params:
        raise SpaceError(
            f"{file}: search: no slot is searched; accepted: at least one entry under search.params, "
            "or search.per: slot|stage"
        )
    fixed = {s: search.fixed for s in free if not any(s in p.slots for p in params)}
    _check_low_channels(file, search, slots, params, fixed)
    return tuple(params), fixed


def _no_match(file: str, model: str, where: str, patterns: tuple[str, ...], free: list[str],
              pinned: dict[str, str | None]) -> None:
    hit_pinned = [s for s in pinned if any(fnmatchcase(s, p) for p in patterns)]
    pattern = " or ".join(patterns)
    if hit_pinned:
        reason = pinned[hit_pinned[0]]
        raise SpaceError(
            f"{file}: {where}: {short(pattern)} matches only pinned slot(s) {listed_names(hit_pinned)} "
            f"({reason}); accepted: patterns matching free slots: {listed_names(free)}"
        )
    raise UnknownNameError(
        f"{file}: {where}: unknown slot {short(pattern)}: it matches no slot of {model}; "
        f"accepted: {listed_names(free)} (glob patterns such as stage2.* allowed)"
    )


def _automatic(file: str, search: SearchSpec, unclaimed: list[str], taken: set[str]) -> list[SearchParam]:
    groups: dict[str, list[str]] = {}
    if search.per == "slot":
        groups = {s: [s] for s in unclaimed}
    elif search.per == "stage":
        for s in unclaimed:
            groups.setdefault(s.split(".")[0], []).append(s)
    for name in groups:
        if name in taken:
            raise SpaceError(
                f"{file}: search.params.{name}: the name is also the automatic parameter of "
                f"search.per: {search.per}; accepted: another parameter name"
            )
    return [SearchParam(name, search.grid, tuple(members)) for name, members in groups.items()]


def _check_low_channels(file: str, search: SearchSpec, slots: tuple[AlphaSlot, ...],
                        params: list[SearchParam], fixed: dict[str, float]) -> None:
    """Every non-zero alpha must leave at least one low-frequency channel on every slot it sets."""
    channels = {s.name: s.channels for s in slots}
    explicit = search.params
    checks = [(p.slots, p.choices, _choices_key(p.name, explicit)) for p in params]
    checks += [((s,), (a,), "search.fixed") for s, a in fixed.items()]
    for members, choices, where in checks:
        for slot in members:
            for alpha in choices:
                if alpha and low_channels(channels[slot], alpha) == 0:
                    raise SpaceError(
                        f"{file}: {where}: alpha {alpha:g} gives 0 low-frequency channels on slot "
                        f"{slot} ({channels[slot]} channels); accepted: 0 or alpha >= 1/{channels[slot]}"
                    )


def _choices_key(name: str, explicit: dict) -> str:
    spec = explicit.get(name)
    return f"search.params.{name}.choices" if spec is not None and spec.choices else "search.grid"
