"""Thin nodes: unpack parameters, call ``lmladder.corpus``, shape outputs for the catalog.

The corpus steps take a DataFrame, or a ``datasets.Dataset`` when the raw corpus is loaded with
``in_memory: false`` (corpora larger than memory); they then run the Arrow-backed versions in
``lmladder.corpus.large``. The labelled data is always a DataFrame.
"""

from __future__ import annotations

import logging

import datasets
import pandas as pd
from tokenizers import Tokenizer

from lmladder.corpus import large
from lmladder.corpus.accounting import corpus_ledger, log_ledger
from lmladder.corpus.cleaning import QualityFilters, clean_documents
from lmladder.corpus.decontamination import decontaminate
from lmladder.corpus.dedup import deduplicate
from lmladder.corpus.fingerprint import fingerprint
from lmladder.corpus.labelled import clean_labelled_examples, labelled_settings
from lmladder.corpus.labelling import check_label_set, label_by_domain, label_from_columns
from lmladder.corpus.packing import TokenFile, TokenStream
from lmladder.corpus.sources import documents_from_table
from lmladder.corpus.splits import split_corpus, split_labelled
from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.errors import ConfigError, FilteredOutError
from lmladder.validation.gate import output_fingerprints

LABEL_SOURCES = ("module_domains", "column")

log = logging.getLogger(__name__)


Documents = pd.DataFrame | datasets.Dataset


def fingerprint_data(raw_corpus: Documents, raw_labelled: pd.DataFrame, params: dict) -> str:
    return fingerprint({"corpus": raw_corpus, "labelled": raw_labelled}, params)


def prepare_corpus(raw_corpus: Documents, params: dict) -> Documents:
    if isinstance(raw_corpus, datasets.Dataset):
        return large.documents_from_dataset(
            raw_corpus, params["text_column"], params["id_column"], params["num_proc"], text_columns=params["text_columns"]
        )
    return documents_from_table(raw_corpus, params["text_column"], params["id_column"], params["text_columns"])


def prepare_labelled(raw_labelled: pd.DataFrame, params: dict) -> pd.DataFrame:
    label_from = params["label_from"]
    if label_from == "module_domains":
        examples = label_by_domain(raw_labelled, params["module_domains"]["domains"])
        # Selection, not cleaning: the labelled set is the docstrings of the listed modules.
        log.info("labelled: %d of %d docstrings belong to a module listed in labelled.module_domains.domains", len(examples), len(raw_labelled))
    elif label_from == "column":
        examples = label_from_columns(
            raw_labelled, params["text_column"], params["label_column"], params["id_column"], params["text_columns"]
        )
    else:
        raise ConfigError(f"data_processing.labelled.label_from must be one of {LABEL_SOURCES}, got {label_from!r}")
    check_label_set(examples, params["labels"])
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
        docs, stats = large.clean_large_corpus(corpus_documents, filters, cleaning["mask_pii"], near, corpus["num_proc"])
        _require_documents(docs, stats, "corpus")
        return docs, stats
    docs, stats = clean_documents(corpus_documents, filters, cleaning["mask_pii"])
    _require_documents(docs, stats, "corpus")
    docs, dedup_stats = deduplicate(docs, dedup["threshold"], dedup["num_perm"], dedup["shingle_size"])
    stats.update(dedup_stats)
    stats["invalid_utf8_sequences"] = int(corpus_documents["invalid_utf8"].sum())
    return docs, stats


def clean_labelled(examples: pd.DataFrame, mask_pii: bool, labelled: dict, seed: int) -> tuple[pd.DataFrame, dict]:
    """Normalise, mask PII and filter the labelled examples, drop duplicates, cap each class; every
    removal is logged (per class) and recorded in the ledger that data validation checks."""
    settings, settings_name = labelled_settings(labelled)
    log.info("labelled: filters, min_words and max_per_class from %s", settings_name)
    kept, ledger = clean_labelled_examples(
        examples, _quality_filters(settings["filters"]), mask_pii, settings["min_words"], settings["max_per_class"], seed, settings_name
    )
    log_ledger("labelled", ledger)
    if kept.empty:
        worst = max(ledger["steps"], key=lambda step: step["removed"])
        fix = f"loosen {worst['parameter']}" if worst["parameter"] else "check the labelled data"
        raise FilteredOutError(
            f"0 labelled examples left of {ledger['rows_in']}; the {worst['step']} step removed the most ({worst['removed']}): {fix}"
        )
    return kept, ledger


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
    labelled_ledger: dict,
    contaminated_ids: list[str],
    labelled_train: pd.DataFrame,
    labelled_val: pd.DataFrame,
    labelled_test: pd.DataFrame,
    corpus_train: Documents,
    corpus_val: Documents,
    tokenizer: Tokenizer,
    train_tokens: TokenFile,
    val_tokens: TokenFile,
    data_fingerprint: str,
) -> tuple[dict, dict]:
    """Corpus statistics as MLflow metrics and as a JSON summary artifact.

    The summary is the last output written, and records what every row became (``removals``) and a
    fingerprint of each output (``outputs``): data validation checks the files against it.
    """
    removals = {"corpus": corpus_ledger(corpus_stats, len(contaminated_ids)), "labelled": labelled_ledger}
    log_ledger("corpus", removals["corpus"])
    corpus = {**corpus_stats, "removed_contaminated": len(contaminated_ids)}
    corpus["docs_out"] = train_tokens.metadata["documents"] + val_tokens.metadata["documents"]
    labelled = {
        "examples_in": labelled_ledger["rows_in"],
        **{f"removed_{step['step']}": step["removed"] for step in labelled_ledger["steps"]},
        **{f"pii_{kind}_masked": count for kind, count in labelled_ledger["pii_masked"].items()},
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
    outputs = output_fingerprints(
        {"train": corpus_train, "val": corpus_val},
        {"train": labelled_train, "val": labelled_val, "test": labelled_test},
        {"train": train_tokens.metadata, "val": val_tokens.metadata},
        tokenizer,
    )
    summary = {
        "fingerprint": data_fingerprint,
        "corpus": corpus,
        "labelled": {**labelled, "class_counts": labelled_ledger["class_counts_out"]},
        "tokens": tokens,
        "removals": removals,
        "outputs": outputs,
        "contaminated_doc_ids": contaminated_ids,
    }
    return {name: {"value": float(value), "step": 0} for name, value in metrics.items()}, summary
