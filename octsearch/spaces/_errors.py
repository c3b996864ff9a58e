"""One-line :class:`SpaceError` messages: file, key path, bad value, what is accepted."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from octsearch.errors import SpaceError


def short(value: Any, limit: int = 60) -> str:
    """``repr`` of a value on one line, cut to ``limit`` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def key_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("search", "params", "stage2")`` -> ``search.params.stage2`` (list indices as ``[i]``)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def space_error(file: str, path: str, value: Any, accepted: str) -> SpaceError:
    """The standard message: ``FILE: KEY.PATH: VALUE is not accepted; ACCEPTED``."""
    return SpaceError(f"{file}: {path}: {short(value)} is not accepted; {accepted}")


def from_validation_error(file: str, error: ValidationError, root: type[BaseModel]) -> SpaceError:
    """Convert pydantic's (multi-line) error into one line about its first problem."""
    first = error.errors(include_url=False)[0]
    loc, kind, value = tuple(first["loc"]), first["type"], first.get("input")
    path = key_path(loc)
    msg = str(first["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        keys = _fields_at(root, loc[:-1])
        where = key_path(loc[:-1])
        listed = ", ".join(keys) if keys else "(none)"
        return SpaceError(f"{file}: {path}: unknown key; accepted keys under {where}: {listed}")
    if kind == "missing":
        return SpaceError(f"{file}: {path}: missing; this key is required")
    if msg.startswith("Input should be"):
        msg = "it should be" + msg.removeprefix("Input should be")
    elif "accepted" in msg:
        return SpaceError(f"{file}: {path}: {short(value)} is not accepted: {msg}")
    else:
        msg = f"accepted: {msg[0].lower()}{msg[1:]}" if msg else "see the documentation of the key"
    return space_error(file, path, value, msg)


def _fields_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found by walking ``loc`` from ``root`` (dict keys skipped)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
