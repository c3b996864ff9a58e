"""Supernet checkpoints: written after every epoch (atomically), read back only by the same space
and settings, so an interrupted training resumes where it stopped and nothing foreign is loaded."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from octsearch.errors import ConfigError
from octsearch.spaces.space import SearchSpace


def save_checkpoint(path: Path, space: SearchSpace, settings: Any, state: dict[str, Any]) -> None:
    """``state`` with the space's identity and the settings, written to a temporary file first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"space_hash": space.hash, "space_name": space.name, "settings": asdict(settings), **state}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, space: SearchSpace, settings: Any) -> dict[str, Any] | None:
    """The checkpoint's state, or None without one; one line, and nothing loaded, when it is of
    another space or was trained with other settings."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - whatever torch raises, the file is not a checkpoint of ours
        raise ConfigError(f"supernet checkpoint {path} cannot be read ({type(e).__name__}); accepted: a "
                          "checkpoint written by `octsearch supernet`, or delete it to start over") from None
    if not isinstance(state, dict) or "space_hash" not in state:
        raise ConfigError(f"{path} is not a supernet checkpoint; nothing loaded")
    if state["space_hash"] != space.hash:
        raise ConfigError(f"supernet checkpoint {path} is of space {state.get('space_name')!r} "
                          f"(sha256 {state['space_hash'][:12]}), not of {space.name!r} (sha256 {space.hash[:12]}); "
                          "nothing loaded")
    if state["settings"] != asdict(settings):
        raise ConfigError(f"supernet checkpoint {path} was trained with {state['settings']}, not "
                          f"{asdict(settings)}; nothing loaded (use the same settings, or another checkpoint)")
    return state
