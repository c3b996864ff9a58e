"""How a model family registers itself, and the argument checks every family shares.

The families (:mod:`octsearch.core.models`) import this module; it imports none of them, so the
lookups of :mod:`octsearch.core.registry` (which import the families) sit above both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from octsearch.errors import ConfigError

# Arguments every family accepts, with the meaning they have everywhere.
COMMON_ARGS = ("num_classes", "in_chans", "input_size")

# The largest input side (px) a model is built or counted for: 18x ImageNet's 224. Beyond it one
# float32 input alone takes gigabytes and the activations many times that (checked before allocating).
MAX_INPUT_SIZE = 4096


@dataclass(frozen=True)
class ModelEntry:
    name: str
    fn: Callable[..., Any]
    family: str
    description: str
    defaults: Mapping[str, Any]


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(family: str, description: str, **defaults: Any) -> Callable:
    """Register ``fn(plan, **model_args)`` under its function name with default arguments.

    The blocks a family builds describe their computation (:mod:`octsearch.core.structure`), which
    is how passes such as the fast inference path restructure them.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[fn.__name__] = ModelEntry(fn.__name__, fn, family, description, defaults)
        return fn

    return decorate


def registered() -> Mapping[str, ModelEntry]:
    """A read-only view of the entries registered so far (name -> entry)."""
    return MappingProxyType(_REGISTRY)


def _bytes_text(n: int) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def check_input_shape(label: str, shape: tuple[int, int, int], accepted: str = "sides") -> None:
    """Refuse an input with a side above :data:`MAX_INPUT_SIZE` before anything is allocated;
    ``label`` names the value (``"name: input_size=N"``), ``accepted`` the caller's other rules."""
    channels, height, width = shape
    if max(height, width) > MAX_INPUT_SIZE:
        size = _bytes_text(4 * channels * height * width)
        raise ConfigError(f"{label}; accepted: {accepted}, at most {MAX_INPUT_SIZE} px (one "
                          f"1x{channels}x{height}x{width} float32 input alone would take {size})")


def check_common_args(
    name: str, num_classes: int, in_chans: int, input_size: int, size_rule: Callable[[int], bool], size_text: str
) -> None:
    """Validate the arguments every family shares; one-line errors."""
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"{name}: num_classes={num_classes!r}; accepted: an integer >= 2")
    if not isinstance(in_chans, int) or in_chans < 1:
        raise ConfigError(f"{name}: in_chans={in_chans!r}; accepted: a positive integer (1 grey, 3 RGB)")
    if not isinstance(input_size, int) or not size_rule(input_size):
        raise ConfigError(f"{name}: input_size={input_size!r}; accepted: {size_text}")
    check_input_shape(f"{name}: input_size={input_size!r}", (in_chans, input_size, input_size), size_text)


def check_width(name: str, width_mult: float) -> None:
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not width_mult > 0:
        raise ConfigError(f"{name}: width_mult={width_mult!r}; accepted: a number > 0")
