"""Thin nodes: unpack parameters, call ``lmladder.corpus``, shape outputs for the catalog.

The corpus steps take a DataFrame, or a ``datasets.Dataset`` when the raw corpus is loaded with
``in_memory: false`` (corpora larger than memory); they then run the Arrow-backed versions in
``lmladder.corpus.large``. The labelled data is always a DataFrame.
"""

from __future__ import annotations

import datasets
import pandas as pd
from tokenizers import Tokenizer

from lmladder.corpus import large
from lmladder.corpus.cleaning import QualityFilters, clean_documents
from lmladder.corpus.decontamination import decontaminate
from lmladder.corpus.dedup import dedup_key, deduplicate
from lmladder.corpus.fingerprint import fingerprint
from lmladder.corpus.labelling import cap_per_class, check_label_set, label_by_domain, label_from_columns
from lmladder.corpus.ngrams import text_units
from lmladder.corpus.packing import TokenFile, TokenStream
from lmladder.corpus.sources import documents_from_table
from lmladder.corpus.splits import hash_fraction, split_corpus, split_labelled
from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.errors import ConfigError, FilteredOutError

LABEL_SOURCES = ("module_domains", "column")


Documents = pd.DataFrame | datasets.Dataset


def fingerprint_data(raw_corpus: Documents, raw_labelled: pd.DataFrame, params: dict) -> str:
    return fingerprint({"corpus": raw_corpus, "labelled": raw_labelled}, params)


def prepare_corpus(raw_corpus: Documents, params: dict) -> Documents:
    if isinstance(raw_corpus, datasets.Dataset):
        return large.documents_from_dataset(raw_corpus, params["text_column"], params.get("id_column"), params.get("num_proc"))
    return documents_from_table(raw_corpus, params["text_column"], params.get("id_column"))


def prepare_labelled(raw_labelled: pd.DataFrame, params: dict) -> pd.DataFrame:
    label_from = params["label_from"]
    if label_from == "module_domains":
        examples = label_by_domain(raw_labelled, params["domains"])
    elif label_from == "column":
        examples = label_from_columns(raw_labelled, params["text_column"], params["label_column"], params.get("id_column"))
    else:
        raise ConfigError(f"data_processing.labelled.label_from must be one of {LABEL_SOURCES}, got {label_from!r}")
    check_label_set(examples, params.get("labels"))
    return examples


def _require_documents(docs: pd.DataFrame, stats: dict[str, int], what: str) -> None:
    if len(docs):
        return
    removals = {name: count for name, count in stats.items() if name.startswith("removed_") and count}
    worst = max(removals, key=removals.get) if removals else "none"
    raise FilteredOutError(
        f"0 documents left after quality filters on the {what} ({stats.get('docs_in', 0)} in; removed per filter: "
        f"{removals}); loosen data_processing.cleaning (the {worst.removeprefix('removed_')} filter removed the most)"
    )


def _quality_filters(cleaning: dict) -> QualityFilters:
    return QualityFilters(**{key: cleaning[key] for key in ("min_chars", "max_chars", "max_symbol_ratio", "min_alpha_ratio")})


def clean_corpus(corpus_documents: Documents, cleaning: dict, dedup: dict, corpus: dict) -> tuple[Documents, dict]:
    """Normalise, mask PII, filter and deduplicate the pretraining corpus."""
    filters = _quality_filters(cleaning)
    if isinstance(corpus_documents, datasets.Dataset):
        near = {"threshold": dedup["threshold"], "num_perm": dedup["num_perm"], "shingle_size": dedup["shingle_size"]}
        docs, stats = large.clean_large_corpus(corpus_documents, filters, cleaning["mask_pii"], near, corpus.get("num_proc"))
        _require_documents(docs, stats, "corpus")
        return docs, stats
    docs, stats = clean_documents(corpus_documents, filters, cleaning["mask_pii"])
    _require_documents(docs, stats, "corpus")
    docs, dedup_stats = deduplicate(docs, dedup["threshold"], dedup["num_perm"], dedup["shingle_size"])
    stats.update(dedup_stats)
    stats["invalid_utf8_sequences"] = int(corpus_documents["invalid_utf8"].sum())
    return docs, stats


def clean_labelled(examples: pd.DataFrame, cleaning: dict, labelled: dict, seed: int) -> tuple[pd.DataFrame, dict]:
    """Normalise, mask PII and filter the labelled examples; drop duplicates and cap each class.

    Texts that appear with two different labels are dropped altogether: either label would be noise.
    """
    filters = _quality_filters(cleaning)
    examples, stats = clean_documents(examples, filters, cleaning["mask_pii"])
    _require_documents(examples, stats, "labelled data")
    short = examples["text"].map(lambda text: len(text_units(text)) < labelled["min_words"])
    examples = examples[~short]
    keys = examples["text"].map(dedup_key)
    conflicting = keys.map(examples.groupby(keys)["label"].nunique()) > 1
    duplicate = keys.duplicated() & ~conflicting
    examples = examples[~conflicting & ~duplicate]
    order = examples["text"].map(lambda text: hash_fraction(dedup_key(text), seed))
    capped = cap_per_class(examples, labelled.get("max_per_class"), order)
    stats.update(
        removed_too_few_words=int(short.sum()),
        removed_conflicting_labels=int(conflicting.sum()),
        removed_exact_duplicates=int(duplicate.sum()),
        removed_class_cap=len(examples) - len(capped),
    )
    _require_documents(capped, stats, "labelled data")
    return capped.reset_index(drop=True), stats


def split_labelled_examples(examples: pd.DataFrame, splits: dict, seed: int) -> tuple[pd.DataFrame, ...]:
    return split_labelled(examples, splits["labelled_val_fraction"], splits["labelled_test_fraction"], seed)


def decontaminate_corpus(
    corpus: Documents, labelled_val: pd.DataFrame, labelled_test: pd.DataFrame, ngram_size: int, corpus_params: dict
) -> tuple[Documents, list[str]]:
    """Drop pretraining documents that share an n-gram with the held-out labelled texts."""
    held_out = pd.concat([labelled_val["text"], labelled_test["text"]])
    if isinstance(corpus, datasets.Dataset):
        return large.decontaminate_large_corpus(corpus, held_out.tolist(), ngram_size, corpus_params.get("num_proc"))
    return decontaminate(corpus, held_out, ngram_size)


def split_corpus_documents(corpus: Documents, splits: dict, seed: int, corpus_params: dict) -> tuple[Documents, Documents]:
    if isinstance(corpus, datasets.Dataset):
        train, val = large.split_large_corpus(corpus, splits["corpus_val_fraction"], seed, corpus_params.get("num_proc"))
    else:
        train, val = split_corpus(corpus, splits["corpus_val_fraction"], seed)
    if len(train) == 0 or len(val) == 0:
        raise FilteredOutError(
            f"the corpus split into {len(train)} train and {len(val)} val documents; both need at least one: "
            "add text or change data_processing.splits.corpus_val_fraction"
        )
    return train, val


def train_tokenizer(corpus_train: Documents, params: dict, seed: int) -> Tokenizer:
    """BPE on the training documents, or on a random sample of ``max_training_mb`` of them."""
    max_mb = params.get("max_training_mb")
    if max_mb is None:
        texts = corpus_train["text"] if isinstance(corpus_train, pd.DataFrame) else large.iter_texts(corpus_train)
    else:
        if isinstance(corpus_train, pd.DataFrame):
            corpus_train = datasets.Dataset.from_pandas(corpus_train[["text"]], preserve_index=False)
        texts = large.sample_texts(corpus_train, int(max_mb * 2**20), seed)
    return train_bpe_tokenizer(texts, params["vocab_size"], params["min_frequency"])


def tokenize_documents(documents: Documents, tokenizer: Tokenizer, data_fingerprint: str, params: dict) -> TokenStream:
    """A lazy token stream: the token-file dataset writes it batch by batch."""
    if isinstance(documents, pd.DataFrame):
        documents = datasets.Dataset.from_pandas(documents[["text"]], preserve_index=False)
    return TokenStream(documents.select_columns(["text"]), tokenizer, params["batch_size"], params.get("num_proc"), data_fingerprint)


def summarise_corpus(
    corpus_stats: dict,
    labelled_stats: dict,
    contaminated_ids: list[str],
    labelled_train: pd.DataFrame,
    labelled_val: pd.DataFrame,
    labelled_test: pd.DataFrame,
    train_tokens: TokenFile,
    val_tokens: TokenFile,
    data_fingerprint: str,
) -> tuple[dict, dict]:
    """Corpus statistics as MLflow metrics and as a JSON summary artifact."""
    corpus = {**corpus_stats, "removed_contaminated": len(contaminated_ids)}
    corpus["docs_out"] = train_tokens.metadata["documents"] + val_tokens.metadata["documents"]
    labelled = {
        **labelled_stats,
        **{f"{name}_examples": len(split) for name, split in (("train", labelled_train), ("val", labelled_val), ("test", labelled_test))},
    }
    tokens = {
        "train_tokens": train_tokens.metadata["token_count"],
        "val_tokens": val_tokens.metadata["token_count"],
        "vocab_size": train_tokens.metadata["vocab_size"],
        "bytes_per_token": train_tokens.metadata["bytes_per_token"],
    }
    metrics = {
        **{f"corpus.{k}": v for k, v in corpus.items()},
        **{f"labelled.{k}": v for k, v in labelled.items()},
        **{f"tokens.{k}": v for k, v in tokens.items()},
    }
    class_counts = pd.concat([labelled_train, labelled_val, labelled_test])["label"].value_counts().sort_index()
    summary = {
        "fingerprint": data_fingerprint,
        "corpus": corpus,
        "labelled": {**labelled, "class_counts": {str(k): int(v) for k, v in class_counts.items()}},
        "tokens": tokens,
        "contaminated_doc_ids": contaminated_ids,
    }
    return {name: {"value": float(value), "step": 0} for name, value in metrics.items()}, summary
