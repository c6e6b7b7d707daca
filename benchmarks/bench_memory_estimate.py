"""The training-memory estimate (``lmladder.training.config.training_memory_bytes``) against the measured
peak of a few real CPU training steps.

    .venv/bin/python benchmarks/bench_memory_estimate.py

For each shape (preset, vocabulary, block, batch), a fresh process runs a throwaway step (so torch's own
buffers are not counted), resets Linux's peak resident size (VmHWM, through /proc/self/clear_refs) and
runs two AdamW training steps; prints the measured peak growth, the estimate and estimate / measured
(aim: within 0.5-2; the check at session start only has to catch a batch that is far too large). Shapes
range from mostly logits (large vocabulary) to mostly activations (long windows, small vocabulary).
Linux only; the numbers depend on the allocator and torch's kernels, which is why this is a benchmark
and tests/training/test_config.py checks the formula's terms instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lmladder.model import model_config
from lmladder.training.config import training_memory_bytes

SHAPES = [  # (preset, vocab, block, batch)
    ("2x64", 2048, 128, 32),
    ("2x64", 512, 256, 16),
    ("nano", 4096, 64, 64),
    ("2x128", 1024, 128, 16),
]

MEASURE_STEP = """
import sys
from pathlib import Path
import torch
from lmladder.model import Transformer, model_config

def status(field):
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024

torch.manual_seed(0)
warmup = Transformer(model_config("nano", vocab_size=300, max_positions=16))
ids = torch.randint(0, 300, (2, 17))
warmup(ids[:, :-1], ids[:, 1:])[1].backward()
del warmup, ids
Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
before = status("VmRSS")
preset, vocab, block, batch = sys.argv[1], *map(int, sys.argv[2:])
model = Transformer(model_config(preset, vocab_size=vocab, max_positions=block))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
ids = torch.randint(0, vocab, (batch, block + 1))
for _ in range(2):
    model(ids[:, :-1], ids[:, 1:])[1].backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
print(status("VmHWM") - before)
"""


def measured_bytes(preset: str, vocab: int, block: int, batch: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE_STEP, preset, str(vocab), str(block), str(batch)], capture_output=True, text=True, check=True
    )
    return int(result.stdout.split()[-1])


def main() -> None:
    if not Path("/proc/self/clear_refs").exists():
        sys.exit("needs Linux's /proc/self/clear_refs to reset the peak resident size")
    print(f"{'preset':>7} {'vocab':>6} {'block':>6} {'batch':>6} {'measured MB':>12} {'estimate MB':>12} {'ratio':>6}")
    for preset, vocab, block, batch in SHAPES:
        measured = measured_bytes(preset, vocab, block, batch)
        estimate = training_memory_bytes(model_config(preset, vocab_size=vocab, max_positions=block), batch, block)
        print(f"{preset:>7} {vocab:>6} {block:>6} {batch:>6} {measured / 1e6:>12.1f} {estimate / 1e6:>12.1f} {estimate / measured:>6.2f}")


if __name__ == "__main__":
    main()
