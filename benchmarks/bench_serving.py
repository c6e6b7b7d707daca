"""Memory of the served classifier under maximum-size and oversized texts.

    .venv/bin/python benchmarks/bench_serving.py [--max-text-chars 20000] [--huge-mb 10] [--concurrency 4]

Registers a small classifier (nano Transformer, a BPE tokenizer trained on a few sentences) in a
SQLite tracking store in a temporary folder, serves it with
``mlflow models serve -m models:/bench@serving --env-manager local`` (as tests/tracking/test_serving.py
does) and measures the resident memory (RSS) of the server's whole process tree, sampled every
0.05 s with psutil:

- idle, after the server answered /ping;
- during ``--concurrency`` concurrent requests, each one text of ``--max-text-chars`` characters
  (the longest the model takes: it is tokenised whole, then truncated to the model's length);
- during ``--concurrency`` concurrent requests, each one text of ``--huge-mb`` MB, which the model
  must refuse (HTTP 400) before tokenising it;
- during ``--concurrency`` concurrent requests, each ``--rows`` texts of ``--max-text-chars``
  characters (the model tokenises them ``PREDICT_CHUNK_ROWS`` at a time).

Prints each phase's HTTP statuses, wall time and peak RSS, and the peak over the idle figure.
RSS sums every process of the tree, so a page shared by two of them counts twice; it is the same
measure for every phase, which is what the ratios need.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import psutil
import torch
from mlflow import MlflowClient

from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.model import model_config
from lmladder.model.classifier import ClassifierConfig, SequenceClassifier
from lmladder.model.directory import ModelBundle
from lmladder.parameters import default_parameters
from lmladder.tracking.registry import log_and_register_classifier

MB = 1024 * 1024
SENTENCE = "the movie was good and the acting was great, but the plot was dull and far too long. "
STARTUP_TIMEOUT_S = 120


def small_classifier() -> ModelBundle:
    tokenizer = train_bpe_tokenizer([SENTENCE, "the film was bad", "a fine, warm story"] * 20, 300)
    torch.manual_seed(0)
    config = model_config("nano", vocab_size=tokenizer.get_vocab_size(), max_positions=128)
    return ModelBundle(SequenceClassifier(config, ClassifierConfig(("neg", "pos"), "last")).eval(), tokenizer, {"task": "sentiment"})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (processes that end meanwhile count 0)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def peak_rss_during(pid: int, work) -> tuple[int, object, float]:
    """Peak tree RSS while ``work()`` runs; returns (peak bytes, its result, its wall seconds)."""
    peak, done = [tree_rss(pid)], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        result = work()
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    return max(peak[0], tree_rss(pid)), result, seconds


def concurrent_posts(url: str, body: bytes, concurrency: int) -> list[int]:
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda _: post(url, body), range(concurrency)))


def text_of(chars: int) -> str:
    return (SENTENCE * (chars // len(SENTENCE) + 1))[:chars]


def texts_request(text: str, rows: int = 1) -> bytes:
    return json.dumps({"dataframe_split": {"columns": ["text"], "data": [[text]] * rows}}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-text-chars", type=int, default=default_parameters()["evaluation"]["max_text_chars"])
    parser.add_argument("--huge-mb", type=float, default=10.0)
    parser.add_argument("--rows", type=int, default=512, help="rows of the many-rows requests")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as folder:
        uri = f"sqlite:///{folder}/mlflow.db"
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        experiment_id = MlflowClient(uri).create_experiment("bench-serving", artifact_location=(Path(folder) / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment_id):
            log_and_register_classifier(small_classifier(), "bench", "serving", ["good film"], max_text_chars=args.max_text_chars)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/bench@serving",
                   "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
        # mlflow starts `uvicorn` through bash: this interpreter's bin must be on PATH, as in an activated venv
        path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri, "PATH": path}
        log_path = Path(folder) / "serve.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the server did not come up:\n{log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{base}/ping", timeout=2):
                        break
                except (OSError, urllib.error.URLError):
                    time.sleep(0.5)
            assert post(f"{base}/invocations", texts_request("good film")) == 200  # warm: first request loads lazily
            time.sleep(2)
            idle = tree_rss(server.pid)

            url = f"{base}/invocations"
            max_text, huge_text = text_of(args.max_text_chars), text_of(int(args.huge_mb * MB))
            # In this order: memory a phase took is not always given back, so the next phase starts from it.
            phases = {
                f"{args.concurrency} x 1 text of {args.max_text_chars} chars (the limit)": texts_request(max_text),
                f"{args.concurrency} x 1 text of {args.huge_mb:g} MB (refused)": texts_request(huge_text),
                f"{args.concurrency} x {args.rows} texts of {args.max_text_chars} chars": texts_request(max_text, args.rows),
            }
            print(f"server process tree RSS, idle: {idle / MB:.0f} MB")
            print(f"{'phase':<44} {'statuses':<22} {'wall s':>7} {'peak RSS MB':>12} {'x idle':>7}")
            for name, body in phases.items():
                peak, statuses, seconds = peak_rss_during(server.pid, lambda body=body: concurrent_posts(url, body, args.concurrency))
                print(f"{name:<44} {str(statuses):<22} {seconds:7.2f} {peak / MB:12.0f} {peak / idle:7.2f}")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


if __name__ == "__main__":
    main()
