#!/usr/bin/env python3
"""Refuse a search on a Ray cluster whose nodes run another octsearch or torch than the driver's.

Run on a node already joined to the cluster (the entrypoint does, before ``octsearch launch``):
asks every alive node, through a zero-CPU task pinned to it, which octsearch and torch are
installed there. Exit 0 when all agree with this node; 1 with one line on stderr otherwise, before
anything is written to the store. Ray itself refuses nodes of another Ray or Python version.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import metadata

PACKAGES = ("octsearch", "torch")


def installed() -> dict[str, str]:
    """The installed versions of :data:`PACKAGES` on this node ("none" where one is missing)."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "none"
    return out


def node_versions(timeout: float) -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    """(node address, versions) of every alive node that answered, and the nodes that did not."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray.init(address="auto", log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False)
    try:
        probe = ray.remote(num_cpus=0)(installed)
        nodes = [n for n in ray.nodes() if n["Alive"]]
        refs = {probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote():
                n["NodeManagerAddress"] for n in nodes}
        ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
        return [(refs[r], ray.get(r)) for r in ready], sorted(refs[r] for r in late)
    finally:
        ray.shutdown()


def mismatch(mine: dict[str, str], answers: list[tuple[str, dict[str, str]]], late: list[str],
             timeout: float) -> str | None:
    """The one line that refuses the search, or None when every node agrees."""
    if late:
        return f"Ray node(s) {', '.join(late)} did not answer within {timeout:.0f} s; no search started"
    for address, theirs in answers:
        differ = [f"{name} {theirs[name]} (this driver: {mine[name]})" for name in PACKAGES if theirs[name] != mine[name]]
        if differ:
            return (f"the Ray node at {address} runs {', '.join(differ)}: run every node from one image; "
                    "no search started")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="octsearch-cluster-check", description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for every node's answer")
    args = parser.parse_args(argv)
    try:
        answers, late = node_versions(args.timeout)
    except Exception as e:  # noqa: BLE001 - any failure to ask the cluster refuses the same way
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"octsearch-cluster-check: cannot ask the Ray cluster for its versions: {first}", file=sys.stderr)
        return 1
    line = mismatch(installed(), answers, late, args.timeout)
    if line is not None:
        print(f"octsearch-cluster-check: {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
