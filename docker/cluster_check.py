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
import time
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
    """(node address, versions) of every alive node that answered, and one line for each node
    that is still alive but did not answer (a node that left meanwhile is no longer asked)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray.init(address="auto", log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False)
    try:
        probe = ray.remote(num_cpus=0, max_retries=0)(installed)
        nodes = {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]}
        refs = {probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(): node
                for node in nodes}
        ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
        answers, failed = [], {}
        for ref in ready:
            try:
                answers.append((nodes[refs[ref]], ray.get(ref)))
            except Exception as e:  # noqa: BLE001 - a node that died while asked fails its task
                failed[refs[ref]] = _first_line(e)
        failed.update({refs[ref]: f"no answer within {timeout:.0f} s" for ref in late})
        if failed:  # the GCS may still list a node the scheduler already knows to be gone
            time.sleep(5)
        alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        silent = [f"{nodes[node]} ({why})" for node, why in sorted(failed.items()) if node in alive]
        return answers, silent
    finally:
        ray.shutdown()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def mismatch(mine: dict[str, str], answers: list[tuple[str, dict[str, str]]], silent: list[str]) -> str | None:
    """The one line that refuses the search, or None when every node agrees."""
    if silent:
        return f"Ray node(s) {', '.join(silent)} could not be asked for their versions; no search started"
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
        answers, silent = node_versions(args.timeout)
    except Exception as e:  # noqa: BLE001 - any failure to ask the cluster refuses the same way
        print(f"octsearch-cluster-check: cannot ask the Ray cluster for its versions: {_first_line(e)}",
              file=sys.stderr)
        return 1
    line = mismatch(installed(), answers, silent)
    if line is not None:
        print(f"octsearch-cluster-check: {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
