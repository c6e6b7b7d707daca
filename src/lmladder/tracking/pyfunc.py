"""The classifier as an MLflow pyfunc model: a ``text`` column in; ``label`` and one probability
per class out. Served with ``mlflow models serve -m models:/<name>@<alias> --env-manager local``."""

from __future__ import annotations

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema

from lmladder.model.classifier import predict_probabilities
from lmladder.model.directory import load_model_directory

MODEL_DIR_ARTIFACT = "model_dir"
TEXT_COLUMN = "text"


def probability_column(label: str) -> str:
    return f"prob_{label}"


def classifier_signature(labels: list[str]) -> ModelSignature:
    outputs = [ColSpec("string", "label")] + [ColSpec("double", probability_column(label)) for label in labels]
    return ModelSignature(inputs=Schema([ColSpec("string", TEXT_COLUMN)]), outputs=Schema(outputs))


def predict_frame(model, tokenizer, texts: list[str]) -> pd.DataFrame:
    """Labels and class probabilities for texts; too-long texts are truncated to the model's length."""
    labels = list(model.classifier_config.labels)
    probabilities = predict_probabilities(model, tokenizer, texts).numpy().astype("float64")
    frame = pd.DataFrame(probabilities, columns=[probability_column(label) for label in labels])
    frame.insert(0, "label", [labels[i] for i in probabilities.argmax(axis=1)] if len(texts) else [])
    return frame


class TextClassifierModel(PythonModel):
    def load_context(self, context) -> None:
        bundle = load_model_directory(context.artifacts[MODEL_DIR_ARTIFACT])
        self.model, self.tokenizer = bundle.model, bundle.tokenizer

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        if not isinstance(model_input, pd.DataFrame) or TEXT_COLUMN not in model_input.columns:
            columns = list(model_input.columns) if isinstance(model_input, pd.DataFrame) else type(model_input).__name__
            raise MlflowException(
                f"the request needs a {TEXT_COLUMN!r} column of strings; got {columns}",
                error_code=INVALID_PARAMETER_VALUE,
            )
        texts = model_input[TEXT_COLUMN].fillna("").astype(str).tolist()
        return predict_frame(self.model, self.tokenizer, texts)
