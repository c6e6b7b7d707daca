import pandas as pd
import pytest

from lmladder.corpus.splits import hash_fraction, split_corpus, split_labelled
from lmladder.errors import ConfigError


def _labelled(counts: dict[str, int]) -> pd.DataFrame:
    rows = [(f"{label}{i}", f"text {i} about {label}", label) for label, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["doc_id", "text", "label"])


def test_hash_fraction_is_fixed_by_key_and_seed():
    assert hash_fraction("doc-1", 0) == hash_fraction("doc-1", 0) == 0.9716008599955269
    assert hash_fraction("doc-1", 1) != hash_fraction("doc-1", 0)
    assert hash_fraction("doc-2", 0) != hash_fraction("doc-1", 0)


def test_hash_fraction_is_in_unit_interval():
    values = [hash_fraction(f"key-{i}", seed) for i in range(500) for seed in (0, 7)]
    assert all(0 <= value < 1 for value in values)
    assert 0.4 < sum(values) / len(values) < 0.6


def test_split_corpus_partitions_by_hashed_id():
    docs = pd.DataFrame({"doc_id": [f"doc-{i}" for i in range(200)], "text": ["t"] * 200})
    train, val = split_corpus(docs, val_fraction=0.25, seed=3)
    assert sorted(train["doc_id"].tolist() + val["doc_id"].tolist()) == sorted(docs["doc_id"])
    assert val["doc_id"].tolist() == [d for d in docs["doc_id"] if hash_fraction(d, 3) < 0.25]
    assert len(val) == 41


def test_split_corpus_is_stable_under_row_shuffling():
    docs = pd.DataFrame({"doc_id": [f"doc-{i}" for i in range(200)], "text": ["t"] * 200})
    train, val = split_corpus(docs, 0.25, seed=3)
    train_shuffled, val_shuffled = split_corpus(docs.sample(frac=1, random_state=0), 0.25, seed=3)
    assert set(train_shuffled["doc_id"]) == set(train["doc_id"])
    assert set(val_shuffled["doc_id"]) == set(val["doc_id"])


@pytest.mark.parametrize("val_fraction", [1.0, -0.1, 1.5])
def test_split_corpus_rejects_fraction_out_of_range(val_fraction):
    docs = pd.DataFrame({"doc_id": ["a"], "text": ["t"]})
    with pytest.raises(ConfigError, match=r"val_fraction must be in \[0, 1\)"):
        split_corpus(docs, val_fraction, seed=0)


def test_split_labelled_counts_per_class():
    train, val, test = split_labelled(_labelled({"a": 20, "b": 10}), val_fraction=0.2, test_fraction=0.1, seed=0)
    assert train["label"].value_counts().to_dict() == {"a": 14, "b": 7}
    assert val["label"].value_counts().to_dict() == {"a": 4, "b": 2}
    assert test["label"].value_counts().to_dict() == {"a": 2, "b": 1}
    assert list(train.columns) == ["doc_id", "text", "label"]


def test_split_labelled_shares_no_text_between_splits():
    train, val, test = split_labelled(_labelled({"a": 20, "b": 10}), 0.2, 0.1, seed=0)
    texts = [set(part["text"]) for part in (train, val, test)]
    assert texts[0].isdisjoint(texts[1]) and texts[0].isdisjoint(texts[2]) and texts[1].isdisjoint(texts[2])
    assert sum(map(len, texts)) == 30


def test_split_labelled_is_identical_on_shuffled_input():
    examples = _labelled({"a": 20, "b": 10, "c": 7})
    expected = split_labelled(examples, 0.2, 0.1, seed=5)
    shuffled = split_labelled(examples.sample(frac=1, random_state=1), 0.2, 0.1, seed=5)
    for got, want in zip(shuffled, expected, strict=True):
        assert got.to_dict("records") == want.to_dict("records")


def test_split_labelled_with_zero_fractions_keeps_everything_in_train():
    train, val, test = split_labelled(_labelled({"a": 3}), 0.0, 0.0, seed=0)
    assert (len(train), len(val), len(test)) == (3, 0, 0)


@pytest.mark.parametrize(
    ("val_fraction", "test_fraction", "message"),
    [
        (1.0, 0.1, r"val_fraction must be in \[0, 1\), got 1.0"),
        (0.1, -0.2, r"test_fraction must be in \[0, 1\), got -0.2"),
        (0.5, 0.5, r"val_fraction \+ test_fraction must leave some data for training"),
    ],
)
def test_split_labelled_rejects_bad_fractions(val_fraction, test_fraction, message):
    with pytest.raises(ConfigError, match=message):
        split_labelled(_labelled({"a": 4}), val_fraction, test_fraction, seed=0)


def test_split_labelled_keeps_identical_texts_in_one_split():
    examples = pd.DataFrame({"doc_id": ["d1", "d2"], "text": ["same text", "Same  text"], "label": ["a", "a"]})
    train, val, test = split_labelled(examples, val_fraction=0.0, test_fraction=0.5, seed=0)
    assert sorted(len(part) for part in (train, val, test)) == [0, 0, 2]
