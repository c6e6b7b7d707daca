"""The finetuning nodes: what they let Hydra build from their parameters."""

from __future__ import annotations

import pytest

from lmladder.errors import ConfigError
from lmladder.pipelines.finetuning.nodes import finetune_baseline, finetune_classifier
from tests.conftest import load_parameters
from tests.pipelines.model_inputs import model_inputs


@pytest.mark.parametrize("node", [finetune_classifier, finetune_baseline])
@pytest.mark.parametrize("name", ["optimizer", "lr_schedule"])
def test_the_nodes_refuse_a_target_outside_the_allow_list_without_calling_it(tmp_path, node, name):
    """A ladder rung's fine-tuning parameters reach ``finetune_classifier`` from a saved file, after the
    session-start check: the node checks what it builds itself."""
    inputs = model_inputs(tmp_path)
    params = load_parameters("test")["finetuning"]
    marker = tmp_path / "owned.txt"
    params[name] = {"_target_": "builtins.open", "file": str(marker), "mode": "w"}
    with pytest.raises(ConfigError, match=rf"^finetuning\.{name}\._target_='builtins\.open' is not allowed: Hydra would import"):
        node(inputs["pretrained_model"], inputs["labelled_train"], inputs["labelled_val"], inputs["validated_data"], params, 0)
    assert not marker.exists()
