"""Helpers shared by the pipeline tests."""

from __future__ import annotations

import pandas as pd
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import ParquetDataset
from kedro_datasets.text import TextDataset

from lmladder.datasets import TokenFileDataset, TokenizerDataset
from lmladder.pipelines.data_processing import create_pipeline as data_processing
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


def make_catalog(tmp_path, raw_corpus: pd.DataFrame, raw_labelled: pd.DataFrame, params: dict) -> DataCatalog:
    """A catalog for the data_processing pipeline. Outputs the tests inspect are files in ``tmp_path``:
    memory datasets are released mid-run."""
    tables = ["corpus_train", "corpus_val", "labelled_train", "labelled_val", "labelled_test"]
    catalog = DataCatalog(
        {
            **{name: ParquetDataset(filepath=str(tmp_path / f"{name}.parquet")) for name in tables},
            **{name: JSONDataset(filepath=str(tmp_path / f"{name}.json")) for name in ("corpus_metrics", "corpus_summary")},
            "data_fingerprint": TextDataset(filepath=str(tmp_path / "data_fingerprint.txt")),
            "tokenizer": TokenizerDataset(filepath=str(tmp_path / "tokenizer.json")),
            "train_tokens": TokenFileDataset(filepath=str(tmp_path / "train_tokens.bin")),
            "val_tokens": TokenFileDataset(filepath=str(tmp_path / "val_tokens.bin")),
        }
    )
    catalog["raw_corpus"] = raw_corpus
    catalog["raw_labelled"] = raw_labelled
    add_parameters(catalog, params)
    return catalog


def run_data_processing(catalog: DataCatalog) -> DataCatalog:
    """The data_processing pipeline on ``catalog`` (see ``make_catalog``); the catalog, to load outputs from."""
    SequentialRunner().run(data_processing(), catalog)
    return catalog
