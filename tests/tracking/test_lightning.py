import mlflow
from mlflow import MlflowClient

from lmladder.tracking.lightning import ActiveRunMLFlowLogger, active_run_logger


def test_active_run_logger_does_not_end_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    previous_uri = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path}/m.db"
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_run(experiment_id=MlflowClient(uri).create_experiment("logger")) as run:
            logger = ActiveRunMLFlowLogger(run_id=run.info.run_id, tracking_uri=uri)
            logger.log_metrics({"train_loss": 1.5}, step=3)
            logger.finalize("success")
            status = MlflowClient(uri).get_run(run.info.run_id).info.status
            assert status == "RUNNING"
        finished = MlflowClient(uri).get_run(run.info.run_id)
        assert finished.info.status == "FINISHED"
        assert finished.data.metrics["train_loss"] == 1.5
    finally:
        mlflow.set_tracking_uri(previous_uri)


def test_no_logger_without_an_active_run():
    assert mlflow.active_run() is None
    assert active_run_logger() is None
