import json
import logging

import torch

from lmladder.model import ModelConfig, Transformer
from lmladder.training import hardware
from lmladder.training.hardware import cpu_prefers_bf16, machine_key, matmul_probe, measure_matmul_peak, step_prefers_bf16, step_probe


def test_measure_matmul_peak_is_positive_and_finite():
    peak = measure_matmul_peak("cpu", size=64, seconds=0.05)
    assert 0 < peak < float("inf")


def test_the_probe_measures_once_per_machine_and_reads_the_cache_after(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        hardware, "measure_matmul_peak", lambda device, dtype: calls.append(dtype) or (4e11 if dtype == torch.bfloat16 else 1e11)
    )
    path = tmp_path / "cache" / "probe.json"
    first = matmul_probe("cpu", path)
    second = matmul_probe("cpu", path)
    assert calls == [torch.float32, torch.bfloat16]  # the second call measured nothing
    assert first == second == {"fp32_flops": 1e11, "bf16_flops": 4e11, "machine": machine_key("cpu")}
    assert json.loads(path.read_text()) == {machine_key("cpu"): {"fp32_flops": 1e11, "bf16_flops": 4e11}}
    assert cpu_prefers_bf16(first)


def test_another_machine_or_thread_count_measures_again(tmp_path, monkeypatch):
    path = tmp_path / "probe.json"
    path.write_text(json.dumps({"cpu-elsewhere-torch0": {"fp32_flops": 1.0, "bf16_flops": 1.0}}))
    monkeypatch.setattr(hardware, "measure_matmul_peak", lambda device, dtype: 3e11)
    assert matmul_probe("cpu", path)["fp32_flops"] == 3e11
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        assert machine_key("cpu") not in json.loads(path.read_text())
    finally:
        torch.set_num_threads(threads)
    assert set(json.loads(path.read_text())) == {"cpu-elsewhere-torch0", machine_key("cpu")}  # both kept


def test_a_damaged_or_unwritable_cache_is_measured_around_and_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(hardware, "measure_matmul_peak", lambda device, dtype: 2e11)
    damaged = tmp_path / "probe.json"
    damaged.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="lmladder.training.hardware"):
        assert matmul_probe("cpu", damaged)["bf16_flops"] == 2e11
    assert f"ignoring the probe cache {damaged}" in caplog.text
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING, logger="lmladder.training.hardware"):
        assert matmul_probe("cpu", blocked / "probe.json")["fp32_flops"] == 2e11
    assert "could not cache the probe" in caplog.text
    assert not cpu_prefers_bf16({"fp32_flops": 2e11, "bf16_flops": 2e11})


def test_the_cache_lives_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv("LMLADDER_CACHE_DIR", str(tmp_path))
    assert hardware.cache_path() == tmp_path / "matmul_probe.json"
    monkeypatch.delenv("LMLADDER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hardware.cache_path() == tmp_path / "xdg" / "lmladder" / "matmul_probe.json"


def test_the_step_probe_times_both_precisions_once_per_model_and_leaves_the_model_and_rng_alone(tmp_path):
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=1, n_head=2, n_embd=16))
    before = {name: p.clone() for name, p in model.state_dict().items()}
    state = torch.random.get_rng_state()
    path = tmp_path / "probe.json"
    step = step_probe(model, 4, 8, path)
    assert set(step) == {"fp32_step_s", "bf16_step_s"} and all(seconds > 0 for seconds in step.values())
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, before[name]) for name, p in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert step_probe(model, 4, 8, path) == step  # cached
    assert len(json.loads(path.read_text())) == 1
    step_probe(model, 2, 8, path)  # another batch shape is another entry
    wider = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=1, n_head=2, n_embd=32))
    step_probe(wider, 4, 8, path)
    assert len(json.loads(path.read_text())) == 3
    assert step_prefers_bf16({"fp32_step_s": 0.106, "bf16_step_s": 0.1})
    assert not step_prefers_bf16({"fp32_step_s": 0.104, "bf16_step_s": 0.1})


def test_the_step_probe_times_an_encoder_decoder_at_span_corruptions_shapes(tmp_path):
    from lmladder.model import EncoderDecoder

    config = ModelConfig(vocab_size=64, max_positions=32, n_layer=1, n_head=2, n_embd=16, architecture="encoder-decoder")
    step = step_probe(EncoderDecoder(config), 4, 32, tmp_path / "probe.json")
    assert set(step) == {"fp32_step_s", "bf16_step_s"} and all(seconds > 0 for seconds in step.values())
