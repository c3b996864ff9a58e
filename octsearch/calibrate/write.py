"""Write a recommended rung into a space file's text, keeping its comments.

A textual edit (no YAML round trip, which would drop the comments): in the block-style ``budget:``
section the ``epochs:`` and ``ema:`` lines get the rung's values (an absent key is added under the
section's first line; a trailing comment on a line is kept); where the rung changes the split, the
``data:`` section's ``limit:`` and ``val_fraction:`` likewise. A ``# calibrated:`` comment block
directly above ``budget:`` states what the budget resolves and the command (an earlier such block
is replaced). The result must load as a valid space with the rung's budget, or nothing is written.
A section written in flow style (``budget: {epochs: 2}``) cannot be edited so: a one-line error.
"""

from __future__ import annotations

import re
from pathlib import Path

from octsearch.calibrate.ladder import Rung
from octsearch.errors import ConfigError

MARK = "# calibrated:"
_TOP_KEY = re.compile(r"^[A-Za-z_][\w.-]*\s*:")


def _section(lines: list[str], name: str) -> tuple[int, int]:
    """(header line, end) of the top-level block section ``name``."""
    head = next((i for i, ln in enumerate(lines) if re.match(rf"^{name}\s*:", ln)), None)
    if head is None:
        raise ConfigError(f"the space file has no {name}: section; accepted: a file with a block-style {name}: section")
    if lines[head].split(":", 1)[1].split("#", 1)[0].strip():
        raise ConfigError(f"the space file's {name}: section is written on one line; accepted: a block-style "
                          f"{name}: section (one key a line) to write a calibrated budget into")
    end = next((i for i in range(head + 1, len(lines)) if _TOP_KEY.match(lines[i])), len(lines))
    return head, end


def _set_key(lines: list[str], section: str, key: str, value: str) -> list[str]:
    head, end = _section(lines, section)
    pattern = re.compile(rf"^(\s+){key}\s*:\s*([^#\n]*?)(\s*#.*)?$")
    for i in range(head + 1, end):
        match = pattern.match(lines[i].rstrip("\n"))
        if match:
            comment = match.group(3) or ""
            lines[i] = f"{match.group(1)}{key}: {value}{comment}\n"
            return lines
    indent = next((re.match(r"^(\s+)\S", ln).group(1) for ln in lines[head + 1:end]  # type: ignore[union-attr]
                   if re.match(r"^\s+[^\s#]", ln)), "  ")
    return [*lines[:head + 1], f"{indent}{key}: {value}\n", *lines[head + 1:]]


def _set_comment(lines: list[str], comment: tuple[str, ...]) -> list[str]:
    head, _ = _section(lines, "budget")
    start = head
    while start > 0 and lines[start - 1].startswith(MARK[:-1]):  # the earlier block, and its continuation
        start -= 1
    block = [f"{MARK} {comment[0]}\n", *(f"# calibrated  {line}\n" for line in comment[1:])]
    return [*lines[:start], *block, *lines[head:]]


def calibrated_text(text: str, rung: Rung, base: Rung, comment: tuple[str, ...]) -> str:
    """``text`` with ``rung`` written into its budget (and data) section and the comment above it."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines = _set_key(lines, "budget", "epochs", str(rung.epochs))
    lines = _set_key(lines, "budget", "ema", f"{rung.ema:g}")
    if (rung.train, rung.val) != (base.train, base.val):
        lines = _set_key(lines, "data", "limit", str(rung.train + rung.val))
        lines = _set_key(lines, "data", "val_fraction", f"{rung.val / (rung.train + rung.val):.6g}")
    return "".join(_set_comment(lines, comment))


def check_calibrated(text: str, rung: Rung, path: str | Path) -> None:
    """The edited text must load as a valid space whose budget is the rung's; else a one-line error
    (and the caller writes nothing)."""
    from octsearch.spaces import space_from_text

    loaded = space_from_text(text, Path(path).stem, origin=str(path))
    budget = loaded.budget()
    if (budget.epochs, budget.ema) != (rung.epochs, rung.ema):
        raise ConfigError(f"{path}: the edited budget reads back as epochs={budget.epochs}, ema={budget.ema:g}, "
                          f"not the rung's {rung.label}; nothing written")
