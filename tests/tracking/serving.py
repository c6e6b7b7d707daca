"""Helpers for the tests that start ``mlflow models serve`` and speak to it over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

STARTUP_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url: str, body: bytes | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def frame_request(columns: list[str], texts: list[str]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": [[text] for text in texts]}}).encode()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_until_up(process: subprocess.Popen, base: str, log_path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow models serve exited with {process.returncode} before answering /ping:\n{log_path.read_text()}")
        try:
            if request(f"{base}/ping")[0] == 200:
                return
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow models serve did not answer /ping within {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()}")


def post_text(base: str, value, request_format: str = "dataframe_split") -> tuple[int, str]:
    """Two rows, the second's ``text`` being ``value``, in one of the scoring server's request formats."""
    body = {
        "dataframe_split": {"columns": ["text"], "data": [["good film"], [value]]},
        "dataframe_records": [{"text": "good film"}, {"text": value}],
        "inputs": {"text": ["good film", value]},
        "instances": [{"text": "good film"}, {"text": value}],
    }[request_format]
    return request(f"{base}/invocations", json.dumps({request_format: body}).encode())


def start_server(model_uri: str, tracking_uri: str, folder) -> tuple[subprocess.Popen, str]:
    """``mlflow models serve`` of ``model_uri`` on a free local port, up and answering; (process, base URL).
    Its log is ``folder/serve.log``. Stop it with ``stop``."""
    port = free_port()
    base, log_path = f"http://127.0.0.1:{port}", folder / "serve.log"
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    # mlflow starts the server as `uvicorn ...` through bash: the venv's bin must be on PATH, as when it is activated.
    # Pickle loading off, as README's serving section advises: the model is code plus safetensors, so it still serves.
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_REGISTRY_URI": tracking_uri,
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)
    try:
        wait_until_up(process, base, log_path)
    except BaseException:
        stop(process)
        raise
    return process, base
