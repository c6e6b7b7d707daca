from kedro.pipeline import Pipeline

from lmladder.pipelines import retraining


def create_pipeline(**kwargs) -> Pipeline:
    return retraining.create_pipeline(mode="pretrain")
