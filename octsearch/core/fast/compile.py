"""torch.compile for the fast inference path (inductor; it generates C++ with the machine's compiler).

Freezing lets inductor treat the folded weights as constants: it pre-packs them for oneDNN and
fuses activations and adds into the convolutions. Inductor reads ``freezing`` from its global
config when a graph compiles (``torch.compile(options=...)`` does not reach that check), so the
calls run under a config patch. Compilation happens on the first call for each input shape and
takes 10-60 s for an ImageNet-size model on one core (less when inductor's cache has it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


class CompiledInference:
    """``torch.compile`` of an eval-mode module, called with inductor's freezing on."""

    def __init__(self, module: nn.Module, *, cpp_wrapper: bool = False) -> None:
        self.options = {"freezing": True, "cpp_wrapper": cpp_wrapper}
        self.fn: Callable[..., Any] = torch.compile(module, backend="inductor", dynamic=False)

    def __call__(self, *args: Any) -> Any:
        import torch._inductor.config as inductor_config

        with inductor_config.patch(self.options):
            return self.fn(*args)
