"""Decontamination: pretraining text must not contain the texts a model is evaluated on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lmladder.corpus.ngrams import ngrams, text_units


@dataclass(frozen=True)
class NgramIndex:
    """The n-grams of the evaluation texts by length, and the first unit of each: only a window
    starting with one of those can match, so most windows of a document are never joined."""

    grams: dict[int, set[str]]
    first_units: dict[int, set[str]]


def build_ngram_index(eval_texts: Iterable[str], ngram_size: int) -> NgramIndex:
    """The n-grams of the evaluation texts, grouped by length.

    Texts shorter than ``ngram_size`` units contribute themselves whole, so a short held-out
    text is still caught when a corpus document contains it.
    """
    grams: dict[int, set[str]] = {}
    for text in eval_texts:
        units = text_units(text)
        if units:
            grams.setdefault(min(len(units), ngram_size), set()).update(ngrams(units, ngram_size))
    return NgramIndex(grams, {length: {gram.split(" ", 1)[0] for gram in group} for length, group in grams.items()})


def is_contaminated(text: str, index: NgramIndex) -> bool:
    """True when some window of ``length`` units of the text is an n-gram of that length in the index."""
    units = text_units(text)
    for length, grams in index.grams.items():
        first_units = index.first_units[length]
        for start in range(len(units) - length + 1):
            if units[start] in first_units and " ".join(units[start : start + length]) in grams:
                return True
    return False


def contaminated_mask(corpus_texts: Iterable[str], eval_texts: Iterable[str], ngram_size: int) -> list[bool]:
    """True for each corpus text sharing an n-gram of ``ngram_size`` units with an eval text."""
    index = build_ngram_index(eval_texts, ngram_size)
    return [is_contaminated(text, index) for text in corpus_texts]


def decontaminate(docs: pd.DataFrame, eval_texts: Iterable[str], ngram_size: int) -> tuple[pd.DataFrame, list[str]]:
    """Drop documents that overlap the evaluation texts; return the rest and the dropped ids."""
    contaminated = np.array(contaminated_mask(docs["text"], eval_texts, ngram_size), dtype=bool)
    return docs[~contaminated].reset_index(drop=True), docs.loc[contaminated, "doc_id"].tolist()


def held_out_texts(*labelled_splits: pd.DataFrame) -> list[str]:
    """The texts of the held-out labelled splits (val, test), which the corpus must not contain."""
    return pd.concat([split["text"] for split in labelled_splits]).tolist()
