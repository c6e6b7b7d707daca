"""The classifier as an MLflow pyfunc model: a ``text`` column in; ``label`` and one probability
per class out. Served with ``mlflow models serve -m models:/<name>@<alias> --env-manager local``.

The model is logged as code (MLflow's "models from code", see ``served_model.py``) beside the
safetensors model directory, so loading it runs lmladder's code and unpickles nothing.

``predict`` refuses, before tokenising anything, a ``text`` that is not a string or is longer than
``max_text_chars`` characters: tokenising a 10 MB text costs gigabytes, and a number or null is
no text to classify. The signature's ``text`` column is of MLflow's ``Any`` type for that reason: with
``string``, MLflow would cast the values of an ``inputs``/``instances`` request before ``predict`` (7
arriving as "7", null as "None"), so only this check decides. (An ``instances`` request still goes
through numpy arrays in MLflow's parser, where a number among strings becomes a string.)

The limit is the model config's ``max_text_chars`` (set from ``evaluation.max_text_chars`` when
logging); it can be changed when loading (``mlflow.pyfunc.load_model(uri, model_config={"max_text_chars": N})``)
or serving (the environment variable ``MLFLOW_PYFUNC_INFERENCE_CONFIG='{"max_text_chars": N}'``).
``predict`` works ``PREDICT_CHUNK_ROWS`` rows at a time, so a request of many rows is not tokenised all at once.
"""

from __future__ import annotations

import math

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema
from mlflow.types.schema import AnyType

from lmladder.errors import ConfigError
from lmladder.model.classifier import predict_probabilities
from lmladder.model.directory import load_model_directory

MODEL_DIR_ARTIFACT = "model_dir"
TEXT_COLUMN = "text"
MAX_TEXT_CHARS = "max_text_chars"  # the model config key
# Tokenising holds every text of its input in memory at once (about 0.5 MB per text of 20,000
# characters), so a request of many rows is predicted this many rows at a time. A multiple of
# predict_probabilities' batch of 32: the same batches, so the same numbers as one call.
PREDICT_CHUNK_ROWS = 64


def probability_column(label: str) -> str:
    return f"prob_{label}"


def classifier_signature(labels: list[str]) -> ModelSignature:
    outputs = [ColSpec("string", "label")] + [ColSpec("double", probability_column(label)) for label in labels]
    # Any, not string: see the module docstring (predict checks the type itself)
    return ModelSignature(inputs=Schema([ColSpec(AnyType(), TEXT_COLUMN)]), outputs=Schema(outputs))


def predict_frame(model, tokenizer, texts: list[str]) -> pd.DataFrame:
    """Labels and class probabilities for texts; too-long texts are truncated to the model's length."""
    labels = list(model.classifier_config.labels)
    probabilities = predict_probabilities(model, tokenizer, texts).numpy().astype("float64")
    frame = pd.DataFrame(probabilities, columns=[probability_column(label) for label in labels])
    frame.insert(0, "label", [labels[i] for i in probabilities.argmax(axis=1)] if len(texts) else [])
    return frame


def checked_max_text_chars(value) -> int:
    """The model config's ``max_text_chars``: a whole number of characters above zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"the classifier's model config needs {MAX_TEXT_CHARS} as a whole number of characters above 0, got {value!r}; set "
            f"evaluation.max_text_chars before registering, or pass model_config={{'{MAX_TEXT_CHARS}': N}} to "
            f"mlflow.pyfunc.load_model (MLFLOW_PYFUNC_INFERENCE_CONFIG='{{\"{MAX_TEXT_CHARS}\": N}}' for mlflow models serve)"
        )
    return value


def _type_name(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "null"
    return type(value).__name__


def check_texts(texts: pd.Series, max_text_chars: int) -> list[str]:
    """The texts, once each is known to be a string of at most ``max_text_chars`` characters.

    Runs before tokenisation, which costs memory in proportion to the whole text (truncation to the
    model's length comes after it). Rows are counted from 0, as in the request.
    """
    for row, value in enumerate(texts):
        if not isinstance(value, str):
            raise MlflowException(
                f"row {row}: {TEXT_COLUMN!r} must be a string, got {_type_name(value)}; send every text as a JSON string",
                error_code=INVALID_PARAMETER_VALUE,
            )
        if len(value) > max_text_chars:
            raise MlflowException(
                f"row {row}: the text has {len(value)} characters, more than the limit of {max_text_chars} ({MAX_TEXT_CHARS}); "
                f"send a shorter text, or raise evaluation.max_text_chars and register the model again "
                f"(or serve it with MLFLOW_PYFUNC_INFERENCE_CONFIG='{{\"{MAX_TEXT_CHARS}\": N}}')",
                error_code=INVALID_PARAMETER_VALUE,
            )
    return list(texts)


class TextClassifierModel(PythonModel):
    def __init__(self, max_text_chars: int | None = None):
        # Set by load_context from the model config; given here only when predict is called directly.
        self.max_text_chars = max_text_chars

    def load_context(self, context) -> None:
        self.max_text_chars = checked_max_text_chars((context.model_config or {}).get(MAX_TEXT_CHARS))
        bundle = load_model_directory(context.artifacts[MODEL_DIR_ARTIFACT])
        self.model, self.tokenizer = bundle.model, bundle.tokenizer

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        if not isinstance(model_input, pd.DataFrame) or TEXT_COLUMN not in model_input.columns:
            columns = list(model_input.columns) if isinstance(model_input, pd.DataFrame) else type(model_input).__name__
            raise MlflowException(
                f"the request needs a {TEXT_COLUMN!r} column of strings; got {columns}",
                error_code=INVALID_PARAMETER_VALUE,
            )
        texts = check_texts(model_input[TEXT_COLUMN], checked_max_text_chars(self.max_text_chars))
        chunks = [texts[start : start + PREDICT_CHUNK_ROWS] for start in range(0, len(texts), PREDICT_CHUNK_ROWS)]
        frames = [predict_frame(self.model, self.tokenizer, chunk) for chunk in chunks or [[]]]
        return pd.concat(frames, ignore_index=True)
