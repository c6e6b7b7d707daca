"""Helpers shared by the pipeline tests."""

from __future__ import annotations

from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from lmladder.pipelines.finetuning import create_pipeline as finetuning
from tests.conftest import add_parameters, load_parameters
from tests.pipelines.model_inputs import model_inputs


def run_finetuning(tmp_path, **overrides) -> dict:
    """The finetuning pipeline on ``model_inputs``, conf/test parameters with ``overrides`` on
    ``finetuning``; every output, loaded."""
    params = load_parameters("test")
    params["finetuning"].update(max_epochs=3, patience=3, **overrides)
    catalog = DataCatalog()
    for name, value in model_inputs(tmp_path).items():
        catalog[name] = value
    add_parameters(catalog, params)
    return {name: dataset.load() for name, dataset in SequentialRunner().run(finetuning(), catalog).items()}
