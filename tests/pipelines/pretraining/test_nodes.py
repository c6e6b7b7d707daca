"""The pretraining nodes: the checkpoint folder key that decides which last.ckpt a run resumes from, and
what the node lets Hydra build from its parameters."""

from __future__ import annotations

import copy
import re

import pytest

from lmladder.corpus.packing import TokenFile
from lmladder.corpus.tokenizer import tokenizer_sha256
from lmladder.errors import ConfigError
from lmladder.pipelines.pretraining.nodes import checkpoint_key, pretrain_model
from lmladder.validation.gate import token_file_fingerprint
from tests.conftest import load_parameters
from tests.pipelines.model_inputs import model_inputs

FINGERPRINT = "3f5a9c0d" * 8
SEED = 42


@pytest.fixture(scope="module")
def params() -> dict:
    return load_parameters("test")["pretraining"]


def test_the_same_parameters_data_and_seed_give_the_same_key(params):
    key = checkpoint_key(params, FINGERPRINT, SEED)
    assert re.fullmatch(r"[0-9a-f]{16}", key)  # a plain folder name
    assert checkpoint_key(copy.deepcopy(params), FINGERPRINT, SEED) == key
    reordered = {name: params[name] for name in reversed(list(params))}
    assert checkpoint_key(reordered, FINGERPRINT, SEED) == key  # mapping order is not part of the key


@pytest.mark.parametrize(
    ("section", "name", "value"),
    [
        ("optimizer", "lr", 0.001),
        ("optimizer", "betas", [0.9, 0.99]),
        ("lr_schedule", "warmup_steps", 7),
        ("data", "block_size", 16),
        ("data", "batch_size", 3),
        ("trainer", "max_steps", 11),
        ("trainer", "gradient_clip_val", 0.5),
        ("trainer", "accumulate_grad_batches", 3),
        ("model", "architecture", "encoder"),
        ("model", "preset", "micro"),
    ],
)
def test_a_changed_training_parameter_gives_another_key(params, section, name, value):
    changed = copy.deepcopy(params)
    assert changed[section][name] != value  # the case really changes something
    changed[section][name] = value
    assert checkpoint_key(changed, FINGERPRINT, SEED) != checkpoint_key(params, FINGERPRINT, SEED)


def test_another_seed_gives_another_key(params):
    assert checkpoint_key(params, FINGERPRINT, SEED + 1) != checkpoint_key(params, FINGERPRINT, SEED)


def test_other_data_gives_another_key(params):
    other = FINGERPRINT[:-1] + "e"
    assert checkpoint_key(params, other, SEED) != checkpoint_key(params, FINGERPRINT, SEED)


@pytest.mark.parametrize("name", ["optimizer", "lr_schedule"])
def test_the_node_refuses_a_target_outside_the_allow_list_without_calling_it(tmp_path, params, name):
    """A ladder rung's parameters reach this node from a saved file, after the session-start check: the
    node checks what it builds itself."""
    inputs = model_inputs(tmp_path)
    tokenizer = inputs["pretrained_model"].tokenizer
    tokens = TokenFile(
        inputs["val_tokens"].path,
        inputs["val_tokens"].tokens,
        {**inputs["val_tokens"].metadata, "tokenizer_sha256": tokenizer_sha256(tokenizer)},
    )
    fingerprint = token_file_fingerprint(tokens.metadata)
    gate = {
        "passed": True,
        "data_fingerprint": FINGERPRINT,
        "inputs": {"train_tokens": fingerprint, "val_tokens": fingerprint, "tokenizer": tokenizer_sha256(tokenizer)},
    }
    marker = tmp_path / "owned.txt"
    changed = copy.deepcopy(params)
    changed[name] = {"_target_": "builtins.open", "file": str(marker), "mode": "w"}
    with pytest.raises(ConfigError, match=rf"^pretraining\.{name}\._target_='builtins\.open' is not allowed: Hydra would import"):
        pretrain_model(tokens, tokens, tokenizer, gate, changed, SEED)
    assert not marker.exists()
