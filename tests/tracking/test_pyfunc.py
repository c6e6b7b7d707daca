import json

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pandas.testing import assert_frame_equal

from lmladder.errors import ConfigError
from lmladder.tracking.pyfunc import TextClassifierModel, classifier_signature, predict_frame
from tests.tracking.conftest import LABELS, make_bundle, register

REQUEST_TEXTS = ["good film", "", "x" * 10_000, "the plot was dull"]


@pytest.fixture
def registered(tracking):
    bundle = make_bundle()
    return bundle, register(tracking[1], bundle)


def test_registration_returns_the_version_and_alias_uri(registered):
    _, info = registered
    assert {key: info[key] for key in ("name", "version", "alias", "model_uri")} == {
        "name": "clf",
        "version": "1",
        "alias": "candidate",
        "model_uri": "models:/clf@candidate",
    }
    assert str(MlflowClient().get_model_version_by_alias("clf", "candidate").version) == "1"
    assert mlflow.pyfunc.load_model(info["logged_model_uri"]).metadata.signature is not None


def test_second_registration_makes_version_two_and_moves_the_alias(tracking):
    _, experiment_id = tracking
    first = register(experiment_id, make_bundle(seed=0))
    second = register(experiment_id, make_bundle(seed=1))
    assert (first["version"], second["version"]) == ("1", "2")
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("clf", "candidate").version) == "2"
    assert client.get_model_version("clf", "1").aliases == []
    served = mlflow.pyfunc.load_model("models:/clf@candidate").predict(pd.DataFrame({"text": REQUEST_TEXTS}))
    bundle = make_bundle(seed=1)
    assert_frame_equal(served, predict_frame(bundle.model, bundle.tokenizer, REQUEST_TEXTS))


def test_tags_are_set_on_the_version(tracking):
    _, experiment_id = tracking
    register(experiment_id, make_bundle(), tags={"data_fingerprint": "abc123", "epochs": 3})
    version = MlflowClient().get_model_version_by_alias("clf", "candidate")
    assert version.tags == {"data_fingerprint": "abc123", "epochs": "3", "label_set": json.dumps(list(LABELS))}


def test_loaded_model_predicts_like_the_in_process_model(registered):
    bundle, _ = registered
    loaded = mlflow.pyfunc.load_model("models:/clf@candidate")
    served = loaded.predict(pd.DataFrame({"text": REQUEST_TEXTS}))
    expected = predict_frame(bundle.model, bundle.tokenizer, REQUEST_TEXTS)
    assert_frame_equal(served, expected)
    assert list(served.columns) == ["label", "prob_neg", "prob_neu", "prob_pos"]
    assert served["label"].isin(LABELS).all()
    assert served["label"].nunique() > 1


def test_signature_has_a_text_input_and_a_probability_per_class(registered):
    signature = mlflow.pyfunc.load_model("models:/clf@candidate").metadata.signature
    assert signature.inputs.input_names() == ["text"]
    assert [spec.type.name for spec in signature.inputs.inputs] == ["string"]
    assert signature.outputs.input_names() == ["label", "prob_neg", "prob_neu", "prob_pos"]
    assert [spec.type.name for spec in signature.outputs.inputs] == ["string", "double", "double", "double"]
    assert signature == classifier_signature(list(LABELS))


def test_loaded_model_rejects_a_frame_without_text(registered):
    loaded = mlflow.pyfunc.load_model("models:/clf@candidate")
    with pytest.raises(MlflowException, match=r"missing inputs \['text'\]"):
        loaded.predict(pd.DataFrame({"txt": ["good film"]}))


@pytest.fixture
def python_model():
    bundle = make_bundle()
    model = TextClassifierModel()
    model.model, model.tokenizer = bundle.model, bundle.tokenizer
    return model, bundle


def test_predict_without_text_column_names_it(python_model):
    model, _ = python_model
    with pytest.raises(MlflowException, match=r"needs a 'text' column of strings; got \['txt', 'label'\]") as raised:
        model.predict(None, pd.DataFrame({"txt": ["good film"], "label": ["pos"]}))
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_predict_on_something_other_than_a_frame_names_text(python_model):
    model, _ = python_model
    with pytest.raises(MlflowException, match=r"needs a 'text' column of strings; got list"):
        model.predict(None, ["good film"])


def test_predict_reads_missing_text_as_empty(python_model):
    model, bundle = python_model
    predicted = model.predict(None, pd.DataFrame({"text": ["good film", None]}))
    assert_frame_equal(predicted, predict_frame(bundle.model, bundle.tokenizer, ["good film", ""]))


def test_predict_on_an_empty_frame_gives_an_empty_frame_with_every_column(python_model):
    model, _ = python_model
    predicted = model.predict(None, pd.DataFrame({"text": pd.Series([], dtype=object)}))
    assert list(predicted.columns) == ["label", "prob_neg", "prob_neu", "prob_pos"]
    assert len(predicted) == 0


def test_unwrapped_loaded_model_rejects_a_frame_without_text(registered):
    python_model = mlflow.pyfunc.load_model("models:/clf@candidate").unwrap_python_model()
    assert isinstance(python_model, TextClassifierModel)
    with pytest.raises(MlflowException, match=r"needs a 'text' column"):
        python_model.predict(None, pd.DataFrame({"txt": ["good film"]}))


def test_an_alias_does_not_move_to_a_model_of_other_labels_unless_allowed(registered, tracking):
    _, experiment_id = tracking
    other = make_bundle(labels=("0", "1"))
    with pytest.raises(
        ConfigError,
        match=r"clf@candidate points at v1, a classifier of labels \['neg', 'neu', 'pos'\]; this model's labels are \['0', '1'\].*evaluation.allow_label_set_change: true",
    ):
        register(experiment_id, other)
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("clf", "candidate").version) == "1"  # untouched
    assert [str(v.version) for v in client.search_model_versions("name='clf'")] == ["1"]  # nothing registered
    assert register(experiment_id, other, allow_label_set_change=True)["version"] == "2"
    assert json.loads(client.get_model_version_by_alias("clf", "candidate").tags["label_set"]) == ["0", "1"]
