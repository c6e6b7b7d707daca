"""The sequence-to-sequence generator as a registered MLflow pyfunc model (``TextGeneratorModel``)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import Model

from lmladder.errors import ConfigError
from lmladder.model import ModelConfig, build_model
from lmladder.model.directory import ModelBundle
from lmladder.tracking.pyfunc import PREDICT_CHUNK_ROWS, TextClassifierModel, TextGeneratorModel, generator_signature
from lmladder.tracking.registry import log_and_register_classifier
from tests.tracking.conftest import MAX_TEXT_CHARS, make_bundle, register
from tests.tracking.generators import MAX_NEW_TOKENS, expected, make_generator, register_generator

ARCHITECTURES = ("encoder-decoder", "decoder")
SOURCES = ["def f(x): return x", "some text about code", "x = 1"]


@pytest.fixture
def registered(tracking):
    bundle = make_generator()
    return bundle, register_generator(tracking[1], bundle, tags={"data_fingerprint": "abc123"})


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_registered_generator_writes_what_generate_texts_writes(tracking, architecture):
    bundle = make_generator(architecture)
    info = register_generator(tracking[1], bundle)
    assert {key: info[key] for key in ("name", "version", "alias", "model_uri")} == {
        "name": "gen",
        "version": "1",
        "alias": "candidate",
        "model_uri": "models:/gen@candidate",
    }
    loaded = mlflow.pyfunc.load_model("models:/gen@candidate")
    predicted = loaded.predict(pd.DataFrame({"text": SOURCES}))
    assert list(predicted.columns) == ["generated_text"]
    texts = predicted["generated_text"].tolist()
    assert texts == expected(bundle, SOURCES)
    assert len(texts) == 3 and all(isinstance(text, str) for text in texts)
    assert len(set(texts)) > 1 and any(texts)  # the test model writes something, and not the same for every source
    assert isinstance(loaded.unwrap_python_model(), TextGeneratorModel)


def test_generator_version_is_tagged_and_logged_as_code_with_its_settings(registered):
    _, info = registered
    version = MlflowClient().get_model_version_by_alias("gen", "candidate")
    assert version.tags == {"data_fingerprint": "abc123", "task": "generation"}
    loaded = mlflow.pyfunc.load_model("models:/gen@candidate")
    assert loaded.metadata.signature == generator_signature()
    assert [repr(spec.type) for spec in loaded.metadata.signature.inputs.inputs] == ["Any"]
    assert loaded.metadata.signature.outputs.input_names() == ["generated_text"]
    model_id = info["logged_model_uri"].removeprefix("models:/")
    folder = Path(url2pathname(urlparse(MlflowClient().get_logged_model(model_id).artifact_location).path))
    flavor = Model.load(str(folder / "MLmodel")).flavors["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model" and "python_model" not in flavor
    assert flavor["config"] == {
        "task": "generation",
        "max_text_chars": MAX_TEXT_CHARS,
        "max_new_tokens": MAX_NEW_TOKENS,
        "num_beams": 1,
        "length_penalty": 1.0,
    }
    assert (folder / "artifacts" / "generator" / "model.safetensors").is_file()
    assert [path.name for path in folder.rglob("*") if path.suffix in (".pkl", ".pickle", ".pyc")] == []
    requirements = (folder / "requirements.txt").read_text()
    assert "pytorch-lightning" not in requirements and "torch==" in requirements  # generation needs torch and tokenizers only


def test_generation_settings_can_change_at_load(registered):
    bundle, _ = registered
    loaded = mlflow.pyfunc.load_model("models:/gen@candidate", model_config={"num_beams": 2, "max_new_tokens": 5})
    predicted = loaded.predict(pd.DataFrame({"text": SOURCES}))["generated_text"].tolist()
    assert predicted == expected(bundle, SOURCES, max_new_tokens=5, num_beams=2)


def test_registration_records_explicit_settings_over_the_metadata(tracking):
    bundle = make_generator("decoder", num_beams=1)
    register_generator(tracking[1], bundle, max_new_tokens=4, num_beams=2)
    predicted = mlflow.pyfunc.load_model("models:/gen@candidate").predict(pd.DataFrame({"text": SOURCES}))
    assert predicted["generated_text"].tolist() == expected(bundle, SOURCES, max_new_tokens=4, num_beams=2)


def test_a_classifier_registered_beside_it_still_loads_as_a_classifier(tracking):
    register(tracking[1], make_bundle(), name="clf")
    register_generator(tracking[1], make_generator(), name="gen")
    assert isinstance(mlflow.pyfunc.load_model("models:/clf@candidate").unwrap_python_model(), TextClassifierModel)
    assert isinstance(mlflow.pyfunc.load_model("models:/gen@candidate").unwrap_python_model(), TextGeneratorModel)


def test_loaded_generator_refuses_a_text_that_is_not_a_string_naming_the_row(registered):
    loaded = mlflow.pyfunc.load_model("models:/gen@candidate")
    for value, type_name in [(7, "int"), (7.5, "float"), (True, "bool"), (None, "null"), (["def f(x): return x"], "list")]:
        frame = pd.DataFrame({"text": pd.Series(["def f(x): return x", "x = 1", value], dtype=object)})
        with pytest.raises(
            MlflowException, match=rf"row 2: 'text' must be a string, got {type_name}; send every text as a JSON string"
        ) as raised:
            loaded.predict(frame)
        assert raised.value.error_code == "INVALID_PARAMETER_VALUE", value


def test_loaded_generator_refuses_a_text_over_max_text_chars_naming_the_row(tracking):
    bundle = make_generator()
    register_generator(tracking[1], bundle, max_text_chars=50)
    texts = ["def f(x): return x", "x" * 51]
    with pytest.raises(
        MlflowException,
        match=r"row 1: the text has 51 characters, more than the limit of 50 \(max_text_chars\); send a shorter text",
    ) as raised:
        mlflow.pyfunc.load_model("models:/gen@candidate").predict(pd.DataFrame({"text": texts}))
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    loaded = mlflow.pyfunc.load_model("models:/gen@candidate", model_config={"max_text_chars": 51})
    assert loaded.predict(pd.DataFrame({"text": texts}))["generated_text"].tolist() == expected(bundle, texts)


def test_loaded_generator_rejects_a_frame_without_text(registered):
    with pytest.raises(MlflowException, match=r"missing inputs \['text'\]"):
        mlflow.pyfunc.load_model("models:/gen@candidate").predict(pd.DataFrame({"txt": ["x = 1"]}))


class RefusingTokenizer:
    """Stands in for the tokenizer where a request must be refused before anything is tokenised."""

    def __getattr__(self, name):
        raise AssertionError(f"the tokenizer was used ({name}) for a request that should have been refused first")


def direct_generator(bundle: ModelBundle, max_text_chars: int = 100) -> TextGeneratorModel:
    model = TextGeneratorModel(max_text_chars=max_text_chars, max_new_tokens=MAX_NEW_TOKENS, num_beams=1)
    model.model, model.tokenizer = bundle.model, bundle.tokenizer
    return model


def test_predict_checks_every_row_before_tokenising_any():
    model = direct_generator(make_generator())
    model.tokenizer = RefusingTokenizer()
    with pytest.raises(MlflowException, match=r"row 1: 'text' must be a string, got bool"):
        model.predict(None, pd.DataFrame({"text": pd.Series(["x = 1", True], dtype=object)}))
    with pytest.raises(MlflowException, match=r"row 2: the text has 101 characters, more than the limit of 100 \(max_text_chars\)"):
        model.predict(None, pd.DataFrame({"text": ["x = 1", "x" * 100, "y" * 101]}))


def test_predict_without_text_column_names_it():
    model = direct_generator(make_generator())
    with pytest.raises(MlflowException, match=r"needs a 'text' column of strings; got \['txt'\]") as raised:
        model.predict(None, pd.DataFrame({"txt": ["x = 1"]}))
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_predict_works_a_chunk_at_a_time_and_an_empty_frame_gives_the_column(monkeypatch):
    bundle = make_generator()
    model = direct_generator(bundle)
    sizes = []
    chunk = model.predict_chunk
    monkeypatch.setattr(model, "predict_chunk", lambda texts: sizes.append(len(texts)) or chunk(texts))
    texts = [SOURCES[i % 3] for i in range(PREDICT_CHUNK_ROWS + 2)]
    predicted = model.predict(None, pd.DataFrame({"text": texts}))
    assert sizes == [PREDICT_CHUNK_ROWS, 2]
    by_source = dict(zip(SOURCES, expected(bundle, SOURCES), strict=True))
    assert predicted["generated_text"].tolist() == [by_source[text] for text in texts]
    empty = model.predict(None, pd.DataFrame({"text": pd.Series([], dtype=object)}))
    assert list(empty.columns) == ["generated_text"] and len(empty) == 0


def test_an_alias_does_not_move_from_a_classifier_to_a_generator_unless_allowed(tracking):
    _, experiment_id = tracking
    register(experiment_id, make_bundle(), name="model")
    with pytest.raises(
        ConfigError,
        match=r"model@candidate points at v1, a classification model; this model's task is generation\..*allow_task_change=True",
    ):
        register_generator(experiment_id, make_generator(), name="model")
    client = MlflowClient()
    assert [str(v.version) for v in client.search_model_versions("name='model'")] == ["1"]  # nothing registered
    assert str(client.get_model_version_by_alias("model", "candidate").version) == "1"
    assert register_generator(experiment_id, make_generator(), name="model", allow_task_change=True)["version"] == "2"
    assert client.get_model_version_by_alias("model", "candidate").tags["task"] == "generation"


def test_an_alias_does_not_move_from_a_generator_to_a_classifier_unless_allowed(tracking):
    _, experiment_id = tracking
    register_generator(experiment_id, make_generator(), name="model")
    with pytest.raises(
        ConfigError,
        match=r"model@candidate points at v1, a generation model; this model's task is classification\..*allow_task_change=True",
    ):
        register(experiment_id, make_bundle(), name="model")
    client = MlflowClient()
    assert [str(v.version) for v in client.search_model_versions("name='model'")] == ["1"]
    with mlflow.start_run(experiment_id=experiment_id):
        info = log_and_register_classifier(
            make_bundle(), "model", "candidate", ["good film"], max_text_chars=MAX_TEXT_CHARS, allow_task_change=True
        )
    assert info["version"] == "2"
    assert json.loads(client.get_model_version_by_alias("model", "candidate").tags["label_set"]) == ["neg", "neu", "pos"]
    assert isinstance(mlflow.pyfunc.load_model("models:/model@candidate").unwrap_python_model(), TextClassifierModel)


def test_a_generator_may_follow_a_generator_on_an_alias(tracking):
    _, experiment_id = tracking
    register_generator(experiment_id, make_generator("decoder"), name="gen")
    assert register_generator(experiment_id, make_generator("encoder-decoder"), name="gen")["version"] == "2"


BAD_SETTINGS = [
    ({"num_beams": 0}, None, r"needs num_beams as a whole number above 0, got 0"),
    ({"num_beams": "2"}, None, r"needs num_beams as a whole number above 0, got '2'"),
    ({"max_new_tokens": True}, None, r"needs max_new_tokens as a whole number above 0, got True"),
    ({}, {}, r"needs max_new_tokens as a whole number above 0, got None; it is recorded from the model directory's generation"),
    ({}, {"max_target_tokens": 8}, r"needs num_beams as a whole number above 0, got None"),
    ({"max_new_tokens": 64}, None, r"has max_new_tokens=64, more than this model can write .*max_positions=64"),
    ({"max_text_chars": 0}, None, r"the generator's model config needs max_text_chars as a whole number of characters above 0, got 0"),
]


def test_registering_with_a_bad_setting_names_it_and_registers_nothing(tracking):
    for settings, generation, match in BAD_SETTINGS:
        with pytest.raises(ConfigError, match=match):
            register_generator(tracking[1], make_generator(generation=generation), **settings)
    assert MlflowClient().search_model_versions("name='gen'") == []


def test_loading_with_a_bad_setting_names_it(registered):
    for key, value in [("num_beams", 0), ("max_new_tokens", "many"), ("max_new_tokens", -1)]:
        with pytest.raises(ConfigError, match=rf"the generator's model config needs {key} as a whole number above 0, got {value!r}"):
            mlflow.pyfunc.load_model("models:/gen@candidate", model_config={key: value})
    with pytest.raises(ConfigError, match=r"has max_new_tokens=500, more than this model can write"):
        mlflow.pyfunc.load_model("models:/gen@candidate", model_config={"max_new_tokens": 500})


def test_a_model_that_cannot_write_text_is_not_registered_as_a_generator(tracking):
    classifier = make_bundle()
    with pytest.raises(ConfigError, match=r"a generator needs a decoder .* or an encoder-decoder; this model directory holds a classifier"):
        register_generator(tracking[1], classifier)
    encoder = make_generator()
    encoder.model = build_model(ModelConfig(vocab_size=300, max_positions=64, n_layer=1, n_head=2, n_embd=32, architecture="encoder"))
    with pytest.raises(ConfigError, match=r"this model directory holds an encoder alone"):
        register_generator(tracking[1], encoder)
    assert MlflowClient().search_model_versions("name='gen'") == []
