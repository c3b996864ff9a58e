"""The budget ladder of a calibration: rungs, their labels, and the space each one trains with.

A rung is the space's own proxy budget with some of four settings changed, written as
``key=value`` pairs joined by commas (``epochs=1,train=1000,ema=0.99``):

- ``epochs``: training epochs (``budget.epochs``);
- ``train``: training images, ``val``: validation images (the data section's ``limit`` and
  ``val_fraction``, so the split stays the space's stratified, seeded one);
- ``ema``: the decay of the moving average of the weights that is validated (``budget.ema``; 0: off).

A key not given keeps the space's value. A rung's *label* states all four values
(``epochs=2,train=4000,val=1000,ema=0``); its evaluations are stored under that budget label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from octsearch.errors import ConfigError
from octsearch.spaces.space import SearchSpace

MAX_EPOCHS = 1000
MIN_IMAGES = 10  # per split: a stratified split needs one image per class and more
MAX_IMAGES = 10_000_000
ACCEPTED = {
    "epochs": f"an integer from 1 to {MAX_EPOCHS}",
    "train": f"an integer from {MIN_IMAGES} to {MAX_IMAGES:,} (training images)",
    "val": f"an integer from {MIN_IMAGES} to {MAX_IMAGES:,} (validation images)",
    "ema": "a decay in [0, 1) (0: off)",
}


@dataclass(frozen=True)
class Rung:
    """One budget of the ladder: ``epochs``, ``train`` and ``val`` images, ``ema`` decay."""

    epochs: int
    train: int
    val: int
    ema: float

    @property
    def label(self) -> str:
        """The budget label its evaluations are stored under: every setting, stated."""
        return f"epochs={self.epochs},train={self.train},val={self.val},ema={self.ema:g}"


@dataclass(frozen=True)
class LadderRung:
    """A rung and the space that trains at it (its text is what the workers rebuild)."""

    rung: Rung
    space: SearchSpace


def parse_rung(text: str, base: Rung) -> Rung:
    """``key=value[,key=value...]`` over ``base`` (an empty text is ``base`` itself)."""
    values: dict[str, Any] = {}
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            continue
        key, sep, value = (s.strip() for s in item.partition("="))
        if key not in ACCEPTED or not sep:
            raise ConfigError(f"rung {text!r}: {item!r} is not a rung setting; accepted: "
                              + ", ".join(f"{k}=<{v}>" for k, v in ACCEPTED.items()))
        values[key] = _value(text, key, value)
    return replace(base, **values)


def _value(text: str, key: str, value: str) -> int | float:
    try:
        number = float(value) if key == "ema" else int(value)
    except ValueError:
        number = math.nan
    ok = {"epochs": lambda v: 1 <= v <= MAX_EPOCHS, "ema": lambda v: 0 <= v < 1}.get(
        key, lambda v: MIN_IMAGES <= v <= MAX_IMAGES)
    if not (math.isfinite(number) and ok(number)):
        raise ConfigError(f"rung {text!r}: {key}={value!r} is out of range; accepted: {key}=<{ACCEPTED[key]}>")
    return number


def base_rung(space: SearchSpace, train: int, val: int) -> Rung:
    """The space's own budget (``train``/``val``: its split's sizes, as loaded)."""
    budget = space.budget()
    return Rung(budget.epochs, train, val, budget.ema)


def default_ladder(base: Rung) -> tuple[Rung, ...]:
    """The space's budget; the same with a moving average of the weights; half the epochs (or half
    the training images where one epoch already); twice the epochs."""
    cheaper = (replace(base, epochs=base.epochs // 2) if base.epochs > 1
               else replace(base, train=max(MIN_IMAGES, base.train // 2)))
    return (base, replace(base, ema=0.99), cheaper, replace(base, epochs=min(MAX_EPOCHS, 2 * base.epochs)))


def parse_ladder(texts: tuple[str, ...], base: Rung) -> tuple[Rung, ...]:
    """The rungs of ``texts`` (none: :func:`default_ladder`), each once, in the order given."""
    rungs = tuple(parse_rung(t, base) for t in texts) if texts else default_ladder(base)
    labels = [r.label for r in rungs]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ConfigError(f"rung {twice[0]} is given twice; accepted: each rung once")
    return rungs


def rung_space(space: SearchSpace, rung: Rung, base: Rung) -> SearchSpace:
    """``space`` training at ``rung``: its text with the budget's epochs and ema, and (where the
    rung changes the split) the data's limit and validation fraction, set."""
    import yaml

    from octsearch.spaces import space_from_text

    raw = yaml.safe_load(space.text)
    budget = dict(raw.get("budget") or {})
    budget.update(epochs=rung.epochs, ema=rung.ema)
    raw["budget"] = budget
    if (rung.train, rung.val) != (base.train, base.val):
        data = dict(raw.get("data") or {})
        data.update(limit=rung.train + rung.val, val_fraction=rung.val / (rung.train + rung.val))
        raw["data"] = data
    return space_from_text(yaml.safe_dump(raw, sort_keys=False), space.name, origin=space.path)
