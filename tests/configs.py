"""Configurations for tests of the store, which has no space: read back the way the store and the
export file read one (``Configuration.from_json``), the parameters named like the slots unless given."""

from __future__ import annotations

from collections.abc import Mapping

from octsearch.configuration import Configuration


def configuration(alphas: Mapping[str, float], params: Mapping[str, float] | None = None, *,
                  flops_paper: int | None = None, flops_all: int | None = None,
                  param_count: int | None = None) -> Configuration:
    data = {"params": dict(alphas if params is None else params), "alphas": dict(alphas)}
    if flops_paper is not None:
        data["cost"] = {"flops_paper": flops_paper, "flops_all": flops_all, "param_count": param_count}
    return Configuration.from_json(data)
