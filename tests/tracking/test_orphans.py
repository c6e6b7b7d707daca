from __future__ import annotations

import socket
import subprocess
import sys

import psutil
from mlflow import MlflowClient

from lmladder.tracking.orphans import HOST_TAG, PID_TAG, REASON_TAG, STARTED_TAG, fail_orphaned_runs, owner_alive, owner_tags


def dead_process_tags() -> dict[str, str]:
    """Owner tags of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    tags = {**owner_tags(), PID_TAG: str(process.pid), STARTED_TAG: repr(psutil.Process(process.pid).create_time())}
    process.kill()
    process.wait()
    return tags


def test_only_runs_of_dead_processes_on_this_host_are_failed_with_a_reason(tracking):
    uri, experiment_id = tracking
    client = MlflowClient(uri)
    dead = dead_process_tags()
    runs = {
        "killed": dead,
        "pid_reused": {**owner_tags(), STARTED_TAG: "1.0"},  # this pid, but not the process that opened the run
        "alive": owner_tags(),
        "other_host": {**dead, HOST_TAG: "another-machine"},
        "untagged": {},
    }
    ids = {name: client.create_run(experiment_id, tags=tags, run_name=name).info.run_id for name, tags in runs.items()}
    finished = client.create_run(experiment_id, tags=dead, run_name="finished").info.run_id
    client.set_terminated(finished, "FINISHED")
    deleted = client.create_run(experiment_id, tags=dead, run_name="deleted").info.run_id
    client.delete_run(deleted)  # as from the UI: it cannot be updated, and must not stop the sweep

    failed = fail_orphaned_runs(client)

    assert sorted(failed) == sorted([ids["killed"], ids["pid_reused"]])
    status = {name: client.get_run(run_id).info.status for name, run_id in ids.items()}
    assert status == {"killed": "FAILED", "pid_reused": "FAILED", "alive": "RUNNING", "other_host": "RUNNING", "untagged": "RUNNING"}
    assert client.get_run(finished).info.status == "FINISHED"
    assert client.get_run(deleted).info.status == "RUNNING"
    reason = client.get_run(ids["killed"]).data.tags[REASON_TAG]
    assert f"process {dead[PID_TAG]} on {dead[HOST_TAG]} ended without closing this run" in reason
    assert fail_orphaned_runs(client) == []  # nothing left to fail


def test_an_owner_that_cannot_be_checked_counts_as_alive():
    assert owner_alive(owner_tags())
    assert owner_alive({**owner_tags(), HOST_TAG: "another-machine"})
    assert owner_alive({**dead_process_tags(), HOST_TAG: f"{socket.gethostname()} (pid namespace 1)"})  # another container
    assert owner_alive({**owner_tags(), PID_TAG: "not-a-pid"})
    assert not owner_alive(dead_process_tags())
