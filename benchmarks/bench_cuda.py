"""The CUDA path of pretraining: bf16 mixed precision, DDP configuration, throughput and MFU.

    .venv/bin/python benchmarks/bench_cuda.py [--preset small] [--steps 60]

Run on a machine with an NVIDIA GPU (exits with a message otherwise). Trains the given preset on
random tokens through ``training.pretrain`` with ``precision: auto`` (which must resolve to
bf16-mixed) and prints tokens/s and MFU against a measured bf16 matmul peak, and the world size
Lightning would use for ``devices: auto`` with ``strategy: ddp``.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile

import numpy as np
import pytorch_lightning as pl
import torch

from lmladder.model import Transformer, flops_per_token, model_config
from lmladder.training.config import resolve_precision
from lmladder.training.hardware import measure_matmul_peak
from lmladder.training.optim import warmup_cosine_schedule
from lmladder.training.pretrain import pretrain, world_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--block-size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark checks the GPU path only")

    precision = resolve_precision("auto", "gpu")
    print(f"device {torch.cuda.get_device_name()}, {torch.cuda.device_count()} visible; precision auto -> {precision}")
    print(f"world size for devices=auto, strategy=ddp: {world_size({'accelerator': 'gpu', 'devices': 'auto'})}")
    vocab = 32768
    config = model_config(args.preset, vocab_size=vocab, max_positions=args.block_size)
    rng = np.random.default_rng(0)
    train = rng.integers(4, vocab, 5_000_000).astype(np.uint16)
    val = rng.integers(4, vocab, 200_000).astype(np.uint16)
    dtype = torch.bfloat16 if precision.startswith("bf16") else torch.float32
    peak = measure_matmul_peak("cuda", dtype, size=8192)
    with tempfile.TemporaryDirectory() as tmp:
        pl.seed_everything(0, verbose=False)
        result = pretrain(
            Transformer(config),
            train,
            val,
            optimizer=functools.partial(torch.optim.AdamW, lr=3e-4, fused=True, weight_decay=0.1),
            lr_schedule=functools.partial(warmup_cosine_schedule, warmup_steps=10),
            data={"block_size": args.block_size, "batch_size": args.batch_size, "val_windows": 8, "seed": 0},
            trainer={
                "max_steps": args.steps,
                "val_check_interval": args.steps,
                "precision": precision,
                "accelerator": "gpu",
                "devices": 1,
                "log_every_n_steps": 10,
            },
            bytes_per_token=4.0,
            special_ids={"eot": 0, "pad": 1, "cls": 2, "mask": 3},
            checkpoint_dir=tmp,
            peak_flops=peak,
        )
    model_flops = flops_per_token(config, args.block_size)
    print(f"preset {args.preset}: {model_flops:,} FLOPs/token; {peak / 1e12:.1f} TFLOP/s measured {dtype} matmul peak")
    print(f"tokens/s {result.tokens_per_second:,.0f}  MFU {result.tokens_per_second * model_flops / peak:.2f}")


if __name__ == "__main__":
    main()
