"""Text output shared by every command: tables, JSON, CSV, and number formatting with units; and
the one parser of JSON given as an option's value."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from octsearch.errors import ConfigError


def gflops(multiply_adds: float | None) -> str:
    """Multiply-adds as a number of GFLOPs with 4 decimals ("0.0400"), "-" for None.

    The unit is GFLOPs: 1 GFLOP = 1e9 fused multiply-adds (batch 1). The text is the number
    only; the caller names the unit and convention once, in a header or right after it. The
    one GFLOPs formatter of the CLI: tables, sentences and plot ticks all use it.
    """
    return "-" if multiply_adds is None else f"{multiply_adds / 1e9:.4f}"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain fixed-width table; ``columns`` picks and orders the keys (header = key)."""
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0].keys())
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=_json_default)


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return ""
    columns = list(columns or rows[0].keys())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _csv_cell(row.get(c)) for c in columns})
    return out.getvalue()


def json_object(option: str, text: str, accepted: str) -> dict[str, Any]:
    """The JSON object ``text`` given as ``option``'s value; otherwise a one-line ConfigError
    naming the option and ``accepted``: text that is not JSON, is nested deeper than the parser
    recurses (a RecursionError), has a number too long to convert, or is no object."""
    shown = _clip(text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{option} {shown} is not JSON ({e.msg} at character {e.pos}); accepted: {accepted}") from None
    except RecursionError:
        raise ConfigError(f"{option} {shown} is not JSON octsearch can read (nested too deeply); "
                          f"accepted: {accepted}") from None
    except ValueError as e:  # an integer of more digits than int() converts
        raise ConfigError(f"{option} {shown} is not JSON octsearch can read ({e}); accepted: {accepted}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{option} {shown} is not a JSON object; accepted: {accepted}")
    return value


def _clip(text: str, limit: int = 60) -> str:
    """``repr`` of an option's text on one line, cut to ``limit`` characters."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
