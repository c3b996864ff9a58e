#!/usr/bin/env python3
"""Health of the Ray node in this container: exit 0 when healthy, 1 otherwise.

Asks the endpoints KubeRay's probes ask: the local raylet through the dashboard agent (every
node) and, with ``--head``, the GCS through the dashboard. Neither needs the auth token.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

RAYLET_URL = "http://127.0.0.1:{port}/api/local_raylet_healthz"
GCS_URL = "http://127.0.0.1:{port}/api/gcs_healthz"


def healthy(url: str, timeout: float) -> bool:
    """True when ``url`` answers 200 with ``success`` in its body."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200 and b"success" in response.read()
    except (OSError, urllib.error.URLError):
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="octsearch-healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--head", action="store_true", help="also check the GCS (on the head node)")
    parser.add_argument("--agent-port", type=int, default=52365, help="dashboard agent port (Ray's default 52365)")
    parser.add_argument("--dashboard-port", type=int, default=8265, help="dashboard port (Ray's default 8265)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per request")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    checks = [RAYLET_URL.format(port=args.agent_port)]
    if args.head:
        checks.append(GCS_URL.format(port=args.dashboard_port))
    for url in checks:
        if not healthy(url, args.timeout):
            print(f"unhealthy: {url}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
