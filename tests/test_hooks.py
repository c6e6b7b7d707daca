import pytest

from lmladder.errors import ConfigError
from lmladder.hooks import check_corpus_catalog

ARROW_CORPUS = {"type": "lmladder.datasets.TextSourceDataset", "source": "hub", "dataset": "x", "in_memory": False}
ARROW_OUTPUT = {"type": "lmladder.datasets.ArrowDataset", "path": "data/03_primary/corpus_train"}
PARQUET_OUTPUT = {"type": "pandas.ParquetDataset", "filepath": "data/03_primary/corpus_val.parquet"}


def test_an_arrow_corpus_with_arrow_outputs_and_an_in_memory_corpus_with_any_outputs_pass():
    check_corpus_catalog({"raw_corpus": ARROW_CORPUS, "corpus_train": ARROW_OUTPUT, "corpus_val": ARROW_OUTPUT})
    check_corpus_catalog({"raw_corpus": {**ARROW_CORPUS, "in_memory": True}, "corpus_train": PARQUET_OUTPUT, "corpus_val": ARROW_OUTPUT})
    check_corpus_catalog({})


def test_an_arrow_corpus_with_a_pandas_output_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"in_memory: false, so corpus_val must be lmladder.datasets.ArrowDataset in the catalog, not pandas.ParquetDataset"):
        check_corpus_catalog({"raw_corpus": ARROW_CORPUS, "corpus_train": ARROW_OUTPUT, "corpus_val": PARQUET_OUTPUT})
    with pytest.raises(ConfigError, match=r"so corpus_train and corpus_val must be .* not None, pandas.ParquetDataset"):
        check_corpus_catalog({"raw_corpus": ARROW_CORPUS, "corpus_val": PARQUET_OUTPUT})
