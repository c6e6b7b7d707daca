"""Runs left RUNNING by a process that died.

A ``kedro run`` killed with SIGKILL (or by the out-of-memory killer, or a power cut) never closes its
MLflow run, which would otherwise stay RUNNING forever. Every run the project opens is tagged with
the process that owns it (``owner_tags``); the next session of the project marks those whose process
is gone FAILED, with a tag saying why (``fail_orphaned_runs``).

A process is identified by its host, its pid namespace, its pid and its start time, so a pid reused
by another program later does not keep a dead run alive. A run owned by another host, or by another
container of this host (another pid namespace), is left alone: its process cannot be checked from
here. The sweep is best-effort: a run it cannot update is logged and skipped, never a reason for the
session to fail.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

import psutil
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

HOST_TAG, PID_TAG, STARTED_TAG = "owner_host", "owner_pid", "owner_started"
REASON_TAG = "failure_reason"

log = logging.getLogger(__name__)


def this_host() -> str:
    """The host name and, where there is one, the pid namespace: containers sharing a host name see
    different processes under the same pids."""
    try:
        return f"{socket.gethostname()} (pid namespace {os.stat('/proc/self/ns/pid').st_ino})"
    except OSError:  # no /proc (macOS, Windows): one namespace per host
        return socket.gethostname()


def owner_tags() -> dict[str, str]:
    """Tags naming this process as the owner of a run."""
    return {HOST_TAG: this_host(), PID_TAG: str(os.getpid()), STARTED_TAG: repr(psutil.Process().create_time())}


def owner_alive(tags: dict[str, str]) -> bool:
    """Whether the process the tags name still runs (True when it cannot be checked from here)."""
    if tags.get(HOST_TAG) != this_host():
        return True
    try:
        process = psutil.Process(int(tags[PID_TAG]))
        return abs(process.create_time() - float(tags[STARTED_TAG])) < 1.0
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except (KeyError, ValueError, psutil.AccessDenied):  # malformed tags, or another user's live process
        return True


def running_runs(client: MlflowClient) -> list:
    """Every RUNNING run of the store's active experiments (deleted runs cannot be updated), page by page."""
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    runs, page_token = [], None
    while experiments:
        page = client.search_runs(experiments, filter_string="attributes.status = 'RUNNING'", page_token=page_token)
        runs.extend(page)
        page_token = page.token
        if not page_token:
            break
    return runs


def fail_orphaned_runs(client: MlflowClient) -> list[str]:
    """Mark FAILED every RUNNING run of the store whose owner process has died; the ids of those runs."""
    failed = []
    for run in running_runs(client):
        tags = run.data.tags
        if PID_TAG not in tags or owner_alive(tags):
            continue
        reason = (
            f"process {tags[PID_TAG]} on {tags[HOST_TAG]} ended without closing this run (killed, or out of memory); "
            f"marked FAILED by the next session of the project at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
        )
        try:
            client.set_tag(run.info.run_id, REASON_TAG, reason)
            client.set_terminated(run.info.run_id, status="FAILED")
        except MlflowException as error:  # deleted meanwhile, say: the sweep must never stop a session
            log.warning("MLflow run %s was left RUNNING by a dead process but could not be marked FAILED: %s", run.info.run_id, error)
            continue
        log.warning("MLflow run %s (%s) was left RUNNING: %s", run.info.run_id, run.info.run_name, reason)
        failed.append(run.info.run_id)
    return failed
