"""torch.compile for the fast inference path (inductor; it generates C++ with the machine's compiler).

Freezing lets inductor treat the folded weights as constants: it pre-packs them for oneDNN and
fuses activations and adds into the convolutions. Inductor reads ``freezing`` from its global
config when a graph compiles (``torch.compile(options=...)`` does not reach that check), so the
calls run under a config patch. Compilation happens on the first call for each input shape and
takes 5-60 s for an ImageNet-size model on one core (less when inductor's cache has it).

Dynamo caches compiled code per Python code object, with a limit of 8 entries: compiling the
shared ``forward`` of many models of one family (a search) would hit that limit and silently
fall back to eager. Each :class:`CompiledInference` therefore compiles a function with its own
code object, so every model has its own cache entry.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

_serial = itertools.count()


def _own_code_object(module: nn.Module) -> Callable[[Any], Any]:
    def call(x: Any) -> Any:
        return module(x)

    code = call.__code__.replace(co_name=f"octsearch_inference_{next(_serial)}")
    return types.FunctionType(code, call.__globals__, code.co_name, None, call.__closure__)


class CompiledInference:
    """``torch.compile`` of an eval-mode module, called with inductor's freezing on."""

    def __init__(self, module: nn.Module, *, cpp_wrapper: bool = False) -> None:
        self.options = {"freezing": True, "cpp_wrapper": cpp_wrapper}
        self.fn: Callable[..., Any] = torch.compile(_own_code_object(module), backend="inductor", dynamic=False)

    def __call__(self, x: Any) -> Any:
        import torch._inductor.config as inductor_config

        with inductor_config.patch(self.options):
            return self.fn(x)
