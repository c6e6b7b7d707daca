import errno
import hashlib
import json
import logging
import os
from pathlib import Path

import pytest
import torch

from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.errors import ConfigError, CorruptFileError
from lmladder.model import ModelConfig, Transformer
from lmladder.model.directory import ModelBundle, load_model_directory, save_model_directory

TEXTS = ["the quick brown fox jumps over the lazy dog", "pack my box with five dozen liquor jugs"] * 20
SAMPLE = "the lazy fox packs five jugs"


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TEXTS, 300)


def make_model(vocab_size: int, seed: int = 0, **overrides) -> Transformer:
    torch.manual_seed(seed)
    config = ModelConfig(**{"vocab_size": vocab_size, "max_positions": 16, "n_layer": 2, "n_head": 2, "n_embd": 16, **overrides})
    return Transformer(config).eval()


@pytest.fixture
def saved(tmp_path, tokenizer):
    model = make_model(tokenizer.get_vocab_size())
    path = tmp_path / "models" / "nano"
    save_model_directory(ModelBundle(model, tokenizer, {"bytes_per_token": 3.5}), path)
    return path, model


def ids_for(tokenizer) -> torch.Tensor:
    return torch.tensor([tokenizer.encode(SAMPLE).ids[:16]])


@pytest.mark.parametrize("tie_embeddings", [True, False])
def test_round_trip_gives_identical_logits_and_tokenizer(tmp_path, tokenizer, tie_embeddings):
    model = make_model(tokenizer.get_vocab_size(), tie_embeddings=tie_embeddings, positional="rotary")
    save_model_directory(ModelBundle(model, tokenizer), tmp_path / "m")
    bundle = load_model_directory(tmp_path / "m")
    ids = ids_for(tokenizer)
    with torch.no_grad():
        assert torch.equal(bundle.model(ids)[0], model(ids)[0])
    assert bundle.model.config == model.config
    assert bundle.tokenizer.encode(SAMPLE).ids == tokenizer.encode(SAMPLE).ids
    assert not bundle.model.training
    assert (bundle.model.lm_head.weight is bundle.model.token_embedding.weight) == tie_embeddings


@pytest.mark.parametrize("tie_embeddings", [True, False])
def test_an_encoder_decoder_round_trips_with_identical_logits_and_generations(tmp_path, tokenizer, tie_embeddings):
    from lmladder.model import EncoderDecoder, build_model

    torch.manual_seed(0)
    config = ModelConfig(tokenizer.get_vocab_size(), 16, 1, 2, 16, architecture="encoder-decoder", tie_embeddings=tie_embeddings)
    model = build_model(config).eval()
    save_model_directory(ModelBundle(model, tokenizer, {"task": "generation"}), tmp_path / "m")
    bundle = load_model_directory(tmp_path / "m")
    assert isinstance(bundle.model, EncoderDecoder) and bundle.metadata == {"task": "generation"}
    ids = ids_for(tokenizer)
    with torch.no_grad():
        assert torch.equal(bundle.model(ids, ids[:, :5])[0], model(ids, ids[:, :5])[0])
    assert bundle.model.generate(ids[0], 0, 0, 6, num_beams=2) == model.generate(ids[0], 0, 0, 6, num_beams=2)
    assert (bundle.model.lm_head.weight is bundle.model.token_embedding.weight) == tie_embeddings


def test_directory_holds_exactly_three_files(saved):
    path, _ = saved
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["nano"]


def test_overwrite_replaces_model_and_leaves_no_staging(saved, tokenizer):
    path, first = saved
    second = make_model(tokenizer.get_vocab_size(), seed=1)
    save_model_directory(ModelBundle(second, tokenizer, {"run": 2}), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["nano"]
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    bundle = load_model_directory(path)
    ids = ids_for(tokenizer)
    with torch.no_grad():
        assert torch.equal(bundle.model(ids)[0], second(ids)[0])
        assert not torch.equal(bundle.model(ids)[0], first(ids)[0])
    assert bundle.metadata == {"run": 2}


@pytest.mark.parametrize(
    ("error", "message"),
    [(OSError(28, "No space left on device"), "No space left"), (PermissionError(13, "Permission denied"), "Permission denied")],
)
def test_failed_save_keeps_previous_model(saved, tokenizer, error, message):
    path, first = saved

    class Unsaveable:
        def save(self, _path):
            raise error

    with pytest.raises(type(error), match=message):
        save_model_directory(ModelBundle(make_model(tokenizer.get_vocab_size(), seed=1), Unsaveable()), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["nano"]
    bundle = load_model_directory(path)
    ids = ids_for(tokenizer)
    with torch.no_grad():
        assert torch.equal(bundle.model(ids)[0], first(ids)[0])


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "tokenizer.json"])
def test_missing_file(saved, name):
    path, _ = saved
    (path / name).unlink()
    with pytest.raises(CorruptFileError, match=name):
        load_model_directory(path)


def test_a_failed_final_rename_puts_the_previous_model_back(saved, tokenizer, monkeypatch):
    path, first = saved
    real_replace = os.replace

    def staging_rename_fails(source, destination):
        if Path(source).name.startswith(".nano.") and not Path(source).name.endswith(".previous"):
            raise OSError(errno.EIO, "Input/output error")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", staging_rename_fails)
    with pytest.raises(OSError, match="Input/output error"):
        save_model_directory(ModelBundle(make_model(tokenizer.get_vocab_size(), seed=1), tokenizer), path)
    monkeypatch.undo()
    assert sorted(p.name for p in path.parent.iterdir()) == ["nano"]
    ids = ids_for(tokenizer)
    with torch.no_grad():
        assert torch.equal(load_model_directory(path).model(ids)[0], first(ids)[0])


def test_a_save_killed_between_the_two_renames_leaves_the_previous_model_loadable(saved, tokenizer, caplog):
    path, first = saved
    os.replace(path, path.with_name(".nano.previous"))  # where a kill after moving the model aside leaves it
    with caplog.at_level(logging.WARNING, logger="lmladder.atomic"):
        bundle = load_model_directory(path)
    assert f"{path} is missing but {path.with_name('.nano.previous')} holds its previous version" in caplog.text
    assert sorted(p.name for p in path.parent.iterdir()) == ["nano"]
    ids = ids_for(tokenizer)
    with torch.no_grad():
        assert torch.equal(bundle.model(ids)[0], first(ids)[0])


def test_a_save_after_a_killed_one_leaves_only_the_new_model(saved, tokenizer):
    path, _ = saved
    os.replace(path, path.with_name(".nano.previous"))
    (path.parent / ".nano.0123abcd.tmp").mkdir()  # the killed save's staging folder
    (path.parent / ".nano.0123abcd.tmp" / "model.safetensors").write_bytes(b"half")
    second = make_model(tokenizer.get_vocab_size(), seed=1)
    save_model_directory(ModelBundle(second, tokenizer), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["nano"]
    ids = ids_for(tokenizer)
    with torch.no_grad():
        assert torch.equal(load_model_directory(path).model(ids)[0], second(ids)[0])


def test_weights_overwritten_in_place_are_named_as_changed_since_saved(saved):
    path, _ = saved
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    middle = len(data) // 2  # inside the tensor data: the header and the size stay valid
    data[middle : middle + 16] = bytes(255 - byte for byte in data[middle : middle + 16])
    weights.write_bytes(bytes(data))
    with pytest.raises(
        CorruptFileError, match=r"nano/model\.safetensors changed since it was saved: its sha256 is not the one .*config\.json"
    ):
        load_model_directory(path)


def test_config_json_records_the_weights_checksum_and_metadata_does_not_show_it(saved):
    path, _ = saved
    config = json.loads((path / "config.json").read_text())
    assert config["weights_sha256"] == hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    assert load_model_directory(path).metadata == {"bytes_per_token": 3.5}
    with pytest.raises(ConfigError, match=r"may not use the keys \['weights_sha256'\]"):
        save_model_directory(
            ModelBundle(load_model_directory(path).model, load_model_directory(path).tokenizer, {"weights_sha256": "x"}), path
        )


def test_a_directory_saved_before_checksums_loads_with_a_warning(saved, tokenizer, caplog):
    path, model = saved
    config = json.loads((path / "config.json").read_text())
    del config["weights_sha256"]
    (path / "config.json").write_text(json.dumps(config))
    with caplog.at_level(logging.WARNING, logger="lmladder.model.directory"):
        bundle = load_model_directory(path)
    assert any("no recorded checksum" in record.getMessage() and "model.safetensors" in record.getMessage() for record in caplog.records)
    ids = ids_for(tokenizer)
    with torch.no_grad():
        assert torch.equal(bundle.model(ids)[0], model(ids)[0])


def test_missing_directory(tmp_path):
    with pytest.raises(CorruptFileError, match="model.safetensors"):
        load_model_directory(tmp_path / "absent")


def test_truncated_weights(saved):
    path, _ = saved
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="model.safetensors"):
        load_model_directory(path)


def test_weights_from_another_model(saved, tokenizer):
    path, _ = saved
    config = json.loads((path / "config.json").read_text())
    config["model"]["n_embd"] = 32
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CorruptFileError, match="model.safetensors"):
        load_model_directory(path)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "",
        json.dumps({"bytes_per_token": 3.5}),
        json.dumps({"model": {"n_layers": 2}}),
        json.dumps({"model": {"vocab_size": 300, "n_embd": 30, "n_head": 4}}),
        json.dumps({"model": None}),
        json.dumps(["model"]),
    ],
)
def test_bad_config_json(saved, content):
    path, _ = saved
    (path / "config.json").write_text(content)
    with pytest.raises(CorruptFileError, match="config.json"):
        load_model_directory(path)


@pytest.mark.parametrize("content", ["42", '"model"', "null"])
def test_config_json_that_is_not_an_object(saved, content):
    path, _ = saved
    (path / "config.json").write_text(content)
    with pytest.raises(CorruptFileError, match="config.json"):
        load_model_directory(path)


def test_metadata_key_model_is_rejected_at_save(tmp_path, tokenizer):
    with pytest.raises(ConfigError, match="model"):
        save_model_directory(ModelBundle(make_model(tokenizer.get_vocab_size()), tokenizer, {"model": "nano-v1"}), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_corrupt_tokenizer(saved):
    path, _ = saved
    (path / "tokenizer.json").write_text("{}")
    with pytest.raises(CorruptFileError, match="tokenizer.json"):
        load_model_directory(path)


def test_metadata_round_trips(tmp_path, tokenizer):
    metadata = {
        "training": {"objective": "causal_lm", "model.parameters": 1234, "train.precision": "32-true"},
        "data_fingerprint": "abc123",
        "bytes_per_token": 3.25,
        "tags": ["a", "b"],
    }
    save_model_directory(ModelBundle(make_model(tokenizer.get_vocab_size()), tokenizer, metadata), tmp_path / "m")
    assert load_model_directory(tmp_path / "m").metadata == metadata
    written = json.loads((tmp_path / "m" / "config.json").read_text())
    assert written["model"]["vocab_size"] == tokenizer.get_vocab_size()
