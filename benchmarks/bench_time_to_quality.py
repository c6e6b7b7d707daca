"""Time to quality: lmladder's pretraining against a plain nanoGPT-style loop, on the same text, for the
same wall-clock time, both scored in bits per byte on the same held-out text.

    .venv/bin/python benchmarks/bench_time_to_quality.py [--text wikitext2|embedded|both] [--steps 2000]
    .venv/bin/python benchmarks/bench_time_to_quality.py --trials [--text ...] [--seeds 2]

In one process, per text:
1. the plain loop (written here, one file's worth of nanoGPT: GPT-2 blocks, bytes as tokens, AdamW,
   lr 1e-3 -> 1e-4 cosine, warmup 100; nanoGPT's CPU shakespeare-char config: 4 layers, 4 heads, width
   128, block 64, batch 12, 2,000 steps) trains; its training time is the budget;
2. the project's ``pretrain`` at the plain loop's config (same model shape, bytes, steps and optimizer;
   precision auto; its checkpoints, validation and MLflow logging included), end to end;
3. the project's default recipe (conf/base: its tokenizer size, model, optimizer, schedule, batch) for
   the budget less the project's start-up and exit measured in 2 (``TimeBudget``: training stops at the
   budget and the cosine follows elapsed time).

Prints wall time, start-up to first step and last step to exit, median step time, tokens/s, MFU against
the measured matmul peak of the precision in use, held-out bits/byte and the ratios the project aims at:
wall time <= 1.1x the loop's, step throughput >= 1.05x, bits/byte at equal wall-clock <= 0.85x. Then the
default recipe in both precisions at equal steps, two seeds each (speed, MFU against each precision's
measured peak, held-out bits/byte), and what ``precision: auto`` picks here for a small and a large preset.

``--trials`` instead trains each recipe variant of ``TRIALS`` for ``--budget`` seconds (``TimeBudget``:
the cosine follows elapsed time, so every variant ends its schedule at the budget) on each text, with
``--seeds`` seeds, and records every trial as an MLflow run (experiment ``recipe_trials``): the table
behind docs/recipe.md.

Held-out text: WikiText-2's test split (trained on its valid split, as ../shared/data's notes advise);
for the embedded corpus, the validation documents of the project's split. The first ``--held-out-bytes``
of it are scored, in windows of each model's block size.
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

from lmladder.corpus.splits import split_corpus
from lmladder.corpus.stdlib_docs import build_stdlib_corpus
from lmladder.corpus.tokenizer import SPECIAL_TOKENS, special_token_id, train_bpe_tokenizer
from lmladder.model import Transformer, flops_per_token
from lmladder.tracking.lightning import active_run_logger
from lmladder.training.config import build_model_config, build_optimizer_and_schedule, choose_precision, device_peak_flops
from lmladder.training.hardware import cpu_prefers_bf16, matmul_probe
from lmladder.training.optim import weight_decay_groups
from lmladder.training.pretrain import pretrain

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf" / "base"
WIKITEXT = ROOT.parent / "shared" / "data" / "wikitext-2"
PLAIN = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block": 64, "batch": 12, "steps": 2000, "lr": 1e-3, "min_lr": 1e-4, "warmup": 100}
VOCAB_BYTES = 256


# --- the plain loop: nanoGPT's model.py and train.py, cut to what this config uses -------------------


class PlainBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width, bias=False), nn.LayerNorm(width, bias=False)
        self.qkv, self.proj = nn.Linear(width, 3 * width, bias=False), nn.Linear(width, width, bias=False)
        self.up, self.down = nn.Linear(width, 4 * width, bias=False), nn.Linear(4 * width, width, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in self.qkv(self.ln1(x)).split(c, dim=2))
        x = x + self.proj(F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class PlainGPT(nn.Module):
    def __init__(self, vocab: int, block: int, layers: int, heads: int, width: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(block, width)
        self.blocks = nn.ModuleList(PlainBlock(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width, bias=False)
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "down.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


class PlainLoop:
    """nanoGPT's train.py loop, one ``step()`` at a time: random windows, AdamW (decay on matrices), warmup +
    cosine, clipping. ``model``/``optimizer``/``loss`` default to the plain ones; the interleaved throughput
    measurement also runs the project's model and optimizer through it (the project without Lightning)."""

    def __init__(self, tokens: np.ndarray, seed: int, model=None, optimizer=None, loss=None):
        torch.manual_seed(seed)
        c = PLAIN
        self.model = model or PlainGPT(VOCAB_BYTES, c["block"], c["n_layer"], c["n_head"], c["n_embd"])
        if optimizer is None:
            decay = [p for p in self.model.parameters() if p.dim() >= 2]
            rest = [p for p in self.model.parameters() if p.dim() < 2]
            optimizer = torch.optim.AdamW(
                [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=c["lr"], betas=(0.9, 0.99)
            )
        self.optimizer = optimizer
        self.loss = loss or (lambda model, x, y: F.cross_entropy(model(x).view(-1, VOCAB_BYTES), y.view(-1)))
        self.data = torch.from_numpy(tokens.astype(np.int64))
        self.generator = torch.Generator().manual_seed(seed)
        self.step_index = 0

    def step(self) -> None:
        c, step = PLAIN, self.step_index
        if step < c["warmup"]:
            lr = c["lr"] * (step + 1) / c["warmup"]
        else:
            progress = min(1.0, (step - c["warmup"]) / (c["steps"] - c["warmup"]))
            lr = c["min_lr"] + 0.5 * (1 + math.cos(math.pi * progress)) * (c["lr"] - c["min_lr"])
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        starts = torch.randint(len(self.data) - c["block"] - 1, (c["batch"],), generator=self.generator)
        x = torch.stack([self.data[i : i + c["block"]] for i in starts])
        y = torch.stack([self.data[i + 1 : i + 1 + c["block"]] for i in starts])
        self.loss(self.model, x, y).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step_index += 1


def plain_loop(tokens: np.ndarray, seed: int) -> dict:
    """The plain loop for its config's steps, timed."""
    start = time.perf_counter()
    loop = PlainLoop(tokens, seed)
    step_times = []
    first_step_at = None
    for _ in range(PLAIN["steps"]):
        tick = time.perf_counter()
        first_step_at = first_step_at or tick
        loop.step()
        step_times.append(time.perf_counter() - tick)
    end = time.perf_counter()
    return {
        "model": loop.model,
        "wall": end - start,
        "startup": first_step_at - start,
        "exit": 0.0,
        "step_times": step_times,
        "steps": PLAIN["steps"],
    }


# --- scoring ------------------------------------------------------------------------------------------


@torch.no_grad()
def bits_per_byte(logits_of, tokens: np.ndarray, block: int, n_bytes: int) -> float:
    """Nats of every token after the first, in consecutive windows of ``block``, per byte of the text."""
    data = torch.from_numpy(tokens.astype(np.int64))
    total = 0.0
    for start in range(0, len(data) - 1, block):
        x = data[start : start + block][None]
        y = data[start + 1 : start + 1 + block][None]
        x = x[:, : y.shape[1]]
        total += F.cross_entropy(logits_of(x).float().reshape(-1, logits_of.vocab), y.reshape(-1), reduction="sum").item()
    return total / math.log(2) / n_bytes


class Scorer:
    def __init__(self, model: nn.Module, vocab: int, project: bool):
        self.model, self.vocab, self.project = model.eval(), vocab, project

    def __call__(self, x):
        return self.model(x)[0] if self.project else self.model(x)


# --- the texts ---------------------------------------------------------------------------------------


def load_text(name: str) -> tuple[list[str], str]:
    """(training documents, held-out text)."""
    if name == "wikitext2":
        train = (WIKITEXT / "valid.txt").read_text(encoding="utf-8")
        held_out = (WIKITEXT / "test.txt").read_text(encoding="utf-8")
        return [part for part in train.split("\n \n") if part.strip()], held_out
    docs = build_stdlib_corpus()
    train_docs, val_docs = split_corpus(docs, 0.05, seed=42)
    return list(train_docs["text"]), "\n\n".join(val_docs["text"])


def byte_tokens(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.uint16)


# --- the project's runs --------------------------------------------------------------------------------


class StepClock(pl.Callback):
    """Start-up (call to first step), each step's time, and last step to exit."""

    def __init__(self):
        self.first = self.last = None
        self.step_times: list[float] = []
        self._tick = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._tick = time.perf_counter()
        self.first = self.first or self._tick

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.last = time.perf_counter()
        self.step_times.append(self.last - self._tick)


def pretraining_params() -> dict:
    return yaml.safe_load((CONF / "parameters_pretraining.yml").read_text())["pretraining"]


def project_run(
    params: dict,
    train: np.ndarray,
    val: np.ndarray,
    vocab: int,
    bytes_per_token: float,
    special_ids: dict,
    seed: int,
    log_to_mlflow: bool = True,
    budget: float | None = None,
    callbacks: list[pl.Callback] | None = None,
) -> dict:
    """``lmladder.training.pretrain`` as the pretraining node calls it, timed from the model's construction
    to the return, with its checkpoints and, when ``log_to_mlflow``, its MLflow logging. With ``budget``
    (seconds), training stops after that long (counted from the first step, validation included) and the
    cosine schedule runs on elapsed time instead of steps (``TimeBudget``): equal wall-clock, exactly."""
    pl.seed_everything(seed, verbose=False)
    start = time.perf_counter()
    trainer = {**params["trainer"], "accelerator": "cpu"}
    config = build_model_config(params["model"], vocab_size=vocab)
    model = Transformer(config)
    trainer["precision"] = choose_precision(trainer["precision"], "cpu", model, params["data"]["batch_size"], params["data"]["block_size"])[
        0
    ]
    optimizer, lr_schedule = build_optimizer_and_schedule(params, "pretraining")
    clock = StepClock()
    callbacks = [clock, *(callbacks or [])]
    if budget is not None:
        timer = TimeBudget(budget)
        callbacks.append(timer)
        lr_schedule = timer.schedule(params["lr_schedule"]["warmup_steps"], params["lr_schedule"]["min_lr_ratio"])
        trainer["max_steps"] = 10**6  # the budget stops training
    with (
        tempfile.TemporaryDirectory() as checkpoints,
        mlflow.start_run(nested=mlflow.active_run() is not None) if log_to_mlflow else _nothing(),
    ):
        result = pretrain(
            model,
            train,
            val,
            optimizer=optimizer,
            lr_schedule=lr_schedule,
            data={**params["data"], "seed": seed},
            trainer=trainer,
            bytes_per_token=bytes_per_token,
            special_ids=special_ids,
            checkpoint_dir=checkpoints,
            logger=active_run_logger() if log_to_mlflow else None,
            peak_flops=params.get("peak_flops"),
            extra_callbacks=callbacks,
        )
        end = time.perf_counter()
    return {
        "model": result.model,
        "config": config,
        "precision": trainer["precision"],
        "wall": end - start,
        "startup": clock.first - start,
        "exit": end - clock.last,
        "step_times": clock.step_times,
        "steps": result.global_step,
        "tokens_per_step": result.tokens_per_step,
    }


class TimeBudget(pl.Callback):
    """Stops training ``seconds`` after its first step, and drives a warmup + cosine schedule whose cosine
    follows the elapsed share of the budget rather than the step count: every recipe trains for the same
    time and ends its schedule at the floor, whatever its step time."""

    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, None

    def fraction(self) -> float:
        return 0.0 if self.start is None else min(1.0, (time.perf_counter() - self.start) / self.seconds)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.start = self.start or time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.fraction() >= 1.0:
            trainer.should_stop = True

    def schedule(self, warmup_steps: int, min_lr_ratio: float):
        def factor(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / warmup_steps
            return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * self.fraction()))

        return lambda optimizer, total_steps: torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class PlainStepsBetween(pl.Callback):
    """Step times free of the machine's drift (its speed changes by more than 5% within minutes here): after
    each of the project's steps, one step of each ``PlainLoop``, each timed, so every pair of steps sees the
    same machine. The project's step is everything between the end of the last loop step and the end of its
    own step: data, Lightning's hooks, forward, backward, clipping, optimizer, the project's callbacks. Steps
    that include a validation pass are left out."""

    def __init__(self, loops: dict[str, PlainLoop]):
        self.loops = loops
        self.times: dict[str, list[float]] = {"lmladder": [], **{name: [] for name in loops}}
        self._since = None
        self._validated = False

    def on_validation_end(self, trainer, pl_module):
        self._validated = True

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        now = time.perf_counter()
        if self._since is not None and not self._validated:
            self.times["lmladder"].append(now - self._since)
            for name, loop in self.loops.items():
                tick = time.perf_counter()
                loop.step()
                self.times[name].append(time.perf_counter() - tick)
        self._validated = False
        self._since = time.perf_counter()


def interleaved_step_times(train: np.ndarray, val: np.ndarray, steps: int, seed: int) -> dict[str, list[float]]:
    """The project's pretraining at the plain loop's config, with one step of the plain loop and one of the
    project's own model and optimizer in the plain loop (no Lightning) after each of its steps."""
    params = plain_config_params(steps)
    vocab = VOCAB_BYTES + len(SPECIAL_TOKENS)
    model = Transformer(build_model_config(params["model"], vocab_size=vocab))
    optimizer = build_optimizer_and_schedule(params, "pretraining")[0](weight_decay_groups(model))
    loops = {
        "plain": PlainLoop(train, seed),
        "bare": PlainLoop(train, seed, model, optimizer, loss=lambda model, x, y: model(x, y)[1]),
    }
    between = PlainStepsBetween(loops)
    byte_ids = {role: VOCAB_BYTES + i for i, role in enumerate(SPECIAL_TOKENS)}
    project_run(params, train, val, vocab, 1.0, byte_ids, seed, callbacks=[between])
    return between.times


def print_interleaved(times: dict[str, list[float]]) -> float:
    """Median step times of the interleaved run and the ratio the project aims at (>= 1.05)."""
    median = {name: statistics.median(values[10:]) for name, values in times.items()}
    pairs = sorted(plain / ours for plain, ours in zip(times["plain"][10:], times["lmladder"][10:], strict=True))
    quartiles = pairs[len(pairs) // 4], pairs[3 * len(pairs) // 4]
    ratio = median["plain"] / median["lmladder"]
    print(f"interleaved steps ({len(pairs)} of each, one of each in turn), median ms per step:")
    print(f"  plain loop                                          {median['plain'] * 1e3:7.2f}")
    print(
        f"  lmladder's model and optimizer in the plain loop     {median['bare'] * 1e3:7.2f}  "
        f"(loop / this {median['plain'] / median['bare']:.3f}: the project without Lightning)"
    )
    print(
        f"  lmladder pretrain (Lightning)                        {median['lmladder'] * 1e3:7.2f}  "
        f"(Lightning's per-step work: {(median['lmladder'] - median['bare']) * 1e3:+.2f} ms)"
    )
    print(
        f"step throughput, plain config: lmladder / loop      {ratio:.2f}  (aim >= 1.05; interleaved, "
        f"per-pair ratios' quartiles {quartiles[0]:.2f}-{quartiles[1]:.2f})"
    )
    return ratio


def plain_config_params(steps: int) -> dict:
    """The project's parameters set to the plain loop's model (the GPT-2-style recipe of conf/gpt2, without
    biases as nanoGPT), data and optimizer (AdamW; fused, as the project's default)."""
    params = copy.deepcopy(pretraining_params())
    c = PLAIN
    gpt2 = yaml.safe_load((ROOT / "conf" / "gpt2" / "parameters.yml").read_text())["pretraining"]["model"]
    params["model"].update(gpt2, preset=f"{c['n_layer']}x{c['n_embd']}", max_positions=c["block"], bias=False)
    params["optimizer"] = {
        "_target_": "torch.optim.AdamW",
        "_partial_": True,
        "lr": c["lr"],
        "betas": [0.9, 0.99],
        "weight_decay": 0.1,
        "fused": True,
    }
    params["lr_schedule"].update(warmup_steps=c["warmup"], min_lr_ratio=c["min_lr"] / c["lr"])
    params["data"].update(block_size=c["block"], batch_size=c["batch"], val_windows=20)
    params["trainer"].update(max_steps=steps, val_check_interval=250)  # nanoGPT's eval_interval
    return params


def recipe_tokens(train_docs: list[str], held_out: str, vocab_size: int):
    tokenizer = train_bpe_tokenizer(train_docs, vocab_size)
    eot = tokenizer.token_to_id(SPECIAL_TOKENS["eot"])
    encodings = tokenizer.encode_batch(train_docs)
    train = np.concatenate([np.array(e.ids + [eot], dtype=np.uint16) for e in encodings])
    bytes_per_token = sum(len(t.encode("utf-8")) for t in train_docs) / len(train)
    held = np.array(tokenizer.encode(held_out).ids, dtype=np.uint16)
    special_ids = {role: special_token_id(tokenizer, role) for role in SPECIAL_TOKENS}
    return train, held, bytes_per_token, special_ids


def summary_row(name: str, run: dict, tokens_per_step: int, model_flops: int, peak: float, bpb: float) -> str:
    median = statistics.median(run["step_times"][10:] or run["step_times"])
    tps = tokens_per_step / median
    return (
        f"{name:<44} {run['steps']:>6} {run['wall']:>7.1f} {run['startup']:>8.2f} {run['exit']:>7.2f} {median * 1e3:>8.1f} "
        f"{tps:>9.0f} {tps * model_flops / peak:>6.2f} {bpb:>8.3f}"
    )


def compare(text: str, seed: int, held_out_bytes: int, steps: int, precision_steps: int, interleaved_steps: int) -> None:
    train_docs, held_out = load_text(text)
    held_out = held_out.encode("utf-8")[:held_out_bytes].decode("utf-8", errors="ignore")
    n_bytes = len(held_out.encode("utf-8"))
    train_text = "\n\n".join(train_docs)
    train_bytes = byte_tokens(train_text)
    split = int(0.95 * len(train_bytes))
    probe = matmul_probe("cpu")
    print(f"\n== {text}: {len(train_bytes) / 1e6:.2f} MB of training text, {n_bytes:,} held-out bytes ==")
    print(
        f"CPU matmul probe ({torch.get_num_threads()} threads): fp32 {probe['fp32_flops'] / 1e9:.0f} GFLOP/s, bf16 {probe['bf16_flops'] / 1e9:.0f} GFLOP/s; bf16 {'fast' if cpu_prefers_bf16(probe) else 'not fast'} here"
    )

    PLAIN["steps"] = steps
    plain = plain_loop(train_bytes, seed)
    budget = plain["wall"]
    plain_flops = (
        6 * sum(p.numel() for p in plain["model"].blocks.parameters())
        + 6 * VOCAB_BYTES * PLAIN["n_embd"]
        + 12 * PLAIN["n_layer"] * PLAIN["n_embd"] * PLAIN["block"]
    )
    plain_bpb = bits_per_byte(Scorer(plain["model"], VOCAB_BYTES, False), byte_tokens(held_out), PLAIN["block"], n_bytes)

    same = plain_config_params(steps)
    byte_ids = {role: VOCAB_BYTES + i for i, role in enumerate(SPECIAL_TOKENS)}
    ours_same = project_run(same, train_bytes[:split], train_bytes[split:], VOCAB_BYTES + len(SPECIAL_TOKENS), 1.0, byte_ids, seed)
    same_bpb = bits_per_byte(
        Scorer(ours_same["model"], ours_same["config"].vocab_size, True), byte_tokens(held_out), PLAIN["block"], n_bytes
    )

    vocab = yaml.safe_load((CONF / "parameters_data_processing.yml").read_text())["data_processing"]["tokenizer"]["vocab_size"]
    tick = time.perf_counter()
    train, held, bytes_per_token, special_ids = recipe_tokens(train_docs, held_out, vocab)
    tokenize_seconds = time.perf_counter() - tick
    recipe = pretraining_params()
    val_split = int(0.95 * len(train))
    overhead = ours_same["startup"] + ours_same["exit"]  # the project's start-up and exit, inside the budget too
    ours_recipe = project_run(
        recipe, train[:val_split], train[val_split:], vocab, bytes_per_token, special_ids, seed, budget=budget - overhead
    )
    recipe_bpb = bits_per_byte(Scorer(ours_recipe["model"], vocab, True), held, recipe["data"]["block_size"], n_bytes)

    header = f"{'run':<44} {'steps':>6} {'wall s':>7} {'start s':>8} {'exit s':>7} {'step ms':>8} {'tokens/s':>9} {'MFU':>6} {'bpb':>8}"
    print(header)
    print(summary_row("plain loop (fp32, bytes)", plain, PLAIN["batch"] * PLAIN["block"], plain_flops, probe["fp32_flops"], plain_bpb))
    same_flops = flops_per_token(ours_same["config"], PLAIN["block"])
    print(
        summary_row(
            f"lmladder, plain config ({ours_same['precision']})",
            ours_same,
            ours_same["tokens_per_step"],
            same_flops,
            device_peak_flops(ours_same["precision"], "cpu"),
            same_bpb,
        )
    )
    recipe_flops = flops_per_token(ours_recipe["config"], recipe["data"]["block_size"])
    print(
        summary_row(
            f"lmladder default recipe ({ours_recipe['precision']})",
            ours_recipe,
            ours_recipe["tokens_per_step"],
            recipe_flops,
            device_peak_flops(ours_recipe["precision"], "cpu"),
            recipe_bpb,
        )
    )
    plain_step = statistics.median(plain["step_times"][10:])
    same_step = statistics.median(ours_same["step_times"][10:])
    print(f"(BPE tokenizer for the recipe trained in {tokenize_seconds:.1f} s, not counted)")
    print(f"wall time, plain config: lmladder / loop            {ours_same['wall'] / plain['wall']:.2f}  (aim <= 1.1)")
    print(f"step throughput, plain config, sequential runs: lmladder / loop {plain_step / same_step:.2f}  (machine drift included)")
    print_interleaved(interleaved_step_times(train_bytes[:split], train_bytes[split:], interleaved_steps, seed))
    print(
        f"held-out bpb at equal wall-clock: recipe / loop      {recipe_bpb / plain_bpb:.2f}  (aim <= 0.85; recipe wall {ours_recipe['wall']:.1f} s vs {budget:.1f} s)"
    )

    # Both precisions at equal steps (two seeds each): speed, MFU against each precision's measured peak,
    # and the held-out bits/byte they reach.
    print(f"default recipe, {precision_steps} steps in each precision (seeds {seed}, {seed + 1}):")
    for precision in ("32-true", "bf16-mixed"):
        for run_seed in (seed, seed + 1):
            fixed = copy.deepcopy(recipe)
            fixed["trainer"].update(max_steps=precision_steps, precision=precision)
            run = project_run(
                fixed, train[:val_split], train[val_split:], vocab, bytes_per_token, special_ids, run_seed, log_to_mlflow=False
            )
            median = statistics.median(run["step_times"][10:])
            tps = run["tokens_per_step"] / median
            peak = device_peak_flops(precision, "cpu")
            bpb = bits_per_byte(Scorer(run["model"], vocab, True), held, recipe["data"]["block_size"], n_bytes)
            print(
                f"  {precision:<10} seed {run_seed}: {median * 1e3:6.1f} ms/step  {tps:7.0f} tokens/s  MFU {tps * recipe_flops / peak:.2f} "
                f"(peak {peak / 1e9:.0f} GFLOP/s)  held-out bpb {bpb:.4f}"
            )
    # What precision: auto chooses for a small and a large preset on this CPU (the probes are cached).
    for preset in ("tiny", "base"):
        sized = copy.deepcopy(recipe)
        sized["model"]["preset"] = preset
        model = Transformer(build_model_config(sized["model"], vocab_size=vocab))
        choice, evidence = choose_precision("auto", "cpu", model, recipe["data"]["batch_size"], recipe["data"]["block_size"])
        print(f"precision auto, preset {preset}: {choice}  {evidence}")


# --- recipe trials --------------------------------------------------------------------------------------

GPT2 = {
    "positional": "learned",
    "norm": "layernorm",
    "mlp": "gelu",
    "qk_norm": False,
    "zero_init_projections": False,
    "tie_embeddings": True,
    "bias": True,
}
MODERN = {
    "positional": "rotary",
    "norm": "rmsnorm",
    "mlp": "relu2",
    "qk_norm": True,
    "zero_init_projections": True,
    "tie_embeddings": False,
    "bias": False,
}
MUON = {"_target_": "lmladder.training.optim.MuonAdamW", "muon_lr": 0.02, "muon_momentum": 0.95}
# name -> (model overrides, optimizer overrides, data overrides, tokenizer vocabulary)
TRIALS = {
    "gpt2": (GPT2, {}, {}, None),
    "rotary": ({**GPT2, "positional": "rotary"}, {}, {}, None),
    "rmsnorm_qknorm": ({**GPT2, "norm": "rmsnorm", "qk_norm": True, "bias": False}, {}, {}, None),
    "relu2": ({**GPT2, "mlp": "relu2"}, {}, {}, None),
    "swiglu": ({**GPT2, "mlp": "swiglu"}, {}, {}, None),
    "zero_init": ({**GPT2, "zero_init_projections": True}, {}, {}, None),
    "untied": ({**GPT2, "tie_embeddings": False}, {}, {}, None),
    "modern": (MODERN, {}, {}, None),
    "modern_muon": (MODERN, MUON, {}, None),
    "modern_muon_vocab1024": (MODERN, MUON, {}, 1024),
    "modern_muon_vocab2048": (MODERN, MUON, {}, 2048),
    "modern_muon_lr_x2": (MODERN, {**MUON, "lr": 0.006, "muon_lr": 0.04}, {}, None),
    "modern_muon_batch32": (MODERN, MUON, {"batch_size": 32}, None),
}


def trials(texts: list[str], seeds: int, budget: float, held_out_bytes: int, names: list[str], first_seed: int = 0) -> None:
    mlflow.set_experiment("recipe_trials")
    base_vocab = yaml.safe_load((CONF / "parameters_data_processing.yml").read_text())["data_processing"]["tokenizer"]["vocab_size"]
    print(f"{'trial':<26} {'text':<10} {'seed':>4} {'steps':>6} {'wall s':>7} {'bpb':>7}")
    for text in texts:
        train_docs, held_out = load_text(text)
        held_out = held_out.encode("utf-8")[:held_out_bytes].decode("utf-8", errors="ignore")
        n_bytes = len(held_out.encode("utf-8"))
        tokens = {}
        for name in names:
            model, optimizer, data, vocab = TRIALS[name]
            vocab = vocab or base_vocab
            if vocab not in tokens:
                tokens[vocab] = recipe_tokens(train_docs, held_out, vocab)
            train, held, bytes_per_token, special_ids = tokens[vocab]
            split = int(0.95 * len(train))
            params = pretraining_params()
            params["model"].update(model)
            if optimizer.get("_target_") == MUON["_target_"]:
                params["optimizer"] = {
                    "_target_": MUON["_target_"],
                    "_partial_": True,
                    "lr": 0.003,
                    "betas": [0.9, 0.95],
                    "eps": 1e-8,
                    "weight_decay": 0.0,
                }
            params["optimizer"].update({k: v for k, v in optimizer.items() if k != "_target_"})
            params["data"].update(data)
            for seed in range(first_seed, first_seed + seeds):
                with mlflow.start_run(run_name=f"{name}-{text}-seed{seed}"):
                    mlflow.log_params(
                        {
                            "trial": name,
                            "text": text,
                            "seed": seed,
                            "budget_s": budget,
                            "vocab_size": vocab,
                            **{f"model.{k}": v for k, v in params["model"].items()},
                            **{f"optimizer.{k}": v for k, v in params["optimizer"].items()},
                            **{f"data.{k}": v for k, v in params["data"].items()},
                        }
                    )
                    run = project_run(params, train[:split], train[split:], vocab, bytes_per_token, special_ids, seed, budget=budget)
                    bpb = bits_per_byte(Scorer(run["model"], vocab, True), held, params["data"]["block_size"], n_bytes)
                    mlflow.log_param("max_steps", run["steps"])  # the steps the budget allowed
                    mlflow.log_metrics(
                        {"held_out_bpb": bpb, "wall_s": run["wall"], "precision_bf16": float(run["precision"].startswith("bf16"))}
                    )
                print(f"{name:<26} {text:<10} {seed:>4} {run['steps']:>6} {run['wall']:>7.1f} {bpb:>7.3f}", flush=True)


def trials_table() -> str:
    """The recorded trials (MLflow experiment ``recipe_trials``) as a markdown table: held-out bits/byte
    per trial and text, mean over seeds with the spread (max - min) where there are several."""
    runs = mlflow.search_runs(experiment_names=["recipe_trials"], filter_string="attributes.status = 'FINISHED'")
    if runs.empty:
        return "no finished runs in the MLflow experiment recipe_trials"
    lines = [
        "| trial | text | seeds | steps in the budget | held-out bits/byte (mean) | spread (max - min) | vs gpt2 (means) | vs gpt2 (seed 0) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    grouped = runs.groupby(["params.trial", "params.text"])
    baseline = {text: group["metrics.held_out_bpb"].mean() for (trial, text), group in grouped if trial == "gpt2"}
    # Seed 0 of every trial ran in one sweep, one after another: the paired comparison with the least drift.
    first = {text: group[group["params.seed"] == "0"]["metrics.held_out_bpb"].mean() for (trial, text), group in grouped if trial == "gpt2"}
    order = {name: index for index, name in enumerate(TRIALS)}
    for (trial, text), group in sorted(grouped, key=lambda item: (item[0][1], order.get(item[0][0], 99))):
        bpb = group["metrics.held_out_bpb"]
        spread = f"{bpb.max() - bpb.min():.3f}" if len(group) > 1 else "-"
        relative = f"{bpb.mean() / baseline[text]:.3f}" if text in baseline else "-"
        seed0 = group[group["params.seed"] == "0"]["metrics.held_out_bpb"]
        paired = f"{seed0.mean() / first[text]:.3f}" if text in first and len(seed0) else "-"
        steps = "/".join(sorted(set(group["params.max_steps"])))
        lines.append(f"| {trial} | {text} | {len(group)} | {steps} | {bpb.mean():.3f} | {spread} | {relative} | {paired} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", choices=["wikitext2", "embedded", "both"], default="both")
    parser.add_argument("--steps", type=int, default=PLAIN["steps"], help="the plain loop's steps (its config: 2000)")
    parser.add_argument("--held-out-bytes", type=int, default=100_000)
    parser.add_argument("--precision-steps", type=int, default=200, help="steps of the default recipe in each precision")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interleaved-steps", type=int, default=600, help="steps of the interleaved step-time measurement")
    parser.add_argument("--throughput-only", action="store_true", help="only the interleaved step-time measurement, per text")
    parser.add_argument("--trials", action="store_true", help="train the recipe variants instead (MLflow experiment recipe_trials)")
    parser.add_argument("--only", nargs="*", default=list(TRIALS), help="with --trials: these trials")
    parser.add_argument("--seeds", type=int, default=1, help="with --trials: seeds per trial")
    parser.add_argument("--first-seed", type=int, default=0, help="with --trials: the first seed (add seeds to recorded trials)")
    parser.add_argument("--budget", type=float, default=60.0, help="with --trials: seconds per trial")
    parser.add_argument("--table", action="store_true", help="print the recorded trials as a markdown table (docs/recipe.md)")
    parser.add_argument("--tracking-uri", default=f"sqlite:///{ROOT / 'mlflow.db'}")
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(args.tracking_uri)
    texts = ["wikitext2", "embedded"] if args.text == "both" else [args.text]
    if args.table:
        print(trials_table())
        return
    if args.trials:
        trials(texts, args.seeds, args.budget, args.held_out_bytes, args.only, args.first_seed)
        return
    mlflow.set_experiment("time_to_quality")
    for text in texts:
        if args.throughput_only:
            train_bytes = byte_tokens("\n\n".join(load_text(text)[0]))
            split = int(0.95 * len(train_bytes))
            print(f"\n== {text}: {len(train_bytes) / 1e6:.2f} MB of training text ==")
            print_interleaved(interleaved_step_times(train_bytes[:split], train_bytes[split:], args.interleaved_steps, args.seed))
            continue
        compare(text, args.seed, args.held_out_bytes, args.steps, args.precision_steps, args.interleaved_steps)


if __name__ == "__main__":
    main()
