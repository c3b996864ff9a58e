"""How a model family registers itself, and the argument checks every family shares.

The families (:mod:`octsearch.core.models`) import this module; it imports none of them, so the
lookups of :mod:`octsearch.core.registry` (which import the families) sit above both.
"""

from __future__ import annotations

import functools
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
# Upper bounds of the other shared arguments, checked before a layer is built: 16x the paper's
# widths, 1,024 input channels (hyperspectral images have a few hundred bands), 100,000 classes.
MAX_WIDTH_MULT = 16
MAX_IN_CHANS = 1024
MAX_NUM_CLASSES = 100_000
# What a model may take, checked on the weightless (meta) build that lists its slots, before the
# real one: 4 GB of float32 parameters (1e9; ResNet-101 has 44.5 million), and 4 GB for the largest
# feature map of one image (an alpha slot's channels x side x side, float32).
MAX_PARAMETER_BYTES = 4_000_000_000
MAX_FEATURE_MAP_BYTES = 4_000_000_000


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
        _REGISTRY[fn.__name__] = ModelEntry(fn.__name__, _checked(fn), family, description, defaults)
        return fn

    return decorate


def _checked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` followed by :func:`check_model_size` (the registry builds on ``meta`` first, so a
    model too large is refused before any weight is allocated)."""

    @functools.wraps(fn)
    def build(plan: Any, **args: Any) -> Any:
        model = fn(plan=plan, **args)
        check_model_size(fn.__name__, args, model, plan)
        return model

    return build


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


def check_model_size(name: str, args: Mapping[str, Any], model: Any, plan: Any) -> None:
    """Refuse a model whose float32 parameters or largest feature map (batch 1) exceed
    :data:`MAX_PARAMETER_BYTES` / :data:`MAX_FEATURE_MAP_BYTES`; the message gives the figure."""
    given = ", ".join(f"{k}={v!r}" for k, v in args.items())
    n_params = sum(p.numel() for p in model.parameters())
    if 4 * n_params > MAX_PARAMETER_BYTES:
        raise ConfigError(f"{name}: {given} gives {n_params:,} parameters ({_bytes_text(4 * n_params)} of float32); "
                          f"accepted: at most {_bytes_text(MAX_PARAMETER_BYTES)} of parameters (a smaller "
                          "width_mult, num_classes or in_chans)")
    biggest = max(plan.slots.values(), key=lambda s: s.channels * s.spatial**2, default=None)
    size = 0 if biggest is None else 4 * biggest.channels * biggest.spatial**2
    if size > MAX_FEATURE_MAP_BYTES:
        raise ConfigError(f"{name}: {given} gives a {biggest.channels}x{biggest.spatial}x{biggest.spatial} "
                          f"feature map ({biggest.name}) of {_bytes_text(size)} for one float32 image; accepted: "
                          f"at most {_bytes_text(MAX_FEATURE_MAP_BYTES)} (a smaller width_mult or input_size)")


def check_common_args(
    name: str, num_classes: int, in_chans: int, input_size: int, size_rule: Callable[[int], bool], size_text: str
) -> None:
    """Validate the arguments every family shares; one-line errors."""
    if not _is_int(num_classes) or not 2 <= num_classes <= MAX_NUM_CLASSES:
        raise ConfigError(f"{name}: num_classes={num_classes!r}; accepted: an integer from 2 to {MAX_NUM_CLASSES:,}")
    if not _is_int(in_chans) or not 1 <= in_chans <= MAX_IN_CHANS:
        raise ConfigError(f"{name}: in_chans={in_chans!r}; accepted: an integer from 1 to {MAX_IN_CHANS:,} "
                          "(1 grey, 3 RGB)")
    if not isinstance(input_size, int) or not size_rule(input_size):
        raise ConfigError(f"{name}: input_size={input_size!r}; accepted: {size_text}")
    check_input_shape(f"{name}: input_size={input_size!r}", (in_chans, input_size, input_size), size_text)


def check_width(name: str, width_mult: float) -> None:
    """A finite width multiplier above 0 and at most :data:`MAX_WIDTH_MULT` (nan and inf fail)."""
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) \
            or not 0 < width_mult <= MAX_WIDTH_MULT:
        raise ConfigError(f"{name}: width_mult={width_mult!r}; accepted: a number > 0 and at most {MAX_WIDTH_MULT} "
                          "(times the paper's channel widths)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
