"""lmladder: train a ladder of language models on your text and pick the right size."""

import os

# The project opts out of third-party telemetry; a user can still opt in by setting these.
for _name, _value in {
    "KEDRO_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
