"""Model registry: ``create_model(name, ...)`` is the one door in (timm style).

A family registers an entrypoint ``fn(plan, **model_args) -> nn.Module`` with
:func:`~octsearch.core.registration.register_model`; this module imports the families, they import
only the registration module. Building happens twice when alphas are given: once on the ``meta``
device (no weight storage) to collect the model's alpha slots, then for real with the validated
alphas.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from torch import nn

from octsearch.core import models  # noqa: F401  (the families register themselves on import)
from octsearch.core.layers import OctConv2d
from octsearch.core.registration import COMMON_ARGS, ModelEntry, register_model, registered
from octsearch.core.slots import AlphaPlan, Alphas, AlphaSlot, attach_layers, resolve_alphas
from octsearch.errors import ConfigError, unknown_name

# register_model and COMMON_ARGS re-exported: a family written elsewhere finds everything here
__all__ = ["COMMON_ARGS", "ModelEntry", "alpha_slots", "create_model", "list_models", "model_args",
           "model_entry", "register_model"]


def list_models() -> list[str]:
    """Names of every registered model."""
    return sorted(registered())


def model_entry(name: str) -> ModelEntry:
    entries = registered()
    if name not in entries:
        raise unknown_name("model", name, list(entries))
    return entries[name]


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
