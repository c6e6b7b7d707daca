"""Scores and a classical baseline for sequence-to-sequence generation (code -> summary, translation...).

Every score works in any language: chrF compares characters, ROUGE-L and the length statistics count
script-aware tokens (:func:`tokens`), and BLEU's tokenizer is picked from the references' scripts
(:func:`bleu_tokenizer`). rouge-score is not used: its default tokenizer deletes every non-ASCII
character, so a Chinese summary would score 0 whatever it said.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
from sacrebleu.metrics import BLEU, CHRF
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

from lmladder.corpus.scripts import UNSPACED_SCRIPTS, letter_script, script_mix
from lmladder.errors import ConfigError
from lmladder.evaluation.metrics import _markdown_cell

# BLEU switches from words to characters when at least this share of the references' letters is in
# a script written without spaces (Chinese, Japanese, Thai...): word 4-grams would then be whole clauses.
UNSPACED_SHARE_FOR_CHARACTER_BLEU = 0.5
# ... and uses sacrebleu's ``zh`` (the WMT convention for Chinese) rather than ``char`` only when the
# unspaced letters are Chinese characters: ``zh`` splits Han characters but leaves kana, Thai, Lao and
# Khmer runs whole. Japanese always carries kana (particles), far above this share.
OTHER_UNSPACED_SHARE_FOR_CHAR = 0.01
# The similarity matrix of one prediction batch holds at most about this many numbers (128 MiB).
_SIMILARITY_BATCH_CELLS = 2**24


def tokens(text: str) -> list[str]:
    """Case-folded word tokens that mean the same in every script; ROUGE-L and the length statistics count these.

    A token is a run of letters, digits, underscores and combining marks (Python's ``\\w`` alone would
    cut Hindi or Thai words at every vowel sign). Each letter of a script written without spaces
    (Chinese, Japanese, Thai, Lao, Khmer; :data:`lmladder.corpus.scripts.UNSPACED_SCRIPTS`) is a token
    of its own, with the marks that follow it, since there are no spaces to find its words by.
    Punctuation and whitespace only separate tokens.
    """
    found: list[str] = []
    current: list[str] = []
    current_is_unspaced = False
    for char in text.casefold():
        kind = _char_kind(char)
        if kind == "mark" and current:  # a vowel sign or accent belongs to the letter before it
            current.append(char)
        elif kind == "unspaced" or (kind in ("word", "mark") and current_is_unspaced):
            _flush(current, found)
            current, current_is_unspaced = [char], kind == "unspaced"
        elif kind in ("word", "mark"):
            current.append(char)
        else:
            _flush(current, found)
            current, current_is_unspaced = [], False
    _flush(current, found)
    return found


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (beta = 1) over :func:`tokens`, on a 0-100 scale.

    With beta = 1, F = 2 * LCS / (prediction tokens + reference tokens). When neither text has a
    token (both empty, or only punctuation) the prediction is taken as a perfect match and scores 100,
    so perfect predictions always score 100; when only one of them is empty it scores 0.
    """
    predicted, expected = tokens(prediction), tokens(reference)
    if not predicted and not expected:
        return 100.0
    if not predicted or not expected:
        return 0.0
    return 100.0 * 2 * _longest_common_subsequence(predicted, expected) / (len(predicted) + len(expected))


def bleu_tokenizer(references: list[str]) -> str:
    """The sacrebleu tokenizer that makes BLEU meaningful for these references; all three work offline.

    ``13a`` (sacrebleu's default, words split off punctuation) unless at least
    :data:`UNSPACED_SHARE_FOR_CHARACTER_BLEU` of the references' letters are in unspaced scripts.
    Then ``zh`` when those letters are Chinese characters (each Han character a token, any Latin
    words still words: comparable with published Chinese BLEU), otherwise ``char`` (every character a
    token) for Japanese, Thai, Lao and Khmer. ``ja-mecab``, ``ko-mecab`` and the ``flores``/``spm``
    tokenizers are never chosen: they need MeCab or a model downloaded at run time.
    """
    mix = script_mix(references)
    unspaced = sum(share for script, share in mix.items() if script in UNSPACED_SCRIPTS)
    if unspaced < UNSPACED_SHARE_FOR_CHARACTER_BLEU:
        return "13a"
    not_chinese = unspaced - mix.get("Han", 0.0)
    return "zh" if not_chinese < OTHER_UNSPACED_SHARE_FOR_CHAR else "char"


def generation_metrics(predictions: list[str], references: list[str]) -> dict:
    """Corpus BLEU, chrF, ROUGE-L and exact match (all 0-100), with the length statistics that explain them.

    BLEU and chrF are sacrebleu's corpus scores with one reference per prediction; their signature
    strings are returned so a score can be reproduced. Corpus BLEU is 0 when no prediction reaches
    four tokens (no 4-grams to match), so chrF is the score to read for very short outputs.
    ``rouge_l`` is the mean of :func:`rouge_l` over the examples. ``exact_match`` compares after NFC
    normalisation and collapsing whitespace; case still counts. ``length_ratio`` is the total
    prediction tokens over the total reference tokens (None when the references have no tokens):
    below 1 means the system writes less than the references. An empty prediction is valid and scores 0;
    ``empty_predictions`` and ``empty_references`` count texts that are empty or only whitespace.
    sacrebleu's chrF leaves out examples whose reference is empty (their statistics are all zero),
    while BLEU, ROUGE-L and exact match count them.
    """
    predictions, references = list(predictions), list(references)
    _check_pairs(predictions, references)
    tokenize = bleu_tokenizer(references)
    bleu, chrf = BLEU(tokenize=tokenize), CHRF()
    bleu_score = bleu.corpus_score(predictions, [references])
    chrf_score = chrf.corpus_score(predictions, [references])
    prediction_lengths = [len(tokens(text)) for text in predictions]
    reference_lengths = [len(tokens(text)) for text in references]
    matches = [_normalise(prediction) == _normalise(reference) for prediction, reference in zip(predictions, references, strict=True)]
    return {
        "bleu": float(bleu_score.score),
        "chrf": float(chrf_score.score),
        "rouge_l": float(np.mean([rouge_l(prediction, reference) for prediction, reference in zip(predictions, references, strict=True)])),
        "exact_match": 100.0 * sum(matches) / len(matches),
        "count": len(predictions),
        "mean_prediction_tokens": float(np.mean(prediction_lengths)),
        "mean_reference_tokens": float(np.mean(reference_lengths)),
        "length_ratio": sum(prediction_lengths) / sum(reference_lengths) if sum(reference_lengths) else None,
        "empty_predictions": sum(1 for text in predictions if not text.strip()),
        "empty_references": sum(1 for text in references if not text.strip()),
        "bleu_tokenize": tokenize,
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


class RetrievalBaseline:
    """Answer with the target of the most similar training source: the bar a trained generator has to clear.

    Similarity is the cosine between TF-IDF vectors of character 2-4-grams inside word boundaries
    (``char_wb``) with damped term counts: no word list, so it works for code and for any script,
    Chinese included. It memorises the training pairs instead of learning weights, so its size is
    ``n_train`` stored pairs over a ``vocabulary_size``-gram vocabulary. Ties go to the lowest
    training index, so predictions are deterministic; a source sharing no n-gram with any training
    source gets the first training target, with similarity 0.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 4), max_features: int | None = 200_000):
        self.ngram_range = ngram_range
        self.max_features = max_features
        self.n_train = 0
        self.vocabulary_size = 0
        self._vectorizer: TfidfVectorizer | None = None
        self._train_vectors = None
        self._targets: list[str] = []

    def fit(self, sources: list[str], targets: list[str]) -> RetrievalBaseline:
        """Index the training pairs; returns ``self`` so ``RetrievalBaseline().fit(...).predict(...)`` reads well."""
        sources, targets = list(sources), list(targets)
        if len(sources) != len(targets):
            raise ConfigError(f"Got {len(sources)} training sources but {len(targets)} targets; they must pair up.")
        if not sources:
            raise ConfigError("Nothing to fit: the retrieval baseline got 0 training sources and 0 targets.")
        _check_strings(sources, "sources")
        _check_strings(targets, "targets")
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, sublinear_tf=True, max_features=self.max_features)
        try:
            self._train_vectors = vectorizer.fit_transform(sources)
        except ValueError as error:  # scikit-learn's "empty vocabulary"
            raise ConfigError(
                f"None of the {len(sources)} training sources has a character n-gram to index (are they all empty?)."
            ) from error
        self._vectorizer, self._targets = vectorizer, targets
        self.n_train, self.vocabulary_size = len(sources), len(vectorizer.vocabulary_)
        return self

    def predict(self, sources: list[str]) -> list[str]:
        """The training target of each source's nearest training source."""
        return self.predict_with_similarity(sources)[0]

    def predict_with_similarity(self, sources: list[str]) -> tuple[list[str], list[float]]:
        """The nearest training targets and their cosine similarities (0-1): low similarity flags a guess."""
        if self._vectorizer is None:
            raise NotFittedError("This RetrievalBaseline is not fitted yet; call fit(sources, targets) before predicting.")
        sources = list(sources)
        _check_strings(sources, "sources")
        nearest, similarities = [], []
        batch = max(1, _SIMILARITY_BATCH_CELLS // self.n_train)
        for start in range(0, len(sources), batch):
            # TF-IDF rows are L2-normalised, so the dot product is the cosine; argmax takes the first maximum.
            scores = (self._vectorizer.transform(sources[start : start + batch]) @ self._train_vectors.T).toarray()
            best = scores.argmax(axis=1)
            nearest.extend(int(index) for index in best)
            similarities.extend(float(score) for score in scores[np.arange(len(best)), best])
        return [self._targets[index] for index in nearest], similarities


def samples_markdown(
    sources: list[str],
    references: list[str],
    outputs: dict[str, list[str]],
    n: int = 8,
    max_chars: int = 300,
) -> str:
    """A Markdown table of ``n`` examples spread evenly through the data, one output column per system.

    Reading outputs side by side shows what the scores cannot (a fluent summary of the wrong thing).
    Rows are chosen by position only, so every run and every system shows the same examples; ``#`` is
    the example's 0-based index. Each cell is cut to ``max_chars`` characters with an ellipsis,
    newlines are shown as ``⏎`` and pipes escaped, so one example stays one table row.
    """
    if n < 1 or max_chars < 1:
        raise ConfigError(f"n and max_chars must be positive integers; got n={n}, max_chars={max_chars}.")
    if len(references) != len(sources):
        raise ConfigError(f"Got {len(sources)} sources but {len(references)} references; they must pair up.")
    for system, texts in outputs.items():
        if len(texts) != len(sources):
            raise ConfigError(
                f"System {system!r} has {len(texts)} outputs but there are {len(sources)} sources; each needs one per source."
            )
    systems = list(outputs)
    lines = [
        "| " + " | ".join(["#", "source", "reference", *(_markdown_cell(system) for system in systems)]) + " |",
        "| " + " | ".join(["---:"] + ["---"] * (2 + len(systems))) + " |",
    ]
    shown = min(n, len(sources))
    for index in (step * len(sources) // shown for step in range(shown)):
        cells = [sources[index], references[index], *(outputs[system][index] for system in systems)]
        lines.append("| " + " | ".join([str(index), *(_sample_cell(cell, max_chars) for cell in cells)]) + " |")
    return "\n".join(lines)


def _sample_cell(text: str, max_chars: int) -> str:
    text = str(text)
    if not text.strip():
        return "(empty)"  # an empty output would otherwise look like a rendering glitch
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "⏎ ")
    return _markdown_cell(text)


def _longest_common_subsequence(first: list[str], second: list[str]) -> int:
    # Dynamic programming one row at a time: previous[j] is the LCS of first[:i-1] and second[:j].
    previous = [0] * (len(second) + 1)
    for item in first:
        current = [0]
        for j, other in enumerate(second):
            current.append(previous[j] + 1 if item == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


@lru_cache(maxsize=2**16)
def _char_kind(char: str) -> str:
    # "unspaced": a letter of a script without spaces; "word": other letters, digits and "_";
    # "mark": combining marks (vowel signs, accents); "other": whitespace, punctuation, symbols.
    if letter_script(char) in UNSPACED_SCRIPTS:
        return "unspaced"
    if char.isalnum() or char == "_":
        return "word"
    if unicodedata.category(char).startswith("M"):
        return "mark"
    return "other"


def _flush(current: list[str], found: list[str]) -> None:
    if current:
        found.append("".join(current))


def _normalise(text: str) -> str:
    # NFC so a composed "é" equals "e" + combining accent; whitespace runs (any script's) become one space.
    return " ".join(unicodedata.normalize("NFC", text).split())


def _check_pairs(predictions: list, references: list) -> None:
    if len(predictions) != len(references):
        raise ConfigError(f"Got {len(predictions)} predictions but {len(references)} references; they must pair up.")
    if not predictions:
        raise ConfigError("Nothing to score: predictions and references are both empty.")
    _check_strings(predictions, "predictions")
    _check_strings(references, "references")


def _check_strings(texts: list, name: str) -> None:
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{index}] is a {type(text).__name__}, not a str; every entry must be text (use '' for an empty one).")
