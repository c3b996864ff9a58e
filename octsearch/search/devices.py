"""Devices: can the cluster run one trial at all, and which device a trial trains on.

Capacity, checked by ``launch`` before anything is written: a request no node can meet would leave
Tune waiting forever with the search marked running, so it is refused up front: a GPU request where
Ray sees no GPU, more GPUs or CPUs per trial than the largest node has, or CPUs and GPUs that no
single node has together.

Placement, inside a trial's Ray worker: the GPU Ray gave it, else the CPU. A trial that asked for no
GPU trains on the CPU even where CUDA is present (the user did not ask for it, and Ray hides the
GPUs from it anyway). A trial that was given a GPU but cannot use CUDA fails with one line, rather
than quietly training on the CPU at a fraction of the speed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from octsearch.errors import ClusterError
from octsearch.spaces.resources import TrialResources


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

    from octsearch.search.cluster import ray_session

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
