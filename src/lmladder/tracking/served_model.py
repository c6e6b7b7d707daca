"""The served model's code (classifier or generator), logged with MLflow's "models from code".

MLflow copies this file into the logged model and runs it when the model is loaded (with the
model's ``code/`` folder, lmladder's own code, on ``sys.path``): the model object is built from code
and the safetensors model directory, so loading unpickles nothing. Not imported by lmladder itself.

Which model: the logged model config's ``task`` (read with ``mlflow.models.ModelConfig``, the config
MLflow runs this file with): ``generation`` for the generator; a classifier otherwise, so versions
logged before the generator existed (whose config has no ``task``) load as they did.
"""

from mlflow.models import ModelConfig, set_model

from lmladder.tracking.pyfunc import GENERATION_TASK, TASK, TextClassifierModel, TextGeneratorModel


def logged_task() -> str | None:
    try:
        config = ModelConfig().to_dict()
    except FileNotFoundError:  # logged without a model config
        return None
    return config.get(TASK) if isinstance(config, dict) else None


set_model(TextGeneratorModel() if logged_task() == GENERATION_TASK else TextClassifierModel())
