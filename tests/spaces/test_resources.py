"""A trial's Ray request (octsearch/spaces/resources.py) and the capacity rule that launch applies
to it (octsearch/search/cluster.py): generated values get a request or one line naming them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octsearch.errors import ClusterError, ConfigError
from octsearch.search.cluster import NodeCapacity, check_capacity
from octsearch.spaces.resources import ResourcesSpec, TrialResources, trial_resources

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**20), st.booleans(),
                    st.sampled_from([0, 0.25, 0.5, 1, 1.0, 2, 3.0, 1.5, -0.0, 1e-9]))


@settings(max_examples=200, deadline=None)
@given(gpus=NUMBERS, cpus=st.one_of(st.none(), st.integers(-3, 64), st.booleans(), st.floats()))
def test_a_flag_value_is_a_request_or_one_line_naming_it(gpus, cpus) -> None:
    try:
        request = trial_resources(ResourcesSpec(), 1, "s.yaml", gpus=gpus, cpus=cpus)
    except ConfigError as e:
        line = str(e)
        assert "\n" not in line and "accepted:" in line
        assert line.startswith("--gpus-per-trial ") or line.startswith("--cpus-per-trial "), line
        return
    assert request.gpu == 0 or 0 < request.gpu <= 1 or request.gpu == int(request.gpu)
    assert math.isfinite(request.gpu) and not isinstance(gpus, bool)
    assert isinstance(request.cpu, int) and request.cpu >= 1


@settings(max_examples=200, deadline=None)
@given(nodes=st.lists(st.tuples(st.integers(0, 16), st.integers(0, 8)), max_size=4),
       cpu=st.integers(1, 20), gpu=st.sampled_from([0.0, 0.25, 1.0, 2.0, 3.0, 9.0]))
def test_a_request_passes_exactly_when_one_node_holds_it(nodes, cpu, gpu) -> None:
    cluster = [NodeCapacity(float(c), float(g)) for c, g in nodes]
    request = TrialResources(cpu, gpu, "--cpus-per-trial", "--gpus-per-trial")
    fits = any(c >= cpu and g >= gpu for c, g in nodes)
    try:
        check_capacity(request, cluster, "the cluster at h:1")
    except ClusterError as e:
        assert not fits and "\n" not in str(e) and "accepted:" in str(e), str(e)
        return
    assert fits


@pytest.mark.parametrize(("nodes", "cpu", "gpu", "piece"), [
    ([(8, 0)], 1, 0.5, "--gpus-per-trial 0.5: Ray sees no GPU on the cluster at h:1 (1 node(s))"),
    ([(8, 2), (4, 0)], 1, 3.0, "--gpus-per-trial 3 GPUs per trial, but the largest node of the cluster at h:1 has 2"),
    ([(8, 0), (2, 1)], 4, 1.0, "--cpus-per-trial 4 CPUs with 1 GPU per trial: no node of the cluster at h:1 has "
                               "both (its nodes with 1 GPU have at most 2 CPUs); accepted: at most 2 CPUs"),
    ([(0, 0), (2, 0)], 3, 0.0, "--cpus-per-trial 3 CPUs per trial, but the largest node of the cluster at h:1 has 2"),
], ids=["no-gpu", "gpus-above-largest", "not-on-one-node", "cpus-above-largest"])
def test_the_refusal_names_the_request_and_what_the_cluster_has(nodes, cpu, gpu, piece) -> None:
    request = TrialResources(cpu, gpu, "--cpus-per-trial", "--gpus-per-trial")
    with pytest.raises(ClusterError) as caught:
        check_capacity(request, [NodeCapacity(float(c), float(g)) for c, g in nodes], "the cluster at h:1")
    assert piece in str(caught.value)


def test_a_head_without_cpus_beside_workers_with_them_is_fine() -> None:
    """The compose cluster's head has 0 CPUs: the request fits a worker."""
    check_capacity(TrialResources(1), [NodeCapacity(0.0, 0.0), NodeCapacity(2.0, 0.0)], "the cluster at h:1")
