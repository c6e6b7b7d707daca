"""Lightning logging into the MLflow run that kedro-mlflow opened for this ``kedro run``."""

from __future__ import annotations

import mlflow
from pytorch_lightning.loggers import MLFlowLogger


class ActiveRunMLFlowLogger(MLFlowLogger):
    """Lightning's MLflow logger writing into an existing run that someone else owns and ends.

    The stock ``finalize`` marks the run FINISHED when ``fit`` returns, while the Kedro pipeline
    (and its chance to fail) is still going; kedro-mlflow ends the run itself.
    """

    def finalize(self, status: str = "success") -> None:
        pass


def active_run_logger() -> ActiveRunMLFlowLogger | None:
    """Lightning's MLflow logger bound to the active run (None when tracking is off)."""
    run = mlflow.active_run()
    if run is None:
        return None
    return ActiveRunMLFlowLogger(run_id=run.info.run_id, tracking_uri=mlflow.get_tracking_uri())
