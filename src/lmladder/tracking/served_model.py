"""The classifier's model code, logged with MLflow's "models from code".

MLflow copies this file into the logged model and runs it when the model is loaded (with the
model's ``code/`` folder, lmladder's own code, on ``sys.path``): the model object is built from code
and the safetensors model directory, so loading unpickles nothing. Not imported by lmladder itself.
"""

from mlflow.models import set_model

from lmladder.tracking.pyfunc import TextClassifierModel

set_model(TextClassifierModel())
