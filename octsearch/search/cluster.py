"""Running on Ray: start a local Ray or join a cluster, the devices trials ask for, and Ctrl-C.

Address checks fail before any Ray process starts.

Capacity, checked by ``launch`` before anything is written: a request no node can meet would leave
Tune waiting forever with the search marked running, so it is refused up front: a GPU request where
Ray sees no GPU, more GPUs or CPUs per trial than the largest node has, or CPUs and GPUs that no
single node has together.

Placement, inside a trial's Ray worker: the GPU Ray gave it, else the CPU. A trial that asked for no
GPU trains on the CPU even where CUDA is present (the user did not ask for it, and Ray hides the
GPUs from it anyway). A trial that was given a GPU but cannot use CUDA fails with one line, rather
than quietly training on the CPU at a fraction of the speed.

Ctrl-C is a request to stop cleanly: finished work is kept, a second Ctrl-C aborts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from octsearch.errors import ClusterError
from octsearch.spaces.resources import TrialResources

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


# -- Ctrl-C: a request to stop cleanly (finished work is kept; a second Ctrl-C aborts) ---------

@contextlib.contextmanager
def stop_on_sigint() -> Iterator[Callable[[], bool]]:
    """Yield ``should_stop``: true after a first Ctrl-C (finish cleanly); a second one aborts."""
    flag = {"stop": False}

    def handler(signum: int, frame: Any) -> None:
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: flag["stop"]
    finally:
        signal.signal(signal.SIGINT, previous)


# -- the devices trials ask for, against what the cluster's nodes have -------------------------

@dataclass(frozen=True)
class NodeCapacity:
    """What Ray can hand out on one node (logical CPUs and GPUs, as ``ray.nodes()`` counts them)."""

    cpus: float
    gpus: float


def local_gpu_count() -> int:
    """The GPUs a local Ray of this machine gets: Ray's own detection, limited to CUDA_VISIBLE_DEVICES."""
    try:
        # The one private Ray import in octsearch: Ray has no public API that counts a machine's
        # GPUs before ray.init, and starting a local Ray (2-3 s) just to ask would double launch time.
        from ray._private.accelerators import get_accelerator_manager_for_resource

        manager = get_accelerator_manager_for_resource("GPU")
        found = int(manager.get_current_node_num_accelerators() or 0)
        visible = manager.get_current_process_visible_accelerator_ids()
    except Exception:  # noqa: BLE001 (no NVIDIA tooling: no GPU Ray could use)
        return 0
    return found if visible is None else min(found, len(visible))


def cluster_nodes(address: str | None) -> list[NodeCapacity]:
    """The nodes a search would run on: this machine for a local Ray (no Ray started), else
    the live nodes of the cluster at ``address``, joined briefly (0.28 s here once Ray is imported,
    which the search needs anyway; a local Ray would take 2-3 s to start, so it is not started)."""
    if address is None:
        return [NodeCapacity(float(os.cpu_count() or 1), float(local_gpu_count()))]
    import ray


    with ray_session(address, ship_package=False):
        return [NodeCapacity(float(n["Resources"].get("CPU", 0)), float(n["Resources"].get("GPU", 0)))
                for n in ray.nodes() if n.get("Alive")]


def check_capacity(request: TrialResources, nodes: list[NodeCapacity], where: str) -> None:
    """One line naming the request and what the cluster has, if no node can run a trial."""
    if any(n.cpus >= request.cpu and n.gpus >= request.gpu for n in nodes):
        return
    most_gpus = max((n.gpus for n in nodes), default=0.0)
    most_cpus = max((n.cpus for n in nodes), default=0.0)
    gpu = f"{request.gpu_from} {request.gpu:g}"
    if request.gpu and not most_gpus:
        raise ClusterError(f"{gpu}: Ray sees no GPU on {where} ({len(nodes)} node(s)); accepted: "
                           "0 (train on the CPU), or a cluster with GPUs (`ray start --num-gpus N`)")
    if request.gpu > most_gpus:
        raise ClusterError(f"{gpu} GPUs per trial, but the largest node of {where} has {most_gpus:g}; accepted: "
                           f"a fraction in (0, 1] or a whole number up to {most_gpus:g}")
    cpu = f"{request.cpu_from} {request.cpu}"
    if request.cpu > most_cpus:
        raise ClusterError(f"{cpu} CPUs per trial, but the largest node of {where} has {most_cpus:g}; "
                           f"accepted: at most {most_cpus:g}")
    best = max((n.cpus for n in nodes if n.gpus >= request.gpu), default=0.0)
    raise ClusterError(f"{cpu} CPUs with {request.gpu:g} GPU per trial: no node of {where} has both (its nodes "
                       f"with {request.gpu:g} GPU have at most {best:g} CPUs); accepted: at most {best:g} CPUs")


def check_cluster(request: TrialResources, address: str | None) -> None:
    """:func:`check_capacity` against the nodes the search would run on."""
    where = "this machine" if address is None else f"the cluster at {address}"
    check_capacity(request, cluster_nodes(address), where)


# -- placement: inside the trial's worker ---------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """``device`` for ``run_trial``; ``gpu_ids`` are the ids Ray assigned (empty: none)."""

    device: str
    gpu_ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.device} (Ray GPU {','.join(self.gpu_ids)})" if self.gpu_ids else self.device


def trial_placement() -> Placement:
    """The device of the trial running in this Ray worker (see the module's docstring)."""
    import ray

    ids = tuple(str(i) for i in ray.get_gpu_ids())
    if not ids:
        return Placement("cpu")
    _require_cuda(ids)
    # Ray narrows CUDA_VISIBLE_DEVICES to the trial's GPUs, so its first is cuda:0; the trial
    # trains on one device (more GPUs per trial are reserved, not used in parallel).
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return Placement("cuda:0" if visible else f"cuda:{ids[0]}", ids)


def _require_cuda(ids: tuple[str, ...]) -> None:
    import socket

    import torch

    if torch.version.cuda is None:
        why = f"torch {torch.__version__} was built without CUDA"
    elif not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        why = f"torch {torch.__version__} sees no CUDA device"
    else:
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    raise ClusterError(f"this trial was given GPU {','.join(ids)} by Ray (CUDA_VISIBLE_DEVICES={visible!r}) on "
                       f"{socket.gethostname()}, but {why}; accepted: nodes whose torch has CUDA and a "
                       "visible GPU, or --gpus-per-trial 0 (train on the CPU)")
