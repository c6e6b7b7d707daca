"""What this machine's matmuls run at, measured once and cached: the MFU denominator, and whether bf16 is
worth using here.

On a CPU, bf16 matmuls are several times faster than fp32 where the cores have AMX or AVX512-BF16 and
slower where they emulate it, and the CPU's name alone does not say which (a cloud VM reports a generic
"Intel Xeon Processor"). So ``precision: auto`` measures: a square matmul in fp32 and in bf16, about a
second in all, cached in a JSON file per machine (CPU name and flags, thread count, torch version, GPU
name) so that a run does not pay for it again. Fast bf16 matmuls do not make every model's step faster:
autocast casts the weights each step, and the softmax over the vocabulary, norms and the optimizer stay in
fp32, so a small model's step can be slower in bf16. Where the matmuls say bf16 is fast, a few training
steps of the model itself, in both precisions, decide (cached per model and batch shape).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from lmladder.atomic import atomic_path
from lmladder.model.model import span_corruption_lengths

log = logging.getLogger(__name__)

CACHE_ENV = "LMLADDER_CACHE_DIR"
CACHE_FILE = "matmul_probe.json"
# bf16-mixed on a CPU when its bf16 matmuls run at least this much faster than fp32 ones. A training step
# gains less than its matmuls: autocast casts the weights every step, and softmax, norms and the optimizer
# stay in fp32. benchmarks/bench_time_to_quality.py shows the step speed-up the choice brings.
CPU_BF16_MIN_SPEEDUP = 2.0
PROBE_SIZE = 1024
PROBE_SECONDS = 0.5
REPEATS = 5
# bf16-mixed for a model when its training step measured at least this much faster than in fp32: a
# smaller margin is within the noise of a few steps.
STEP_MIN_SPEEDUP = 1.05


def measure_matmul_peak(
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, size: int = PROBE_SIZE, seconds: float = PROBE_SECONDS
) -> float:
    """Achievable FLOP/s of a square matmul on ``device`` in ``dtype``: the best of five timings of
    ``seconds / 5`` each, so that a moment of load from elsewhere is not what gets cached."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    synchronize = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    a @ b  # warm-up
    synchronize()
    best = 0.0
    for _ in range(REPEATS):
        runs, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / REPEATS:
            a @ b
            runs += 1
        synchronize()
        best = max(best, 2 * size**3 * runs / (time.perf_counter() - start))
    return best


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


def cached(key: str, measure, path: Path | None = None) -> dict:
    """``measure()`` (a dict of figures) the first time ``key`` is asked for on this machine, the cached
    figures after. A cache that cannot be read or written is measured around (and said so in the log),
    never an error. Delete the file to measure again (after a hardware change, or a probe taken under load)."""
    path = path or cache_path()
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError:
        entries = {}
    except (OSError, ValueError) as error:
        log.warning("ignoring the probe cache %s (%s); measuring again", path, error)
        entries = {}
    entries = entries if isinstance(entries, dict) else {}
    if isinstance(entries.get(key), dict):
        return entries[key]
    figures = measure()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary:
            temporary.write_text(json.dumps({**entries, key: figures}, indent=1))
    except OSError as error:
        log.warning("could not cache the probe in %s (%s); the next run measures again", path, error)
    return figures


def matmul_probe(device: str = "cpu", path: Path | None = None) -> dict:
    """``{"fp32_flops", "bf16_flops", "machine"}`` for ``device`` ("cpu" or "cuda"), measured on the first
    call on this machine and read from the cache (``cached``) after."""
    key = machine_key(device)

    def measure() -> dict:
        with torch.random.fork_rng(devices=[]):  # random matrices, without moving the run's random stream
            figures = {"fp32_flops": measure_matmul_peak(device, torch.float32), "bf16_flops": measure_matmul_peak(device, torch.bfloat16)}
        log.info(
            "measured %s matmuls: fp32 %.0f GFLOP/s, bf16 %.0f GFLOP/s", device, figures["fp32_flops"] / 1e9, figures["bf16_flops"] / 1e9
        )
        return figures

    return {**cached(key, measure, path), "machine": key}


def step_probe(model: torch.nn.Module, batch_size: int, block_size: int, path: Path | None = None, steps: int = 3) -> dict:
    """``{"fp32_step_s", "bf16_step_s"}``: the median time of a forward and backward pass of ``model``
    (any architecture) on one batch of random tokens, in fp32 and under bf16 autocast, on the CPU. Cached
    per machine, model config and batch shape. A copy of the model runs, under a forked RNG: the model to
    train and the run's random streams are left as they were."""
    config = json.dumps(model.config.to_dict(), sort_keys=True)
    key = f"step-{machine_key('cpu')}-{hashlib.sha256(config.encode()).hexdigest()[:12]}-{batch_size}x{block_size}"

    def measure() -> dict:
        probe = copy.deepcopy(model).train()
        times = {}
        with torch.random.fork_rng(devices=[]):
            tokens = torch.randint(0, model.config.vocab_size, (batch_size, block_size))
            inputs = (tokens, tokens)  # a decoder's or encoder's (inputs, targets)
            if model.config.architecture == "encoder-decoder":  # the shapes span corruption makes of the window
                encoder_length, decoder_length = span_corruption_lengths(block_size)[:2]
                inputs = (tokens[:, :encoder_length], tokens[:, :decoder_length], tokens[:, :decoder_length])
            for name, bf16 in (("fp32_step_s", False), ("bf16_step_s", True)):
                seconds = []
                for _ in range(steps + 1):  # the first is a warm-up
                    start = time.perf_counter()
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                        loss = probe(*inputs)[1]
                    loss.backward()
                    seconds.append(time.perf_counter() - start)
                    probe.zero_grad(set_to_none=True)
                times[name] = statistics.median(seconds[1:])
        log.info(
            "measured a training step on the CPU: fp32 %.0f ms, bf16 autocast %.0f ms",
            times["fp32_step_s"] * 1e3,
            times["bf16_step_s"] * 1e3,
        )
        return times

    return cached(key, measure, path)


def cpu_prefers_bf16(probe: dict) -> bool:
    """Whether this CPU's bf16 matmuls are fast (AMX, AVX512-BF16), from the matmul probe."""
    return probe["bf16_flops"] >= CPU_BF16_MIN_SPEEDUP * probe["fp32_flops"]


def step_prefers_bf16(step: dict) -> bool:
    """Whether a model's training step measured faster under bf16 autocast, from the step probe."""
    return step["fp32_step_s"] >= STEP_MIN_SPEEDUP * step["bf16_step_s"]
