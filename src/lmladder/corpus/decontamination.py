"""Decontamination: pretraining text must not contain the texts a model is evaluated on."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from lmladder.corpus.ngrams import ngrams, text_units


def build_ngram_index(eval_texts: Iterable[str], ngram_size: int) -> dict[int, set[str]]:
    """The n-grams of the evaluation texts, grouped by length.

    Texts shorter than ``ngram_size`` units contribute themselves whole, so a short held-out
    text is still caught when a corpus document contains it.
    """
    index: dict[int, set[str]] = {}
    for text in eval_texts:
        units = text_units(text)
        if units:
            index.setdefault(min(len(units), ngram_size), set()).update(ngrams(units, ngram_size))
    return index


def is_contaminated(text: str, index: dict[int, set[str]]) -> bool:
    units = text_units(text)
    return any(
        len(units) >= length and not grams.isdisjoint(ngrams(units, length))
        for length, grams in index.items()
    )


def contaminated_mask(corpus_texts: Iterable[str], eval_texts: Iterable[str], ngram_size: int) -> list[bool]:
    """True for each corpus text sharing an n-gram of ``ngram_size`` units with an eval text."""
    index = build_ngram_index(eval_texts, ngram_size)
    return [is_contaminated(text, index) for text in corpus_texts]


def decontaminate(docs: pd.DataFrame, eval_texts: Iterable[str], ngram_size: int) -> tuple[pd.DataFrame, list[str]]:
    """Drop documents that overlap the evaluation texts; return the rest and the dropped ids."""
    contaminated = np.array(contaminated_mask(docs["text"], eval_texts, ngram_size), dtype=bool)
    return docs[~contaminated].reset_index(drop=True), docs.loc[contaminated, "doc_id"].tolist()
