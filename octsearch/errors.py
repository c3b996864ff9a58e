"""The one exception hierarchy of octsearch.

Every error a user can cause derives from :class:`OctsearchError`; its message is one line that
names the offending value and what would be accepted. The CLI prints it and exits with code 2.
"""

from __future__ import annotations


class OctsearchError(Exception):
    """Base class of every error octsearch raises on purpose."""


class ConfigError(OctsearchError, ValueError):
    """A bad argument or configuration value (alpha, slot, input size, option)."""


class UnknownNameError(ConfigError, KeyError):
    """A name not found in a registry (model, data set, sampler, search, slot)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SpaceError(ConfigError):
    """A search-space file that does not validate."""


class DataError(OctsearchError):
    """A data set that is missing or in the wrong format."""


class FlopCountError(OctsearchError):
    """A FLOP count that would be incomplete (an operator without a handle)."""


class StoreError(OctsearchError):
    """The result store cannot be opened, read or written."""


class ClusterError(OctsearchError):
    """A Ray cluster that cannot be reached or used."""


def unknown_name(kind: str, name: object, choices: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build the standard 'unknown X' error that lists the accepted names."""
    listed = ", ".join(sorted(choices)) if choices else "(none)"
    return UnknownNameError(f"unknown {kind} {name!r}; choose one of: {listed}")
