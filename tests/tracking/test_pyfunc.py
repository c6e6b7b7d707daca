import json
import pickle
import re
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from pandas.testing import assert_frame_equal

from lmladder.errors import ConfigError
from lmladder.tracking.pyfunc import PREDICT_CHUNK_ROWS, TextClassifierModel, checked_max_text_chars, classifier_signature, predict_frame
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
    assert [repr(spec.type) for spec in signature.inputs.inputs] == ["Any"]  # predict checks the type, whatever the request format
    assert signature.outputs.input_names() == ["label", "prob_neg", "prob_neu", "prob_pos"]
    assert [spec.type.name for spec in signature.outputs.inputs] == ["string", "double", "double", "double"]
    assert signature == classifier_signature(list(LABELS))


def test_loaded_model_rejects_a_frame_without_text(registered):
    loaded = mlflow.pyfunc.load_model("models:/clf@candidate")
    with pytest.raises(MlflowException, match=r"missing inputs \['text'\]"):
        loaded.predict(pd.DataFrame({"txt": ["good film"]}))


UNIT_LIMIT = 100  # max_text_chars of the directly built model


@pytest.fixture
def python_model():
    bundle = make_bundle()
    model = TextClassifierModel(max_text_chars=UNIT_LIMIT)
    model.model, model.tokenizer = bundle.model, bundle.tokenizer
    return model, bundle


class RefusingTokenizer:
    """Stands in for the tokenizer where a request must be refused before anything is tokenised."""

    def __getattr__(self, name):
        raise AssertionError(f"the tokenizer was used ({name}) for a request that should have been refused first")


def test_predict_without_text_column_names_it(python_model):
    model, _ = python_model
    with pytest.raises(MlflowException, match=r"needs a 'text' column of strings; got \['txt', 'label'\]") as raised:
        model.predict(None, pd.DataFrame({"txt": ["good film"], "label": ["pos"]}))
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_predict_on_something_other_than_a_frame_names_text(python_model):
    model, _ = python_model
    with pytest.raises(MlflowException, match=r"needs a 'text' column of strings; got list"):
        model.predict(None, ["good film"])


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (7, "int"),
        (7.5, "float"),
        (True, "bool"),
        (["good film"], "list"),
        ({"text": "good film"}, "dict"),
        (None, "null"),
        (float("nan"), "null"),
    ],
)
def test_predict_refuses_a_text_that_is_not_a_string_naming_the_row_and_type(python_model, value, type_name):
    model, _ = python_model
    model.tokenizer = RefusingTokenizer()
    frame = pd.DataFrame({"text": pd.Series(["good film", value], dtype=object)})
    with pytest.raises(
        MlflowException, match=rf"row 1: 'text' must be a string, got {type_name}; send every text as a JSON string"
    ) as raised:
        model.predict(None, frame)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert raised.value.get_http_status_code() == 400


def test_predict_refuses_a_text_over_max_text_chars_before_tokenising_it(python_model):
    model, _ = python_model
    model.tokenizer = RefusingTokenizer()
    frame = pd.DataFrame({"text": ["good film", "x" * UNIT_LIMIT, "y" * (UNIT_LIMIT + 1)]})
    with pytest.raises(
        MlflowException,
        match=rf"row 2: the text has {UNIT_LIMIT + 1} characters, more than the limit of {UNIT_LIMIT} \(max_text_chars\); .*evaluation.max_text_chars",
    ) as raised:
        model.predict(None, frame)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert raised.value.get_http_status_code() == 400


def test_predict_refuses_a_10_mb_text_before_tokenising_it(python_model):
    model, _ = python_model
    model.tokenizer = RefusingTokenizer()
    with pytest.raises(MlflowException, match=r"row 0: the text has 10000000 characters, more than the limit of 100"):
        model.predict(None, pd.DataFrame({"text": ["x" * 10_000_000]}))


class CountingTokenizer:
    """The real tokenizer, recording how many texts each batch encoding is given."""

    def __init__(self, tokenizer):
        self.tokenizer, self.batch_sizes = tokenizer, []

    def encode_batch_fast(self, texts, **kwargs):
        self.batch_sizes.append(len(texts))
        return self.tokenizer.encode_batch_fast(texts, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def test_predict_tokenises_a_request_of_many_rows_a_chunk_at_a_time(python_model):
    model, bundle = python_model
    texts = [f"good film number {i}" if i % 2 else "x" * UNIT_LIMIT for i in range(2 * PREDICT_CHUNK_ROWS + 22)]
    model.tokenizer = CountingTokenizer(bundle.tokenizer)
    predicted = model.predict(None, pd.DataFrame({"text": texts}))
    assert model.tokenizer.batch_sizes == [PREDICT_CHUNK_ROWS, PREDICT_CHUNK_ROWS, 22]
    assert_frame_equal(predicted, predict_frame(bundle.model, bundle.tokenizer, texts))


def test_predict_accepts_a_text_of_exactly_max_text_chars(python_model):
    model, bundle = python_model
    texts = ["good film", "x" * UNIT_LIMIT]
    assert_frame_equal(model.predict(None, pd.DataFrame({"text": texts})), predict_frame(bundle.model, bundle.tokenizer, texts))


@pytest.mark.parametrize("value", [0, -5, True, "20000", 2.5, None])
def test_max_text_chars_must_be_a_positive_whole_number(value):
    with pytest.raises(
        ConfigError,
        match=rf"needs max_text_chars as a whole number of characters above 0, got {re.escape(repr(value))}; set evaluation.max_text_chars",
    ):
        checked_max_text_chars(value)


def test_predict_without_a_limit_names_max_text_chars():
    bundle = make_bundle()
    model = TextClassifierModel()
    model.model, model.tokenizer = bundle.model, bundle.tokenizer
    with pytest.raises(ConfigError, match=r"needs max_text_chars .* got None"):
        model.predict(None, pd.DataFrame({"text": ["good film"]}))


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


def test_registering_with_a_bad_max_text_chars_registers_nothing(tracking):
    _, experiment_id = tracking
    with pytest.raises(
        ConfigError, match=r"needs max_text_chars as a whole number of characters above 0, got 0; set evaluation.max_text_chars"
    ):
        register(experiment_id, make_bundle(), max_text_chars=0)
    assert MlflowClient().search_model_versions("name='clf'") == []


def test_loaded_model_refuses_texts_over_the_registered_limit_and_the_limit_can_change_at_load(tracking, monkeypatch):
    _, experiment_id = tracking
    bundle = make_bundle()
    register(experiment_id, bundle, max_text_chars=50)
    texts = ["good film", "x" * 51]
    with pytest.raises(MlflowException, match=r"row 1: the text has 51 characters, more than the limit of 50 \(max_text_chars\)"):
        mlflow.pyfunc.load_model("models:/clf@candidate").predict(pd.DataFrame({"text": texts}))
    expected = predict_frame(bundle.model, bundle.tokenizer, texts)
    loaded = mlflow.pyfunc.load_model("models:/clf@candidate", model_config={"max_text_chars": 51})
    assert_frame_equal(loaded.predict(pd.DataFrame({"text": texts})), expected)
    monkeypatch.setenv("MLFLOW_PYFUNC_INFERENCE_CONFIG", json.dumps({"max_text_chars": 51}))  # how a server is given another limit
    assert_frame_equal(mlflow.pyfunc.load_model("models:/clf@candidate").predict(pd.DataFrame({"text": texts})), expected)


def test_loading_with_a_bad_max_text_chars_names_it(registered):
    with pytest.raises(ConfigError, match=r"needs max_text_chars as a whole number of characters above 0, got 'many'"):
        mlflow.pyfunc.load_model("models:/clf@candidate", model_config={"max_text_chars": "many"})


class PicklePayload:
    """Unpickling this creates ``marker``: what an attacker's python_model.pkl would run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_loading_the_registered_model_unpickles_nothing(registered, tmp_path):
    bundle, info = registered
    model_id = info["logged_model_uri"].removeprefix("models:/")
    folder = Path(url2pathname(urlparse(MlflowClient().get_logged_model(model_id).artifact_location).path))  # a file:// URI here
    assert (folder / "MLmodel").is_file()
    assert [path.name for path in folder.rglob("*") if path.suffix in (".pkl", ".pickle", ".pyc")] == []
    flavor = Model.load(str(folder / "MLmodel")).flavors["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model" and "python_model" not in flavor
    assert Model.load(str(folder / "MLmodel")).saved_input_example_info["artifact_path"].endswith(".json")

    marker = tmp_path / "payload-ran"
    probe = tmp_path / "probe-ran"
    pickle.loads(pickle.dumps(PicklePayload(probe)))
    assert probe.exists()  # the payload does run when unpickled
    payload = pickle.dumps(PicklePayload(marker))
    for place in (folder, folder / "artifacts", folder / "artifacts" / "classifier", folder / "code"):
        (place / "python_model.pkl").write_bytes(payload)

    loaded = mlflow.pyfunc.load_model("models:/clf@candidate")
    predicted = loaded.predict(pd.DataFrame({"text": REQUEST_TEXTS[:2]}))
    assert_frame_equal(predicted, predict_frame(bundle.model, bundle.tokenizer, REQUEST_TEXTS[:2]))
    assert not marker.exists()


def test_registered_model_loads_where_pickle_deserialization_is_disallowed(registered, monkeypatch):
    """An operator can turn pickle loading off (MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false) and still load this model."""
    bundle, _ = registered
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    predicted = mlflow.pyfunc.load_model("models:/clf@candidate").predict(pd.DataFrame({"text": REQUEST_TEXTS}))
    assert_frame_equal(predicted, predict_frame(bundle.model, bundle.tokenizer, REQUEST_TEXTS))
