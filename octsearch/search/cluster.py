"""Start a local Ray or join a cluster; checks that fail before any Ray process starts."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from octsearch.errors import ClusterError

CURRENT_CLUSTER_FILE = Path("/tmp/ray/ray_current_cluster")


@dataclass(frozen=True)
class RaySession:
    address: str | None  # None: a local Ray started for this search
    session_dir: str | None
    log_file: str | None


def _host_port(address: str) -> tuple[str, int]:
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterError(
            f"--address {address!r} is not host:port; accepted: HOST:PORT of a `ray start --head`, "
            "ray://HOST:PORT, or auto"
        )
    return host, int(port)


def check_address(address: str | None, timeout: float = 3.0) -> str | None:
    """Return the address to pass to ``ray.init`` after checking it can be reached."""
    if address is None:
        return None
    if address == "auto":
        if os.environ.get("RAY_ADDRESS"):
            return check_address(os.environ["RAY_ADDRESS"], timeout)
        if not CURRENT_CLUSTER_FILE.exists():
            raise ClusterError("--address auto: no running Ray cluster found on this machine "
                               f"({CURRENT_CLUSTER_FILE} is missing); start one with `ray start --head`")
        return "auto"
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ClusterError(f"cannot reach a Ray cluster at {address} ({reason}); start one with "
                           "`ray start --head --port=PORT`, or omit --address to run a local Ray") from None
    return address


def _package_dir() -> str:
    import octsearch

    return str(Path(octsearch.__file__).resolve().parent)


@contextlib.contextmanager
def ray_session(address: str | None, num_cpus: int | None = None, ship_package: bool = True) -> Iterator[RaySession]:
    """``ray.init`` quietly (Ray's logs go to its session directory, not the terminal), yield,
    then ``ray.shutdown``. Joining a cluster ships this package to its workers."""
    import ray

    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")  # our handler stops the search cleanly
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0 the legacy reporter is silent
    # Results live in octsearch's store; Tune's per-trial JSON/CSV/TensorBoard files would only
    # cost the driver a write per report.
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    env_vars = {"RAY_CHDIR_TO_TRIAL_DIR": "0"}
    kwargs: dict = dict(log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False,
                        configure_logging=True)
    if address is None:
        # address="local": a Ray of our own even if a `ray start` cluster runs on this machine
        # (ray.init() would join it, and then refuse num_cpus).
        kwargs.update(address="local", num_cpus=num_cpus or os.cpu_count(), runtime_env={"env_vars": env_vars})
    else:
        runtime_env: dict = {"env_vars": env_vars}
        if ship_package:
            runtime_env["py_modules"] = [_package_dir()]
        kwargs.update(address=address, runtime_env=runtime_env)
    context = _init(ray, address, kwargs)
    try:
        # ray.init's context names the session directory (a ray:// client's has none)
        session_dir = (getattr(context, "address_info", None) or {}).get("session_dir")
        log_file = _log_to_file(session_dir)
        yield RaySession(address, session_dir, log_file)
    finally:
        ray.shutdown()


def _init(ray, address: str | None, kwargs: dict):  # noqa: ANN001, ANN202
    try:
        return ray.init(**kwargs)
    except Exception as e:
        # Ray 2.60 clusters with token authentication need the driver in token mode too.
        if address is not None and "auth" in f"{type(e).__name__} {e}".lower() and "RAY_AUTH_MODE" not in os.environ:
            ray.shutdown()
            os.environ["RAY_AUTH_MODE"] = "token"
            try:
                return ray.init(**kwargs)
            except Exception as again:
                e = again
        ray.shutdown()
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ClusterError(f"Ray could not start or join {address or 'a local cluster'}: {first}") from None


def _log_to_file(session_dir: str | None) -> str | None:
    """Send the driver's Ray/Tune log records to a file instead of the terminal."""
    if session_dir is None:
        return None
    path = Path(session_dir) / "logs" / "octsearch-driver.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("ray", "ray.tune", "ray.train", "octsearch"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h, logging.StreamHandler)]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return str(path)
