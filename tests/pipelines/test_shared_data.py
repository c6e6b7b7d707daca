"""WikiText-2 and SST-2 from the shared data folder as local sources, through the real pipelines."""

from __future__ import annotations

import pytest
from kedro.runner import SequentialRunner

from lmladder.datasets import TextSourceDataset
from lmladder.pipelines.data_processing import create_pipeline as data_processing
from lmladder.pipelines.data_validation import create_pipeline as data_validation
from tests.conftest import SHARED_DATA, load_parameters
from tests.pipelines.data_processing.test_pipeline import make_catalog

pytestmark = pytest.mark.skipif(
    not (SHARED_DATA / "sst2").is_dir() or not (SHARED_DATA / "wikitext-2").is_dir(),
    reason=f"shared data sets not found at {SHARED_DATA} (WikiText-2 and SST-2 are not shipped with the repository)",
)


def test_wikitext_and_sst2_are_processed_and_validated(tmp_path):
    raw_corpus = TextSourceDataset(source="text_files", path=str(SHARED_DATA / "wikitext-2" / "valid.txt"), document_unit="line").load()
    raw_labelled = TextSourceDataset(source="table", path=str(SHARED_DATA / "sst2" / "dev.tsv")).load()
    params = load_parameters("test")
    params["data_processing"]["labelled"].update(label_from="column", text_column="sentence", label_column="label", labels=["0", "1"], min_words=3, max_per_class=None)
    params["data_processing"]["cleaning"]["min_chars"] = 20

    catalog = make_catalog(tmp_path, raw_corpus, raw_labelled, params)
    outputs = SequentialRunner().run(data_processing() + data_validation(), catalog)

    assert outputs["validated_data"].load()["passed"]

    summary = catalog.load("corpus_summary")
    assert summary["corpus"]["docs_in"] == len(raw_corpus) > 1000
    assert summary["labelled"]["class_counts"].keys() == {"0", "1"}
    assert sum(summary["labelled"]["class_counts"].values()) > 800
    assert catalog.load("train_tokens").metadata["token_count"] > 100_000
