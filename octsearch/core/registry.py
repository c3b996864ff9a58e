"""Model registry: ``create_model(name, ...)`` is the one door in (timm style).

A family registers an entrypoint ``fn(plan, **model_args) -> nn.Module`` with
:func:`register_model`. Building happens twice when alphas are given: once on the ``meta`` device
(no weight storage) to collect the model's alpha slots, then for real with the validated alphas.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from octsearch.core.layers import OctConv2d
from octsearch.core.slots import AlphaPlan, Alphas, AlphaSlot, attach_layers, resolve_alphas
from octsearch.errors import ConfigError, unknown_name

# Arguments every family accepts, with the meaning they have everywhere.
COMMON_ARGS = ("num_classes", "in_chans", "input_size")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    fn: Callable[..., nn.Module]
    family: str
    description: str
    defaults: Mapping[str, Any]


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(family: str, description: str, **defaults: Any) -> Callable:
    """Register ``fn(plan, **model_args)`` under its function name with default arguments."""

    def decorate(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[fn.__name__] = ModelEntry(fn.__name__, fn, family, description, defaults)
        return fn

    return decorate


def _ensure_registered() -> None:
    # The families register themselves on import.
    from octsearch.core import models  # noqa: F401


def list_models() -> list[str]:
    """Names of every registered model."""
    _ensure_registered()
    return sorted(_REGISTRY)


def model_entry(name: str) -> ModelEntry:
    _ensure_registered()
    if name not in _REGISTRY:
        raise unknown_name("model", name, list(_REGISTRY))
    return _REGISTRY[name]


def model_args(name: str, **overrides: Any) -> dict[str, Any]:
    """The full argument set of a model: its defaults updated with ``overrides`` (checked)."""
    entry = model_entry(name)
    accepted = [p for p in inspect.signature(entry.fn).parameters if p != "plan"]
    for key in overrides:
        if key not in accepted:
            raise ConfigError(f"{name}: unknown model argument {key!r}; accepted: {', '.join(accepted)}")
    args = dict(entry.defaults)
    args.update({k: v for k, v in overrides.items() if v is not None})
    return args


def _build(name: str, plan: AlphaPlan, args: Mapping[str, Any]) -> nn.Module:
    return model_entry(name).fn(plan=plan, **args)


def _slot_uses(model: nn.Module) -> dict[str, list[str]]:
    uses: dict[str, list[str]] = {}
    for layer_name, module in model.named_modules():
        if isinstance(module, OctConv2d):
            for slot in dict.fromkeys((module.slot_in, module.slot_out)):
                if slot is not None:
                    uses.setdefault(slot, []).append(layer_name)
    return uses


def _collect_slots(name: str, args: Mapping[str, Any]) -> tuple[AlphaSlot, ...]:
    import torch

    plan = AlphaPlan(None)
    with torch.device("meta"):
        model = _build(name, plan, args)
    return attach_layers(plan.slots, _slot_uses(model))


def alpha_slots(name: str, include_pinned: bool = False, **model_args_: Any) -> tuple[AlphaSlot, ...]:
    """List a model's alpha slots (free ones only unless ``include_pinned``), without real weights."""
    slots = _collect_slots(name, model_args(name, **model_args_))
    return slots if include_pinned else tuple(s for s in slots if s.free)


def create_model(name: str, alphas: Alphas = 0.0, **model_args_: Any) -> nn.Module:
    """Build model ``name`` with per-slot ``alphas`` (a mapping naming every free slot) or one
    uniform alpha for every free slot.

    The returned module carries ``model_name``, ``model_args`` (every argument, defaults included),
    ``slots`` (all slots, pinned ones too) and ``alphas`` (slot -> alpha, every slot).
    """
    args = model_args(name, **model_args_)
    slots = _collect_slots(name, args)
    resolved = resolve_alphas(name, slots, alphas)
    model = _build(name, AlphaPlan(resolved), args)
    model.model_name = name
    model.model_args = dict(args)
    model.slots = slots
    model.alphas = resolved
    return model


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


def check_width(name: str, width_mult: float) -> None:
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not width_mult > 0:
        raise ConfigError(f"{name}: width_mult={width_mult!r}; accepted: a number > 0")
