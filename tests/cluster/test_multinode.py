"""A search on a Ray cluster of two nodes on this machine (``ray.cluster_utils.Cluster``, Ray's own
multi-node test harness), with results in PostgreSQL; and the loss of a worker node mid-search."""

from __future__ import annotations

import pytest
from search_helpers import end_group, run_cli, start_cli, wait_for, write_space

from octsearch.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def cluster():
    from ray.cluster_utils import Cluster

    # Both nodes run on this machine (Ray advertises the machine's own address, as a local
    # ray.init does; nothing leaves the machine).
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    worker = c.add_node(num_cpus=1)
    c.wait_for_nodes()
    try:
        yield c, worker
    finally:
        c.shutdown()


def test_trials_run_on_both_nodes_and_land_in_postgresql(cluster, pg_url, tmp_path):
    c, _ = cluster
    space = write_space(tmp_path)
    proc = run_cli("launch", str(space), "--name", "two-nodes", "--trials", "6", "--concurrency", "2",
                   "--address", c.address, "--db", pg_url, "--results-dir", str(tmp_path / "tune"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    trials = open_store(pg_url).trials("two-nodes")
    assert len(trials) == 6 and all(t.status == "complete" for t in trials)
    assert len({t.node for t in trials}) == 2, [t.node for t in trials]


def test_a_trial_lost_with_its_worker_node_is_recorded_and_run_again(cluster, pg_url, tmp_path):
    c, worker = cluster
    space = write_space(tmp_path, epochs=4)
    proc = start_cli("launch", str(space), "--name", "node-loss", "--trials", "7", "--concurrency", "2",
                     "--address", c.address, "--db", pg_url, "--results-dir", str(tmp_path / "tune"),
                     log=tmp_path / "launch.log")
    try:
        wait_for(lambda: _count(pg_url, "node-loss", "complete") >= 2 and _count(pg_url, "node-loss", "running") == 2,
                 240, "two complete trials and one running on each node")
        before = {t.number: t.accuracy for t in open_store(pg_url).trials("node-loss", status="complete")}
        c.remove_node(worker, allow_graceful=False)  # the worker node dies with its trial
        assert proc.wait(timeout=420) == 0, (tmp_path / "launch.log").read_text()[-3000:]
    finally:
        end_group(proc)
    store = open_store(pg_url)
    trials = store.trials("node-loss")
    assert not [t for t in trials if t.status == "running"]
    for number, accuracy in before.items():  # nothing completed is lost or changed
        assert store.trial("node-loss", number).accuracy == accuracy
    complete = [t for t in trials if t.status == "complete"]
    keys = [tuple(sorted(t.configuration.by_param.items())) for t in complete]
    assert len(keys) == len(set(keys))  # nor duplicated
    assert all(len(store.evaluations("node-loss", number=t.number)) <= 1 for t in trials)
    # the lost trial is recorded as lost (not counted against --trials) and run again, to completion:
    # the store keeps one row per configuration, so it is that row, its error keeping the loss
    assert not [t for t in trials if t.status == "failed"], [(t.number, t.status, t.error) for t in trials]
    lost = [t for t in complete if t.error]
    assert len(lost) == 1 and lost[0].error.startswith("lost with its worker: "), [(t.number, t.error) for t in trials]
    assert lost[0].error.endswith("; run again to completion") and lost[0].number not in before
    assert len(complete) == 7 and len(store.evaluations("node-loss", number=lost[0].number)) == 1
    log = (tmp_path / "launch.log").read_text()
    assert f"trial {lost[0].number} lost with its worker: " in log and "running it again on another worker" in log
    summary = [line for line in log.splitlines() if "this run:" in line][-1]
    assert "complete 7" in summary and "lost 1" in summary, summary
    assert store.get_search("node-loss").status == "finished"


def _count(url: str, name: str, status: str) -> int:
    try:
        return len(open_store(url).trials(name, status=status))
    except Exception:  # noqa: BLE001 (not created yet)
        return 0
