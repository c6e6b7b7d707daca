"""Pretraining tokens/s in one process against two DDP processes on this machine's CPUs (gloo).

    .venv/bin/python benchmarks/bench_ddp.py [--preset micro] [--steps 60] [--block 128] [--batch 16]

The same model, windows and global batch through ``lmladder.training.pretrain``: one process (batch B,
torch's default intra-op threads: all cores), two ranks (batch B/2 each; Lightning gives each rank
cores / 2 threads) started from inside ``fit`` as under ``kedro run`` (``lmladder.training.distributed``),
and one process on one thread for reference. Prints tokens/s of each (the last ``log_every`` steps, validation
excluded, as ``ThroughputMonitor`` logs it), the wall time of each ``pretrain`` call (process start and
gloo set-up included), the ratio, and the final validation loss of each.

On a CPU, two ranks share the cores one process would have used: a gain comes only where one process
does not keep all cores busy (small matrices, Python overhead), and the gradient all-reduce is a cost.
GPUs are another matter: ``benchmarks/bench_cuda.py`` is the script for a lent GPU.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

from lmladder.model import Transformer, model_config
from lmladder.training.optim import warmup_cosine_schedule
from lmladder.training.pretrain import pretrain

SPECIAL_IDS = {"eot": 0, "pad": 1, "cls": 2, "mask": 3}
VOCAB = 512


def tokens(length: int, seed: int) -> np.ndarray:
    """A text-like stream: a random walk over the vocabulary, so the model has something to learn."""
    steps = np.random.default_rng(seed).integers(-3, 4, size=length)
    return (np.cumsum(steps) % (VOCAB - 4) + 4).astype(np.uint16)


def run(args, processes: int, folder: Path):
    pl.seed_everything(0)
    model = Transformer(model_config(args.preset, vocab_size=VOCAB, max_positions=args.block))
    start = time.perf_counter()
    result = pretrain(
        model,
        tokens(200_000, 1),
        tokens(20_000, 2),
        optimizer=functools.partial(torch.optim.AdamW, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1),
        lr_schedule=functools.partial(warmup_cosine_schedule, warmup_steps=5, min_lr_ratio=0.1),
        data={"block_size": args.block, "batch_size": args.batch // processes, "val_windows": 16, "seed": 0},
        trainer={
            "max_steps": args.steps,
            "val_check_interval": args.steps,
            "gradient_clip_val": 1.0,
            "precision": "32-true",
            "accelerator": "cpu",
            "devices": processes,
            "strategy": "ddp" if processes > 1 else "auto",
            "log_every_n_steps": args.log_every,
        },
        bytes_per_token=1.0,
        special_ids=SPECIAL_IDS,
        checkpoint_dir=folder / f"ranks{processes}",
        peak_flops=1e11,
    )
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="micro")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16, help="global batch (windows per step, all ranks)")
    parser.add_argument("--log-every", type=int, default=20, help="steps per tokens/s window")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(
        f"cpu cores {os.cpu_count()}, torch threads {torch.get_num_threads()}, preset {args.preset}, block {args.block}, "
        f"global batch {args.batch}, {args.steps} steps"
    )
    threads = torch.get_num_threads()
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        # A throwaway first run: the first fit in a process pays one-off set-up that would favour what runs second.
        run(argparse.Namespace(**{**vars(args), "steps": 5}), 1, Path(folder) / "warmup")
        rows[f"1 process, {threads} threads"] = run(args, 1, Path(folder) / "one")
        rows[f"2 processes, {max(1, threads // 2)} thread(s) each"] = run(args, 2, Path(folder) / "two")
        torch.set_num_threads(1)  # what one process gets from the same per-process threads as a rank
        rows["1 process, 1 thread"] = run(args, 1, Path(folder) / "one-thread")
        torch.set_num_threads(threads)
    for name, (result, wall) in rows.items():
        print(
            f"{name}: {result.tokens_per_second:,.0f} tokens/s, pretrain() {wall:.1f} s, "
            f"final val loss {result.history.val[-1][1]:.4f}, {result.global_step} steps"
        )
    single, ddp = rows[f"1 process, {threads} threads"][0], rows[f"2 processes, {max(1, threads // 2)} thread(s) each"][0]
    print(f"ratio 2 processes / 1 process: {ddp.tokens_per_second / single.tokens_per_second:.2f}")


if __name__ == "__main__":
    main()
