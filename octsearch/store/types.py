"""Column types shared by the table models and the migrations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


@dataclass(frozen=True)
class CorruptJSON:
    """A stored JSON value that does not parse; the record layer reports it with its row."""

    raw: str


class JSONField(TypeDecorator[Any]):
    """JSON that keeps key order and never raises while a row is fetched.

    PostgreSQL: its ``json`` type (not ``jsonb``, which reorders keys: slot order matters).
    SQLite: text that we (de)serialise ourselves, so a hand-edited, unparsable value turns into
    :class:`CorruptJSON` and can be reported with the search and trial it belongs to.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "sqlite" and value is not None:
            return json.dumps(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "sqlite" and isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return CorruptJSON(value)
        return value
