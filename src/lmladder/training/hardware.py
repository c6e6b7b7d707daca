"""What this machine's matmuls run at, measured once and cached: the MFU denominator, and whether bf16 is
worth using here.

On a CPU, bf16 matmuls are several times faster than fp32 where the cores have AMX or AVX512-BF16 and
slower where they emulate it, and the CPU's name alone does not say which (a cloud VM reports a generic
"Intel Xeon Processor"). So ``precision: auto`` measures: a square matmul in fp32 and in bf16, about a
second in all, cached in a JSON file per machine (CPU name and flags, thread count, torch version, GPU
name) so that a run does not pay for it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from pathlib import Path

import torch

from lmladder.atomic import atomic_path

log = logging.getLogger(__name__)

CACHE_ENV = "LMLADDER_CACHE_DIR"
CACHE_FILE = "matmul_probe.json"
# bf16-mixed on a CPU when its bf16 matmuls run at least this much faster than fp32 ones. A training step
# gains less than its matmuls: autocast casts the weights every step, and softmax, norms and the optimizer
# stay in fp32. benchmarks/bench_time_to_quality.py shows the step speed-up the choice brings.
CPU_BF16_MIN_SPEEDUP = 2.0
PROBE_SIZE = 1024
PROBE_SECONDS = 0.5


def measure_matmul_peak(
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, size: int = PROBE_SIZE, seconds: float = PROBE_SECONDS
) -> float:
    """Achievable FLOP/s of a square matmul on ``device`` in ``dtype``."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    synchronize = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    a @ b  # warm-up
    synchronize()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        runs += 1
    synchronize()
    return 2 * size**3 * runs / (time.perf_counter() - start)


def cache_path() -> Path:
    """``$LMLADDER_CACHE_DIR/matmul_probe.json``, by default under ``$XDG_CACHE_HOME`` (``~/.cache``)/lmladder."""
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lmladder"
    return Path(root) / CACHE_FILE


def _cpu_description() -> str:
    """The CPU's model name and flags (from /proc/cpuinfo where there is one), which decide its bf16 speed."""
    try:
        info = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    fields = {}
    for line in info:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return f"{fields.get('model name', platform.machine())} flags:{fields.get('flags', '')}"


def machine_key(device: str) -> str:
    """What a cached measurement holds for: the device (GPU name, or CPU name and flags), threads, torch."""
    if device == "cuda":
        what = f"cuda:{torch.cuda.get_device_name()}"
    else:
        what = f"cpu:{_cpu_description()}|threads={torch.get_num_threads()}"
    digest = hashlib.sha256(what.encode()).hexdigest()[:16]
    return f"{device}-{digest}-torch{torch.__version__}"


def matmul_probe(device: str = "cpu", path: Path | None = None) -> dict:
    """``{"fp32_flops", "bf16_flops", "machine"}`` for ``device`` ("cpu" or "cuda"), measured on the first
    call on this machine and read from the cache after. A cache that cannot be read or written is
    measured around (and said so in the log), never an error."""
    path = path or cache_path()
    key = machine_key(device)
    try:
        cached = json.loads(path.read_text())
    except FileNotFoundError:
        cached = {}
    except (OSError, ValueError) as error:
        log.warning("ignoring the matmul probe cache %s (%s); measuring again", path, error)
        cached = {}
    if isinstance(cached, dict) and isinstance(cached.get(key), dict):
        return {**cached[key], "machine": key}
    figures = {"fp32_flops": measure_matmul_peak(device, torch.float32), "bf16_flops": measure_matmul_peak(device, torch.bfloat16)}
    log.info(
        "measured %s matmuls: fp32 %.0f GFLOP/s, bf16 %.0f GFLOP/s (cached in %s)",
        device,
        figures["fp32_flops"] / 1e9,
        figures["bf16_flops"] / 1e9,
        path,
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary:
            temporary.write_text(json.dumps({**(cached if isinstance(cached, dict) else {}), key: figures}, indent=1))
    except OSError as error:
        log.warning("could not cache the matmul probe in %s (%s); the next run measures again", path, error)
    return {**figures, "machine": key}


def cpu_prefers_bf16(probe: dict) -> bool:
    return probe["bf16_flops"] >= CPU_BF16_MIN_SPEEDUP * probe["fp32_flops"]
