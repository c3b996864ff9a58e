"""The export file: one searched network, self-described, rebuildable with the same FLOPs.

Format ``octsearch-config/1`` (JSON)::

    {
      "format": "octsearch-config/1",
      "model": {"name": "oct_resnet20", "args": {"num_classes": 10, "in_chans": 1, ...}},
      "alphas": {"stage1": 0.25, ...},          # slot -> alpha, every slot, slot order
      "flops_paper": 40812544,                  # multiply-adds, conv + linear (paper)
      "flops_all": 41900000,                    # multiply-adds, every operator
      "params": 272474,                         # parameter count
      "accuracy": 0.962, "accuracy_stderr": 0.006, "budget": "proxy",
      "search": "mnist-r20", "trial": 17,
      "octsearch_version": "0.1.0", "exported_at": "2026-11-24T10:00:00+00:00",
      "units": {...}                            # text for people; ignored on reading
    }

Only ``format``, ``model`` and ``alphas`` are required on reading (a hand-written file may leave
the measurements out). torch is imported only by :func:`create_model_from_config`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octsearch.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

FORMAT = "octsearch-config/1"
UNITS = {
    "flops_paper": "multiply-adds of one forward pass at batch 1 (1 FMA = 1 FLOP), convolutions and linear layers only",
    "flops_all": "multiply-adds of one forward pass at batch 1, every operator",
    "params": "number of parameters",
    "accuracy": "fraction correct on the validation split (mean over evaluations at `budget`)",
    "accuracy_stderr": "standard error of `accuracy` (binomial, and across seeds)",
}


@dataclass(frozen=True)
class ModelConfig:
    """A network chosen from a search: model family, its arguments and per-slot alphas."""

    model_name: str
    model_args: Mapping[str, Any]
    alphas: Mapping[str, float]
    flops_paper: int | None = None
    flops_all: int | None = None
    params: int | None = None
    accuracy: float | None = None
    accuracy_stderr: float | None = None
    budget: str | None = None
    search: str | None = None
    trial: int | None = None
    octsearch_version: str | None = None
    exported_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model": {"name": self.model_name, "args": dict(self.model_args)},
            "alphas": dict(self.alphas),
            "flops_paper": self.flops_paper,
            "flops_all": self.flops_all,
            "params": self.params,
            "accuracy": self.accuracy,
            "accuracy_stderr": self.accuracy_stderr,
            "budget": self.budget,
            "search": self.search,
            "trial": self.trial,
            "octsearch_version": self.octsearch_version,
            "exported_at": self.exported_at,
            "units": UNITS,
            **dict(self.extra),
        }


def write_config(path: str | Path, config: ModelConfig) -> Path:
    """Write ``config`` as JSON (version and time filled in when missing); returns the path."""
    from octsearch import __version__

    if config.octsearch_version is None or config.exported_at is None:
        from dataclasses import replace

        config = replace(
            config,
            octsearch_version=config.octsearch_version or __version__,
            exported_at=config.exported_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
    path = Path(path)
    try:
        path.write_text(json.dumps(config.to_json(), indent=2) + "\n")
    except OSError as e:
        raise ConfigError(f"cannot write config file {path}: {e.strerror}") from None
    return path


def read_config(path: str | Path) -> ModelConfig:
    """Read and check an export file; any problem is a one-line ConfigError naming file and key."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} is not JSON ({_short(e)})") from None
    return parse_config(data, str(path))


def parse_config(data: Any, source: str = "<config>") -> ModelConfig:
    """Check a decoded export document (see the module docstring)."""

    def bad(key: str, expected: str, value: Any = ...) -> ConfigError:
        shown = "missing" if value is ... else f"{value!r}"[:60]
        return ConfigError(f"config file {source}: key {key!r} is {shown}; expected {expected}")

    if not isinstance(data, dict):
        raise bad("(top level)", "a JSON object", data)
    if data.get("format", ...) != FORMAT:
        raise bad("format", repr(FORMAT), data.get("format", ...))
    model = data.get("model", ...)
    if not isinstance(model, dict):
        raise bad("model", 'an object {"name": ..., "args": {...}}', model)
    name, args = model.get("name", ...), model.get("args", {})
    if not isinstance(name, str) or not name:
        raise bad("model.name", "a model name such as 'oct_resnet20'", name)
    if not isinstance(args, dict):
        raise bad("model.args", "an object of create_model keyword arguments", args)
    alphas = data.get("alphas", ...)
    if not isinstance(alphas, dict) or not alphas:
        raise bad("alphas", "an object slot -> alpha", alphas)
    for slot, alpha in alphas.items():
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
            raise bad(f"alphas.{slot}", "a number with 0 <= alpha < 1", alpha)

    def opt(key: str, kind: type | tuple[type, ...], expected: str, check: Any = None) -> Any:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, kind) or (check and not check(value)):
            raise bad(key, expected, value)
        return value

    known = {"format", "model", "alphas", "units", "flops_paper", "flops_all", "params", "accuracy",
             "accuracy_stderr", "budget", "search", "trial", "octsearch_version", "exported_at"}
    return ModelConfig(
        model_name=name,
        model_args=args,
        alphas={k: float(v) for k, v in alphas.items()},
        flops_paper=opt("flops_paper", int, "multiply-adds (a non-negative integer)", lambda v: v >= 0),
        flops_all=opt("flops_all", int, "multiply-adds (a non-negative integer)", lambda v: v >= 0),
        params=opt("params", int, "a parameter count", lambda v: v >= 0),
        accuracy=opt("accuracy", (int, float), "a fraction in [0, 1]", lambda v: 0 <= v <= 1),
        accuracy_stderr=opt("accuracy_stderr", (int, float), "a fraction in [0, 1]", lambda v: 0 <= v <= 1),
        budget=opt("budget", str, "a budget name such as 'proxy' or 'full'"),
        search=opt("search", str, "a search name"),
        trial=opt("trial", int, "a trial number", lambda v: v >= 0),
        octsearch_version=opt("octsearch_version", str, "a version string"),
        exported_at=opt("exported_at", str, "an ISO 8601 time"),
        extra={k: v for k, v in data.items() if k not in known},
    )


def create_model_from_config(config: str | Path | ModelConfig, verify_flops: bool = False) -> nn.Module:
    """Build the network an export file describes (``octsearch.core.registry.create_model``).

    With ``verify_flops`` the rebuilt network's paper-convention multiply-adds are counted
    (fvcore) and must equal the file's ``flops_paper``: a ConfigError otherwise.
    """
    cfg = config if isinstance(config, ModelConfig) else read_config(config)
    from octsearch.core.registry import create_model

    model = create_model(cfg.model_name, alphas=dict(cfg.alphas), **dict(cfg.model_args))
    if verify_flops and cfg.flops_paper is not None:
        from octsearch.core.flops import count_flops

        counted = count_flops(model).flops_paper
        if counted != cfg.flops_paper:
            raise ConfigError(
                f"config {cfg.search}/{cfg.trial}: rebuilt network has {counted} multiply-adds "
                f"(conv+fc), the file says {cfg.flops_paper}; was it made by another octsearch version?"
            )
    return model


def _short(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
