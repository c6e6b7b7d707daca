import os
import time

import numpy as np
import pytest

from lmladder.errors import ConfigError
from lmladder.evaluation import cost
from lmladder.evaluation.cost import directory_size_bytes, measure_latency, peak_memory_during

MB = 1_000_000


class SleepingModel:
    """Stands in for a model: records each batch it is given and takes a little time over it."""

    def __init__(self, seconds: float = 0.001):
        self.seconds = seconds
        self.batches: list[list[str]] = []

    def __call__(self, batch: list[str]) -> list[str]:
        self.batches.append(batch)
        time.sleep(self.seconds)
        return ["label"] * len(batch)


def test_latency_percentiles_are_ordered_and_throughput_positive():
    result = measure_latency(SleepingModel(), ["a", "b", "c"], batch_size=4, repeats=10, warmup=1)

    assert 0 < result["p50_ms"] <= result["p95_ms"]
    assert result["mean_ms"] > 0
    assert result["throughput_per_s"] > 0
    # Throughput is texts over the timed seconds, so it follows from the mean batch time exactly.
    assert result["throughput_per_s"] == pytest.approx(4 / (result["mean_ms"] / 1000))
    assert (result["batch_size"], result["repeats"]) == (4, 10)


def test_batches_cycle_through_the_texts_and_warmup_calls_come_first():
    model = SleepingModel(seconds=0)
    measure_latency(model, ["a", "b", "c"], batch_size=2, repeats=2, warmup=1)
    assert model.batches == [["a", "b"], ["c", "a"], ["b", "c"]]


def test_a_batch_larger_than_the_texts_repeats_them():
    model = SleepingModel(seconds=0)
    measure_latency(model, ["x", "y"], batch_size=5, repeats=1, warmup=0)
    assert model.batches == [["x", "y", "x", "y", "x"]]


@pytest.mark.parametrize(
    "texts, batch_size, repeats, warmup",
    [([], 1, 1, 0), (["a"], 0, 1, 0), (["a"], 1, 0, 0), (["a"], 1, 1, -1)],
)
def test_unusable_latency_arguments_raise_config_error(texts, batch_size, repeats, warmup):
    with pytest.raises(ConfigError):
        measure_latency(SleepingModel(0), texts, batch_size, repeats, warmup)


def test_peak_memory_sees_an_allocation_returned_by_the_function():
    result = peak_memory_during(lambda: np.ones(200 * MB // 8))  # ~200 MB of float64, every page written
    assert result["peak_rss_increase_bytes"] > 100 * MB


def test_a_returned_allocation_counts_even_if_the_sampler_never_wakes_during_the_call(monkeypatch):
    monkeypatch.setattr(cost, "MEMORY_SAMPLE_INTERVAL_S", 60.0)  # the thread samples once, then sleeps
    assert peak_memory_during(lambda: np.ones(200 * MB // 8))["peak_rss_increase_bytes"] > 100 * MB


def test_peak_memory_sees_an_allocation_freed_before_the_function_returns():
    def allocate_briefly():
        block = np.ones(200 * MB // 8)
        time.sleep(0.05)  # long against the ~1 ms sampling interval
        del block

    assert peak_memory_during(allocate_briefly)["peak_rss_increase_bytes"] > 100 * MB


def test_peak_memory_of_a_function_that_allocates_nothing_is_small():
    assert peak_memory_during(lambda: None)["peak_rss_increase_bytes"] < 50 * MB


def test_cuda_peak_is_none_without_a_gpu():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: cuda_peak_bytes is a number here")
    assert peak_memory_during(lambda: None)["cuda_peak_bytes"] is None


def test_directory_size_sums_every_file_below(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"\0" * 1000)
    (tmp_path / "config.json").write_bytes(b"{}")
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "nested" / "deeper" / "tokenizer.json").write_bytes(b"x" * 37)
    (tmp_path / "empty").mkdir()

    assert directory_size_bytes(tmp_path) == 1000 + 2 + 37
    assert directory_size_bytes(str(tmp_path / "nested")) == 37


def test_directory_size_does_not_follow_symbolic_links(tmp_path):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"\0" * 500)
    model = tmp_path / "model"
    model.mkdir()
    (model / "own.bin").write_bytes(b"\0" * 10)
    os.symlink(outside, model / "linked.bin")
    assert directory_size_bytes(model) == 10


def test_directory_size_of_a_file_is_its_size(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\1" * 123)
    assert directory_size_bytes(path) == 123


def test_directory_size_of_a_missing_path_raises_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no-such-model"):
        directory_size_bytes(tmp_path / "no-such-model")


class FakeCuda:
    """Records the order of CUDA memory calls; its peak is whatever the measured function reached."""

    def __init__(self):
        self.calls: list[str] = []
        self.peak = 0

    def synchronize(self):
        self.calls.append("synchronize")

    def reset_peak_memory_stats(self):
        self.calls.append("reset")
        self.peak = 0

    def max_memory_allocated(self):
        self.calls.append("read")
        return self.peak


def test_cuda_peak_is_reset_before_the_call_and_read_after(monkeypatch):
    fake = FakeCuda()
    fake.peak = 999  # left over from earlier work: must not leak into this measurement
    monkeypatch.setattr(cost, "_cuda_module_if_available", lambda: fake)

    def run_on_gpu():
        fake.calls.append("fn")
        fake.peak = 4096

    assert peak_memory_during(run_on_gpu)["cuda_peak_bytes"] == 4096
    assert fake.calls == ["synchronize", "reset", "fn", "synchronize", "read"]
