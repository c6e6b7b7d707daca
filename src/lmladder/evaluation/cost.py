"""What a model costs to serve: latency per batch, throughput, peak memory, size on disk."""

from __future__ import annotations

import gc
import itertools
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lmladder.errors import ConfigError

try:
    import psutil as _psutil
except ImportError:  # optional: the /proc fallback below covers Linux
    _psutil = None

MEMORY_SAMPLE_INTERVAL_S = 0.001


def measure_latency(
    predict: Callable[[list[str]], object],
    texts: list[str],
    batch_size: int,
    repeats: int,
    warmup: int = 2,
) -> dict:
    """Time ``repeats`` calls of ``predict`` on batches of ``batch_size`` texts.

    Batches walk through ``texts`` cyclically, so a few texts can fill any batch size. The first
    ``warmup`` calls are not timed: they absorb lazy initialisation and caches filling.
    ``predict`` must return only once its work is done (on a GPU: synchronise or copy to CPU),
    or the timings measure only the launch.
    """
    _check_latency_arguments(texts, batch_size, repeats, warmup)
    stream = itertools.cycle(texts)

    def next_batch() -> list[str]:
        return list(itertools.islice(stream, batch_size))

    for _ in range(warmup):
        predict(next_batch())
    seconds = []
    for _ in range(repeats):
        batch = next_batch()  # built outside the timed span: we time the model, not list slicing
        started = time.perf_counter()
        predict(batch)
        seconds.append(time.perf_counter() - started)

    milliseconds = np.array(seconds) * 1000
    total_seconds = float(np.sum(seconds))
    return {
        "p50_ms": float(np.percentile(milliseconds, 50)),
        "p95_ms": float(np.percentile(milliseconds, 95)),
        "mean_ms": float(milliseconds.mean()),
        "throughput_per_s": batch_size * repeats / total_seconds if total_seconds > 0 else float("inf"),
        "batch_size": batch_size,
        "repeats": repeats,
    }


def peak_memory_during(fn: Callable[[], object]) -> dict:
    """Peak memory while ``fn`` runs.

    ``peak_rss_increase_bytes``: the highest resident set size seen, minus the size just before
    ``fn`` started, sampled about every millisecond from a background thread (so an allocation
    freed within a millisecond can be missed). Whatever ``fn`` returns is kept alive until a last
    sample is taken, so memory handed back as the result is counted.
    ``cuda_peak_bytes``: ``torch.cuda.max_memory_allocated`` over the call (tensors already on
    the GPU beforehand included), or None without CUDA.
    """
    cuda = _cuda_module_if_available()
    if cuda is not None:
        # Before the RSS baseline: the first CUDA call creates a context worth hundreds of MB of RSS.
        cuda.synchronize()
        cuda.reset_peak_memory_stats()
    gc.collect()  # garbage from earlier work would otherwise be freed mid-run and hide our growth

    baseline = _resident_set_bytes()
    sampler = _PeakSampler()
    sampler.start()
    try:
        result = fn()
        if cuda is not None:
            cuda.synchronize()
    finally:
        peak = sampler.stop()
    del result  # only now: it had to stay alive through the last sample
    return {
        "peak_rss_increase_bytes": max(0, peak - baseline),
        "cuda_peak_bytes": int(cuda.max_memory_allocated()) if cuda is not None else None,
    }


def directory_size_bytes(path: str | os.PathLike) -> int:
    """Total size of the regular files under ``path`` (or of ``path`` itself if it is a file).

    Symbolic links are not followed, so a link to a shared cache does not count its target.
    """
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        raise ConfigError(f"Cannot measure {path}: no such file or directory.")
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            file_path = Path(folder) / name
            if not file_path.is_symlink():
                total += file_path.stat().st_size
    return total


class _PeakSampler:
    """Records the highest RSS seen by a daemon thread until stopped."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._peak = _resident_set_bytes()
        self._thread = threading.Thread(target=self._run, name="peak-memory-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        # One last look from this thread: the sampler may have slept through the final moments.
        return max(self._peak, _resident_set_bytes())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, _resident_set_bytes())
            self._stop.wait(MEMORY_SAMPLE_INTERVAL_S)


def _resident_set_bytes() -> int:
    if _psutil is not None:
        return _psutil.Process().memory_info().rss
    return _resident_set_bytes_from_proc()


def _resident_set_bytes_from_proc() -> int:
    # Without psutil, Linux exposes the same number; field 2 of statm is resident pages.
    try:
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
    except OSError as error:
        raise RuntimeError("Measuring memory needs psutil, or Linux's /proc/self/statm; neither is available.") from error
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _cuda_module_if_available():
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda if torch.cuda.is_available() else None


def _check_latency_arguments(texts: list[str], batch_size: int, repeats: int, warmup: int) -> None:
    if not texts:
        raise ConfigError("measure_latency needs at least one text to build batches from.")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1; got {batch_size}.")
    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1; got {repeats}.")
    if warmup < 0:
        raise ConfigError(f"warmup cannot be negative; got {warmup}.")
