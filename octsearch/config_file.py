"""The export file: one searched network, self-described, rebuildable with the same FLOPs.

Format ``octsearch-config/2`` (JSON)::

    {
      "format": "octsearch-config/2",
      "model": {"name": "oct_resnet20", "args": {"num_classes": 10, "in_chans": 1, ...}},
      "configuration": {                        # a Configuration, as Configuration.to_json writes it
        "params": {"stage1.out": 0.25, ...},    # search parameter -> alpha
        "alphas": {"stage1.out": 0.25, ...},    # free slot -> alpha, slot order (pinned slots are 0)
        "cost": {"flops_paper": 40812544,       # multiply-adds, conv + linear (paper)
                 "flops_all": 41900000,         # multiply-adds, every operator
                 "param_count": 272474}         # parameter count
      },
      "accuracy": 0.962, "accuracy_stderr": 0.006, "budget": "proxy",
      "search": "mnist-r20", "trial": 17,
      "octsearch_version": "0.1.0", "exported_at": "2026-11-24T10:00:00+00:00",
      "units": {...}                            # text for people; ignored on reading
    }

Only ``format``, ``model`` and the configuration's ``alphas`` are required on reading (a
hand-written file may leave the rest out). Files of format ``octsearch-config/1`` (``alphas``,
``flops_paper``, ``flops_all`` and ``params`` at the top level) are still read. torch is imported
only by :func:`create_model_from_config`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

FORMAT = "octsearch-config/2"
FORMAT_V1 = "octsearch-config/1"
UNITS = {
    "flops_paper": "multiply-adds of one forward pass at batch 1 (1 FMA = 1 FLOP), convolutions and linear layers only",
    "flops_all": "multiply-adds of one forward pass at batch 1, every operator",
    "param_count": "number of parameters",
    "accuracy": "fraction correct on the validation split (mean over evaluations at `budget`)",
    "accuracy_stderr": "standard error of `accuracy` (binomial, and across seeds)",
}


@dataclass(frozen=True)
class ModelConfig:
    """A network chosen from a search: model family, its arguments and its configuration."""

    model_name: str
    model_args: Mapping[str, Any]
    configuration: Configuration
    accuracy: float | None = None
    accuracy_stderr: float | None = None
    budget: str | None = None
    search: str | None = None
    trial: int | None = None
    octsearch_version: str | None = None
    exported_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def alphas(self) -> dict[str, float]:
        """Free slot -> alpha."""
        return self.configuration.by_slot

    @property
    def flops_paper(self) -> int | None:
        return None if self.configuration.cost is None else self.configuration.cost.flops_paper

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model": {"name": self.model_name, "args": dict(self.model_args)},
            "configuration": self.configuration.to_json(),
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
    if not isinstance(data, dict):
        raise _bad(source, "(top level)", "a JSON object", data)
    if data.get("format", ...) not in (FORMAT, FORMAT_V1):
        raise _bad(source, "format", f"{FORMAT!r} (or {FORMAT_V1!r})", data.get("format", ...))
    name, args = _model(data, source)
    opt = _Optional(data, source)
    return ModelConfig(
        model_name=name,
        model_args=args,
        configuration=_configuration(data, source),
        accuracy=opt("accuracy", (int, float), "a fraction in [0, 1]", lambda v: 0 <= v <= 1),
        accuracy_stderr=opt("accuracy_stderr", (int, float), "a fraction in [0, 1]", lambda v: 0 <= v <= 1),
        budget=opt("budget", str, "a budget name such as 'proxy' or 'full'"),
        search=opt("search", str, "a search name"),
        trial=opt("trial", int, "a trial number", lambda v: v >= 0),
        octsearch_version=opt("octsearch_version", str, "a version string"),
        exported_at=opt("exported_at", str, "an ISO 8601 time"),
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )


_KNOWN = {"format", "model", "configuration", "alphas", "units", "flops_paper", "flops_all", "params",
          "accuracy", "accuracy_stderr", "budget", "search", "trial", "octsearch_version", "exported_at"}


def _bad(source: str, key: str, expected: str, value: Any = ...) -> ConfigError:
    shown = "missing" if value is ... else f"{value!r}"[:60]
    return ConfigError(f"config file {source}: key {key!r} is {shown}; expected {expected}")


def _model(data: dict[str, Any], source: str) -> tuple[str, dict[str, Any]]:
    model = data.get("model", ...)
    if not isinstance(model, dict):
        raise _bad(source, "model", 'an object {"name": ..., "args": {...}}', model)
    name, args = model.get("name", ...), model.get("args", {})
    if not isinstance(name, str) or not name:
        raise _bad(source, "model.name", "a model name such as 'oct_resnet20'", name)
    if not isinstance(args, dict):
        raise _bad(source, "model.args", "an object of create_model keyword arguments", args)
    return name, args


def _configuration(data: dict[str, Any], source: str) -> Configuration:
    """The configuration of a v2 file, or the one a v1 file's top-level keys describe."""
    if data["format"] == FORMAT_V1:
        opt = _Optional(data, source)
        count = [opt(k, int, "multiply-adds (a non-negative integer)", lambda v: v >= 0)
                 for k in ("flops_paper", "flops_all")] + [opt("params", int, "a parameter count", lambda v: v >= 0)]
        body = {"alphas": data.get("alphas", ...), "params": {}}
        if None not in count:
            body["cost"] = dict(zip(("flops_paper", "flops_all", "param_count"), count, strict=True))
    else:
        body = data.get("configuration", ...)
        if not isinstance(body, dict):
            raise _bad(source, "configuration", 'an object {"params": ..., "alphas": ..., "cost": ...}', body)
        body = {"params": {}, **body}
    alphas = body.get("alphas", ...)
    if not isinstance(alphas, dict) or not alphas:
        raise _bad(source, "alphas", "an object slot -> alpha", alphas)
    return Configuration.from_json(body, where=f"config file {source}: ")


class _Optional:
    """Reads an optional top-level key: None when absent, a one-line error when mistyped."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self._data, self._source = data, source

    def __call__(self, key: str, kind: type | tuple[type, ...], expected: str, check: Any = None) -> Any:
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, kind) or (check and not check(value)):
            raise _bad(self._source, key, expected, value)
        return value


def create_model_from_config(config: str | Path | ModelConfig, verify_flops: bool = False) -> nn.Module:
    """Build the network an export file describes (``octsearch.core.registry.create_model``).

    With ``verify_flops`` the rebuilt network's paper-convention multiply-adds are counted
    (fvcore) and must equal the file's ``flops_paper``: a ConfigError otherwise.
    """
    cfg = config if isinstance(config, ModelConfig) else read_config(config)
    from octsearch.core.registry import create_model

    model = create_model(cfg.model_name, alphas=cfg.alphas, **dict(cfg.model_args))
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
