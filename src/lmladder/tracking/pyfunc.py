"""The classifier and the generator as MLflow pyfunc models: a ``text`` column in; for the classifier
``label`` and one probability per class out, for the generator (sequence to sequence, e.g. code -> a
one-sentence summary) one ``generated_text`` column. Served with
``mlflow models serve -m models:/<name>@<alias> --env-manager local``.

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

The generator's model config also holds ``max_new_tokens`` and ``num_beams`` (recorded when logging from
the model directory's ``generation`` metadata, changeable at load time the same way) and ``task``
(``generation``), by which ``served_model.py`` chooses the model class. Both models check their input
the same way (``TextModel``).
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
from lmladder.model.classifier import SequenceClassifier, predict_probabilities
from lmladder.model.directory import ModelBundle, load_model_directory
from lmladder.model.generation import check_max_target_tokens, generate_texts
from lmladder.model.model import EncoderDecoder, Transformer

MODEL_DIR_ARTIFACT = "model_dir"
TEXT_COLUMN = "text"
MAX_TEXT_CHARS = "max_text_chars"  # the model config keys
MAX_NEW_TOKENS = "max_new_tokens"
NUM_BEAMS = "num_beams"
LENGTH_PENALTY = "length_penalty"
TASK = "task"  # the generator's model config says which model class served_model.py sets
GENERATION_TASK = "generation"
CLASSIFICATION_TASK = "classification"
GENERATED_COLUMN = "generated_text"
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


def generator_signature() -> ModelSignature:
    # Any, not string: see the module docstring (predict checks the type itself)
    return ModelSignature(inputs=Schema([ColSpec(AnyType(), TEXT_COLUMN)]), outputs=Schema([ColSpec("string", GENERATED_COLUMN)]))


def predict_frame(model, tokenizer, texts: list[str]) -> pd.DataFrame:
    """Labels and class probabilities for texts; too-long texts are truncated to the model's length."""
    labels = list(model.classifier_config.labels)
    probabilities = predict_probabilities(model, tokenizer, texts).numpy().astype("float64")
    frame = pd.DataFrame(probabilities, columns=[probability_column(label) for label in labels])
    frame.insert(0, "label", [labels[i] for i in probabilities.argmax(axis=1)] if len(texts) else [])
    return frame


def _is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def checked_max_text_chars(value, model: str = "classifier") -> int:
    """The model config's ``max_text_chars``: a whole number of characters above zero."""
    if not _is_positive_int(value):
        raise ConfigError(
            f"the {model}'s model config needs {MAX_TEXT_CHARS} as a whole number of characters above 0, got {value!r}; set "
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


def checked_generation_setting(key: str, value) -> int:
    """The generator's model config's ``max_new_tokens`` or ``num_beams``: a whole number above zero."""
    if not _is_positive_int(value):
        raise ConfigError(
            f"the generator's model config needs {key} as a whole number above 0, got {value!r}; it is recorded from the "
            f"model directory's generation metadata (or log_and_register_generator's {key}) when registering, or pass "
            f"model_config={{'{key}': N}} to mlflow.pyfunc.load_model (MLFLOW_PYFUNC_INFERENCE_CONFIG='{{\"{key}\": N}}' "
            "for mlflow models serve)"
        )
    return value


def check_generator(bundle: ModelBundle) -> None:
    """Refuse a model directory that cannot write text: a classifier, or an encoder alone."""
    model = bundle.model
    if isinstance(model, (Transformer, EncoderDecoder)):
        writes = model.config.architecture in ("decoder", "encoder-decoder")
        kind = f"an {model.config.architecture} alone"
    else:
        writes, kind = False, "a classifier" if isinstance(model, SequenceClassifier) else f"a {type(model).__name__}"
    if not writes:
        raise ConfigError(
            f"a generator needs a decoder (fine-tuned as a prefix LM) or an encoder-decoder; this model directory holds {kind}"
        )
    task = bundle.metadata.get(TASK, GENERATION_TASK)
    if task != GENERATION_TASK:
        raise ConfigError(f"a generator's model directory has task {GENERATION_TASK!r} in its metadata; this one has task {task!r}")


def checked_max_new_tokens(model, value) -> int:
    """``max_new_tokens`` of the model config, known to fit the model's positions."""

    value = checked_generation_setting(MAX_NEW_TOKENS, value)
    try:
        check_max_target_tokens(model, value)
    except ConfigError as error:
        raise ConfigError(
            f"the generator's model config has {MAX_NEW_TOKENS}={value}, more than this model can write ({error}); pass a smaller "
            f"model_config={{'{MAX_NEW_TOKENS}': N}} (MLFLOW_PYFUNC_INFERENCE_CONFIG for mlflow models serve)"
        ) from error
    return value


class TextModel(PythonModel):
    """A pyfunc model of one ``text`` column in: checks the input (``check_texts``) and predicts in chunks."""

    kind = "model"  # how the model config's errors name it

    def __init__(self, max_text_chars: int | None = None):
        # Set by load_context from the model config; given here only when predict is called directly.
        self.max_text_chars = max_text_chars

    def load_context(self, context) -> None:
        self.max_text_chars = checked_max_text_chars((context.model_config or {}).get(MAX_TEXT_CHARS), self.kind)
        bundle = load_model_directory(context.artifacts[MODEL_DIR_ARTIFACT])
        self.model, self.tokenizer = bundle.model, bundle.tokenizer
        self.configure(bundle, context.model_config or {})

    def configure(self, bundle: ModelBundle, model_config: dict) -> None:
        """Check the loaded model directory and read the model config's other settings."""

    def predict_chunk(self, texts: list[str]) -> pd.DataFrame:
        raise NotImplementedError

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        if not isinstance(model_input, pd.DataFrame) or TEXT_COLUMN not in model_input.columns:
            columns = list(model_input.columns) if isinstance(model_input, pd.DataFrame) else type(model_input).__name__
            raise MlflowException(
                f"the request needs a {TEXT_COLUMN!r} column of strings; got {columns}",
                error_code=INVALID_PARAMETER_VALUE,
            )
        texts = check_texts(model_input[TEXT_COLUMN], checked_max_text_chars(self.max_text_chars, self.kind))
        chunks = [texts[start : start + PREDICT_CHUNK_ROWS] for start in range(0, len(texts), PREDICT_CHUNK_ROWS)]
        frames = [self.predict_chunk(chunk) for chunk in chunks or [[]]]
        return pd.concat(frames, ignore_index=True)


class TextClassifierModel(TextModel):
    kind = "classifier"

    def configure(self, bundle: ModelBundle, model_config: dict) -> None:
        if not isinstance(bundle.model, SequenceClassifier):
            raise ConfigError(
                f"the classifier's model directory holds no classifier (its model is an lmladder {type(bundle.model).__name__}); "
                f"a generator is logged with {TASK}={GENERATION_TASK!r} in its model config (log_and_register_generator)"
            )

    def predict_chunk(self, texts: list[str]) -> pd.DataFrame:
        return predict_frame(self.model, self.tokenizer, texts)


class TextGeneratorModel(TextModel):
    """The text a sequence-to-sequence model writes for each ``text``: one ``generated_text`` column."""

    kind = "generator"

    def __init__(self, max_text_chars: int | None = None, max_new_tokens: int | None = None, num_beams: int | None = None):
        super().__init__(max_text_chars)
        self.max_new_tokens, self.num_beams, self.length_penalty = max_new_tokens, num_beams, 1.0

    def configure(self, bundle: ModelBundle, model_config: dict) -> None:
        check_generator(bundle)
        self.max_new_tokens = checked_max_new_tokens(bundle.model, model_config.get(MAX_NEW_TOKENS))
        self.num_beams = checked_generation_setting(NUM_BEAMS, model_config.get(NUM_BEAMS))
        self.length_penalty = float(model_config.get(LENGTH_PENALTY, 1.0))

    def predict_chunk(self, texts: list[str]) -> pd.DataFrame:
        max_new_tokens = checked_max_new_tokens(self.model, self.max_new_tokens)
        num_beams = checked_generation_setting(NUM_BEAMS, self.num_beams)
        generated = generate_texts(self.model, self.tokenizer, texts, max_new_tokens, num_beams, self.length_penalty)
        return pd.DataFrame({GENERATED_COLUMN: pd.Series(generated, dtype=object)})
