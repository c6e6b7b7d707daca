"""The pairs of task: generation: reading, sampling by hashed id, cleaning with a ledger, splitting,
and decontaminating a corpus of either kind against the held-out pairs."""

from __future__ import annotations

import logging
import typing

import datasets
import pandas as pd
import pytest

from lmladder import parameters as schema
from lmladder.corpus.accounting import has_classes
from lmladder.corpus.code_summaries import EXAMPLE_COLUMNS, SharedAcrossSplitsError
from lmladder.corpus.dedup import dedup_key
from lmladder.corpus.documents import decontaminate_documents_against_pairs
from lmladder.corpus.pairs import (
    PAIR_SOURCES,
    TASKS,
    clean_pairs,
    is_generation,
    read_pairs,
    select_by_hashed_id,
    split_pair_examples,
)
from lmladder.errors import ConfigError, FilteredOutError, MissingColumnError

TABLE_PARAMS = {"source": "table", "source_column": "code", "target_column": "summary", "id_column": None, "max_examples": None}


def _pairs(rows) -> pd.DataFrame:
    return pd.DataFrame([{"id": i, "module": "m", "text": text, "target": target} for i, text, target in rows], columns=EXAMPLE_COLUMNS)


def _many(n: int) -> pd.DataFrame:
    return _pairs([(f"m:f{i}", f"def f{i}():\n    return {i}", f"Return the number {i} as it is.") for i in range(n)])


def test_the_task_and_source_names_are_the_schemas():
    assert TASKS == typing.get_args(typing.get_type_hints(schema.Parameters)["task"])
    assert PAIR_SOURCES == typing.get_args(typing.get_type_hints(schema.Pairs)["source"])


def test_an_unknown_task_is_refused_naming_the_choices():
    assert is_generation("generation") and not is_generation("classification")
    with pytest.raises(ConfigError, match=r"task must be one of \('classification', 'generation'\), got 'summarise'"):
        is_generation("summarise")


def test_max_examples_keeps_the_lowest_hashed_ids_whatever_the_row_order(caplog):
    pairs = _many(50)
    with caplog.at_level(logging.INFO, logger="lmladder.corpus.pairs"):
        kept = select_by_hashed_id(pairs, 10, seed=1)
    assert "pairs: kept 10 of 50 pairs, chosen by hashed id (data_processing.pairs.max_examples)" in caplog.text
    shuffled = select_by_hashed_id(pairs.sample(frac=1, random_state=3), 10, seed=1)
    assert sorted(kept["id"]) == sorted(shuffled["id"])
    assert kept["id"].tolist() == [example_id for example_id in pairs["id"] if example_id in set(kept["id"])]  # input order kept
    assert set(kept["id"]) < set(select_by_hashed_id(pairs, 20, seed=1)["id"])
    assert set(select_by_hashed_id(pairs, 10, seed=2)["id"]) != set(kept["id"])
    assert len(select_by_hashed_id(pairs, None, seed=1)) == len(select_by_hashed_id(pairs, 50, seed=1)) == 50


def test_a_table_source_reads_its_columns_and_names_a_missing_one():
    table = pd.DataFrame({"code": ["def a(): pass", None], "summary": ["Do nothing at all here.", "Lost."]})
    pairs = read_pairs(table, TABLE_PARAMS)
    assert pairs.to_dict("records") == [{"id": "row-0", "module": "", "text": "def a(): pass", "target": "Do nothing at all here."}]
    with pytest.raises(MissingColumnError, match=r"no column 'summary' \(the target_column parameter\)"):
        read_pairs(table.drop(columns="summary"), TABLE_PARAMS)


def test_a_table_with_no_usable_row_says_what_was_dropped():
    table = pd.DataFrame({"code": ["  ", None], "summary": ["x", "y"]})
    with pytest.raises(FilteredOutError, match=r"no usable pair: 2 rows, dropped \{'source_missing': 1, 'source_blank': 1\}"):
        read_pairs(table, TABLE_PARAMS)


def test_an_unknown_source_is_refused_naming_the_parameter():
    with pytest.raises(ConfigError, match=r"data_processing.pairs.source must be one of \('code_summaries', 'table'\), got 'hub'"):
        read_pairs(pd.DataFrame(), {**TABLE_PARAMS, "source": "hub"})


def test_cleaning_masks_pii_keeps_code_layout_and_drops_empty_and_duplicate_pairs(caplog):
    code = "def connect(self):\r\n    if self.ok:\t\n        return socket('10.1.2.3')\n\n"
    pairs = _pairs(
        [
            ("a", code, "Connect to the  server, or write to admin@example.com."),
            ("b", "\x00\n   \n", "A source that is empty once cleaned."),
            ("c", "def f():\n    return 1", " "),  # a target of one space: empty once cleaned
            ("d", "DEF F():\n    return   1", "Return one, always and forever."),
            ("e", "def f():\n    return 1", "return ONE, always and forever."),  # d up to case and spacing
        ]
    )
    with caplog.at_level(logging.INFO, logger="lmladder.corpus.accounting"):
        kept, ledger = clean_pairs(pairs, mask_personal_data=True)
    assert kept["id"].tolist() == ["a", "d"]
    assert kept.loc[0, "text"] == "def connect(self):\n    if self.ok:\n        return socket('<IP>')"  # indentation kept
    assert kept.loc[0, "target"] == "Connect to the server, or write to <EMAIL>."
    assert ledger == {
        "settings": "data_processing.pairs",
        "rows_in": 5,
        "rows_out": 2,
        "steps": [
            {"step": "empty_source", "parameter": None, "rows_in": 5, "removed": 1},
            {"step": "empty_target", "parameter": None, "rows_in": 4, "removed": 1},
            {"step": "exact_duplicates", "parameter": None, "rows_in": 3, "removed": 1},
        ],
        "pii_masked": {"emails": 1, "ips": 1, "phones": 0},
    }
    assert not has_classes(ledger)
    for line in ("pairs: empty_source removed 1 of 5", "pairs: exact_duplicates removed 1 of 3", "pairs: 5 in, 2 out, 3 removed"):
        assert line in caplog.text
    assert "class shares" not in caplog.text
    unmasked, ledger = clean_pairs(pairs, mask_personal_data=False)
    assert "10.1.2.3" in unmasked.loc[0, "text"] and ledger["pii_masked"] == {"emails": 0, "ips": 0, "phones": 0}


def test_cleaning_that_leaves_no_pair_names_the_step():
    with pytest.raises(FilteredOutError, match=r"0 pairs left of 2; the empty_target step removed the most \(2\)"):
        clean_pairs(_pairs([("a", "def a(): pass", " "), ("b", "def b(): pass", "\n")]), mask_personal_data=True)


def test_splits_share_no_source_or_target_and_a_shared_one_is_refused(monkeypatch):
    pairs = pd.concat([_many(200), _pairs([("m:copy", "def f7():\n    return 7", "A summary of its own, not shared.")])], ignore_index=True)
    train, val, test = split_pair_examples(pairs, 0.15, 0.15, seed=0)
    assert (len(train), len(val), len(test)) == (141, 30, 30)
    keys = {name: set(split["text"].map(dedup_key)) for name, split in (("train", train), ("val", val), ("test", test))}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]

    def leaky_split(examples, val_fraction, test_fraction, seed):
        return examples.iloc[:150], examples.iloc[150:], examples.iloc[[0]]  # m:f0 in train and test

    monkeypatch.setattr("lmladder.corpus.pairs.split_pairs", leaky_split)
    with pytest.raises(SharedAcrossSplitsError, match=r"function 'm:f0' \(its source\) is in both train and test"):
        split_pair_examples(pairs, 0.15, 0.15, seed=0)


HELD_OUT = _pairs(
    [
        (
            "json:dumps",
            "def dumps(obj):\n    return JSONEncoder(skipkeys=skipkeys, ensure_ascii=ensure_ascii).encode(obj)",
            "Serialize obj to a JSON formatted str.",
        ),
        ("m:name", "def name(self):\n    return self._name", "Return the name."),
    ]
)
CORPUS = pd.DataFrame(
    {
        "doc_id": ["json:dumps", "other:doc", "code:doc", "short:doc", "clean:doc", "clean:doc"],
        "source": "m",
        "text": [
            "Serialize obj to a JSON formatted str, and more.",  # by id
            "As the docs say: SERIALIZE obj to a JSON\nformatted str. Then more.",  # by summary
            "Use JSONEncoder(skipkeys=skipkeys, ensure_ascii=ensure_ascii).encode(obj) to encode.",  # by 6-gram of the source
            "Return the name. A short summary proves no leak.",
            "Nothing to do with the held-out pairs.",
            "A second document with a repeated id, also clean.",
        ],
    }
)


@pytest.mark.parametrize("kind", ["dataframe", "arrow"])
def test_decontamination_against_pairs_returns_the_dropped_ids_for_either_kind_of_corpus(kind):
    corpus = CORPUS if kind == "dataframe" else datasets.Dataset.from_pandas(CORPUS, preserve_index=False)
    kept, removed = decontaminate_documents_against_pairs(corpus, HELD_OUT, ngram_size=6, min_target_words=6)
    assert removed == ["json:dumps", "other:doc", "code:doc"]
    assert list(kept["doc_id"]) == ["short:doc", "clean:doc", "clean:doc"]
    assert isinstance(kept, pd.DataFrame if kind == "dataframe" else datasets.Dataset)
    assert list(kept.column_names if kind == "arrow" else kept.columns) == ["doc_id", "source", "text"]
