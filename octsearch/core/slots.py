"""Alpha slots: the free alpha variables of a model, and their resolution from user input.

A slot is one feature-map tensor (or a set of tensors tied together by residual adds or depthwise
convolutions) whose alpha can be chosen. Models declare their slots through an :class:`AlphaPlan`
while they build; the same code therefore defines the architecture and its slots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from octsearch.core.split import check_alpha, low_channels
from octsearch.errors import ConfigError, UnknownNameError

Alphas = float | Mapping[str, float]


@dataclass(frozen=True)
class AlphaSlot:
    """One alpha variable of a model.

    Attributes:
        name: stable dotted name, e.g. ``stage2.block1.inner``.
        channels: channel count of the tensor(s) it governs.
        spatial: side of the high-frequency map at the model's reference input size.
        layers: dotted names of the convolutions that read or write the slot's tensor(s).
        pinned: why the slot is fixed to alpha 0 (``None`` for a free slot).
    """

    name: str
    channels: int
    spatial: int
    layers: tuple[str, ...] = ()
    pinned: str | None = None

    @property
    def free(self) -> bool:
        return self.pinned is None


@dataclass
class AlphaPlan:
    """Collects slot declarations while a model builds and hands out each slot's alpha.

    With ``alphas=None`` the plan only collects (every slot gets 0); the registry then validates the
    user's alphas against the collected slots and builds again with a resolved plan.
    """

    alphas: Mapping[str, float] | None = None
    slots: dict[str, AlphaSlot] = field(default_factory=dict)

    def slot(self, name: str, channels: int, spatial: int, pinned: str | None = None) -> float:
        """Declare (or look up) slot ``name`` and return its alpha."""
        if spatial % 2 and pinned is None:
            pinned = f"its {spatial}x{spatial} map has an odd side and cannot be halved"
        known = self.slots.get(name)
        if known is None:
            self.slots[name] = AlphaSlot(name, channels, spatial, (), pinned)
        elif known.channels != channels or known.spatial != spatial:  # a bug in a model, not user input
            raise RuntimeError(f"slot {name} redeclared with another shape")
        if self.slots[name].pinned is not None or self.alphas is None:
            return 0.0
        return float(self.alphas[name])


def attach_layers(slots: Mapping[str, AlphaSlot], uses: Mapping[str, list[str]]) -> tuple[AlphaSlot, ...]:
    """Return the slots with the layer names that read or write them."""
    return tuple(
        AlphaSlot(s.name, s.channels, s.spatial, tuple(uses.get(s.name, ())), s.pinned)
        for s in slots.values()
    )


def resolve_alphas(model: str, slots: tuple[AlphaSlot, ...], alphas: Alphas) -> dict[str, float]:
    """Validate user alphas against a model's slots; return slot -> alpha for every slot.

    ``alphas`` is one number (uniform alpha on every free slot) or a mapping that names every free
    slot; a pinned slot may be named only with alpha 0.
    """
    by_name = {s.name: s for s in slots}
    free = [s.name for s in slots if s.free]
    if isinstance(alphas, Mapping):
        for name in alphas:
            if name not in by_name:
                raise UnknownNameError(
                    f"{model}: unknown slot {name!r}; accepted slots: {', '.join(free) or '(none)'}"
                )
        missing = [n for n in free if n not in alphas]
        if missing:
            raise ConfigError(f"{model}: alphas leave out slot(s) {', '.join(missing)}; every free slot needs a value")
        given = dict(alphas)
    else:
        given = {n: alphas for n in free}
    resolved: dict[str, float] = {}
    for s in slots:
        value = given.get(s.name, 0.0)
        value = check_alpha(value, f"{model}: slot {s.name} alpha")
        if s.pinned is not None and value != 0:
            raise ConfigError(f"{model}: slot {s.name} alpha={value} but it is pinned to 0 ({s.pinned}); accepted: 0")
        if value and low_channels(s.channels, value) == 0:
            raise ConfigError(
                f"{model}: slot {s.name} alpha={value} gives 0 low channels of {s.channels}; "
                f"accepted: 0 or alpha >= 1/{s.channels}"
            )
        resolved[s.name] = value
    return resolved
