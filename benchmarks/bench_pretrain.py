"""Pretraining speed against a plain PyTorch loop, MFU, and what the default preset learns.

    .venv/bin/python benchmarks/bench_pretrain.py [--steps 60] [--skip-full]

1. The default preset (conf/base/parameters_pretraining.yml), the same data windows and the same
   number of steps through (a) lmladder's Lightning path (``training.pretrain``) and (b) a minimal
   loop: forward, backward, AdamW step. Prints tokens/s of each and the ratio (aim >= 0.9), the
   measured matmul peak of this CPU and the MFU each implies. The first steps are warm-up and not timed.
2. Trains the default preset with its default parameters and prints the best validation loss
   against the unigram entropy of the validation tokens (what a model ignoring context gets).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
import yaml
from torch.utils.data import DataLoader

from lmladder.corpus.splits import split_corpus
from lmladder.corpus.stdlib_docs import build_stdlib_corpus
from lmladder.corpus.tokenizer import SPECIAL_TOKENS, train_bpe_tokenizer
from lmladder.model import Transformer, flops_per_token
from lmladder.training.config import build_model_config, build_optimizer_and_schedule
from lmladder.training.data import RandomWindows
from lmladder.training.hardware import measure_matmul_peak
from lmladder.training.pretrain import pretrain

PARAMS = Path(__file__).resolve().parents[1] / "conf" / "base" / "parameters_pretraining.yml"
WARMUP_STEPS = 10


class StepTimer(pl.Callback):
    def __init__(self, skip: int):
        self.skip, self.start, self.end = skip, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.skip:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.end = time.perf_counter()


def token_arrays(vocab_size: int) -> tuple[np.ndarray, np.ndarray, float]:
    docs = build_stdlib_corpus()
    train_docs, val_docs = split_corpus(docs, 0.05, seed=42)
    tokenizer = train_bpe_tokenizer(train_docs["text"], vocab_size)
    eot = tokenizer.token_to_id(SPECIAL_TOKENS["eot"])

    def encode(texts):
        return np.concatenate([np.array(e.ids + [eot], dtype=np.uint16) for e in tokenizer.encode_batch(list(texts))])

    train, val = encode(train_docs["text"]), encode(val_docs["text"])
    bytes_per_token = sum(len(t.encode()) for t in train_docs["text"]) / len(train)
    return train, val, bytes_per_token


def plain_loop(model: Transformer, windows: RandomWindows, batch_size: int, steps: int, lr: float) -> float:
    """Tokens/s of the simplest correct training loop on the same model and windows."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    loader = iter(DataLoader(windows, batch_size=batch_size, shuffle=False, drop_last=True))
    model.train()
    for step in range(steps):
        if step == WARMUP_STEPS:
            start = time.perf_counter()
        inputs, targets = next(loader)
        _, loss = model(inputs, targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return (steps - WARMUP_STEPS) * batch_size * windows.block_size / (time.perf_counter() - start)


def unigram_entropy(tokens: np.ndarray) -> float:
    counts = np.bincount(tokens.astype(np.int64))
    p = counts[counts > 0] / len(tokens)
    return float(-(p * np.log(p)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--skip-full", action="store_true", help="skip part 2 (the full default training run)")
    parser.add_argument("--vocab-size", type=int, default=4096)
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)

    params = yaml.safe_load(PARAMS.read_text())["pretraining"]
    train, val, bytes_per_token = token_arrays(args.vocab_size)
    config = build_model_config(params["model"], vocab_size=args.vocab_size)
    block, batch = params["data"]["block_size"], params["data"]["batch_size"]
    special_ids = {role: i for i, role in enumerate(SPECIAL_TOKENS)}
    peak = measure_matmul_peak("cpu")
    model_flops = flops_per_token(config, block)

    def ours(trainer_overrides: dict, steps_dir: Path, extra=None):
        pl.seed_everything(0, verbose=False)
        optimizer, lr_schedule = build_optimizer_and_schedule(params, "pretraining")
        return pretrain(
            Transformer(config),
            train,
            val,
            optimizer=optimizer,
            lr_schedule=lr_schedule,
            data={**params["data"], "seed": 0},
            trainer={**params["trainer"], "precision": "32-true", "accelerator": "cpu", **trainer_overrides},
            bytes_per_token=bytes_per_token,
            special_ids=special_ids,
            checkpoint_dir=steps_dir,
            peak_flops=peak,
            extra_callbacks=extra,
        )

    with tempfile.TemporaryDirectory() as tmp:
        timer = StepTimer(WARMUP_STEPS)
        ours({"max_steps": args.steps, "val_check_interval": args.steps}, Path(tmp) / "a", [timer])
        ours_tps = (args.steps - WARMUP_STEPS) * batch * block / (timer.end - timer.start)
        pl.seed_everything(0, verbose=False)
        plain_tps = plain_loop(
            Transformer(config), RandomWindows(train, block, args.steps * batch, 0), batch, args.steps, params["optimizer"]["lr"]
        )

    print(
        f"model: preset {params['model']['preset']}, {model_flops:,} FLOPs/token, block {block}, batch {batch}, {args.steps} steps ({WARMUP_STEPS} untimed)"
    )
    print(f"CPU matmul peak (fp32, 1024^3)            {peak / 1e9:8.1f} GFLOP/s  ({torch.get_num_threads()} threads)")
    print(f"plain PyTorch loop                        {plain_tps:8.0f} tokens/s  MFU {plain_tps * model_flops / peak:.2f}")
    print(f"lmladder pretrain (Lightning)             {ours_tps:8.0f} tokens/s  MFU {ours_tps * model_flops / peak:.2f}")
    print(f"ratio lmladder / plain                    {ours_tps / plain_tps:8.2f}  (aim >= 0.9)")

    if args.skip_full:
        return
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = ours({}, Path(tmp) / "full")
        seconds = time.perf_counter() - start
    entropy = unigram_entropy(val)
    print(f"default preset, {result.global_step} steps in {seconds:.0f} s:")
    print(
        f"  best val loss                           {result.best_val_loss:8.3f} nats/token  ({result.best_val_loss / np.log(2) / bytes_per_token:.3f} bits/byte)"
    )
    print(f"  unigram entropy of val tokens           {entropy:8.3f} nats/token  ({entropy / np.log(2) / bytes_per_token:.3f} bits/byte)")


if __name__ == "__main__":
    main()
