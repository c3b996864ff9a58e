"""The augmentations a space may name, their options and defaults, checked without torch.

The space file is validated on load (no torch there); :mod:`octsearch.trial.augment` binds each
name to its batched tensor function. Defaults go by the kind of data set: digits get none,
CIFAR-style sets crop with 4 px padding and flip, image folders a random-resized crop and flip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from octsearch.errors import ConfigError, unknown_name

RRC_SCALE = (0.08, 1.0)
RRC_RATIO = (3 / 4, 4 / 3)
# augmentation -> its options with their defaults
AUGMENT_OPTIONS: dict[str, dict[str, Any]] = {
    "none": {},
    "crop_flip": {"padding": 4, "flip": 0.5},
    "rrc_flip": {"scale": RRC_SCALE, "ratio": RRC_RATIO, "flip": 0.5},
}
# the default augmentation of each kind of data set, and the kind of each registered data set
DEFAULTS = {"digits": "none", "cifar": "crop_flip", "imagefolder": "rrc_flip"}
DATASET_KINDS = {"mnist": "digits", "digits": "digits", "cifar10": "cifar", "cifar100": "cifar",
                 "imagefolder": "imagefolder", "prepared": "imagefolder"}


def _check_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"augmentation option {name}={value!r} is not accepted; use a probability in [0, 1]")
    return float(value)


def _check_range(name: str, value: Any, high: float | None) -> tuple[float, float]:
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    if not ok or not 0 < value[0] <= value[1] or (high is not None and value[1] > high):
        bound = f" <= {high}" if high is not None else ""
        raise ConfigError(f"augmentation option {name}={value!r} is not accepted; use [low, high] "
                          f"with 0 < low <= high{bound}")
    return (float(value[0]), float(value[1]))


def _check_padding(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
        raise ConfigError(f"augmentation option padding={value!r} is not accepted; use an integer "
                          "from 0 to 64 (px)")
    return value


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "padding": _check_padding,
    "flip": lambda v: _check_fraction("flip", v),
    "scale": lambda v: _check_range("scale", v, 1.0),
    "ratio": lambda v: _check_range("ratio", v, None),
}


def check_augment(name: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` over the defaults of augmentation ``name``, checked; an unknown name or option
    is a one-line error that lists the choices."""
    if not isinstance(name, str) or name not in AUGMENT_OPTIONS:
        raise unknown_name("augmentation", name, list(AUGMENT_OPTIONS))
    defaults = AUGMENT_OPTIONS[name]
    for key in options:
        if key not in defaults:
            accepted = ", ".join(sorted(defaults)) or "(none)"
            raise ConfigError(f"augmentation {name}: unknown option {key!r}; accepted: {accepted}")
    return {k: _CHECKS[k](options.get(k, v)) for k, v in defaults.items()}


def default_augment(dataset: str) -> str:
    """The augmentation a data set gets unless the space names one (by the data set's kind)."""
    if dataset not in DATASET_KINDS:
        raise unknown_name("data set for a default augmentation", dataset, list(DATASET_KINDS))
    return DEFAULTS[DATASET_KINDS[dataset]]
