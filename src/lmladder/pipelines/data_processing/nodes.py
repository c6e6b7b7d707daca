"""Thin nodes: unpack parameters, call ``lmladder.corpus``, shape outputs for the catalog.

The labelled data follows the top-level ``task``: labelled texts (``classification``), or (source,
target) pairs (``generation``, ``lmladder.corpus.pairs``) in the same datasets (``labelled_train``
and so on, with the columns id, module, text, target). The corpus, tokenizer and token files are
the same for both tasks, but for the decontamination against the held-out pairs.

The corpus steps take a DataFrame, or a ``datasets.Dataset`` when the raw corpus is loaded with
``in_memory: false`` (corpora larger than memory); ``lmladder.corpus.documents`` then runs the
Arrow-backed versions in ``lmladder.corpus.large``. The labelled data is always a DataFrame.
"""

from __future__ import annotations

import pandas as pd
from tokenizers import Tokenizer

from lmladder.corpus.accounting import corpus_ledger, log_ledger
from lmladder.corpus.cleaning import QualityFilters
from lmladder.corpus.decontamination import held_out_texts
from lmladder.corpus.documents import (
    Documents,
    clean_corpus_documents,
    decontaminate_documents,
    decontaminate_documents_against_pairs,
    documents_from_raw,
    split_documents,
    text_dataset,
    tokenizer_texts,
)
from lmladder.corpus.fingerprint import inputs_fingerprint
from lmladder.corpus.labelled import clean_labelled_set
from lmladder.corpus.labelling import labelled_examples
from lmladder.corpus.packing import TokenFile, TokenStream
from lmladder.corpus.pairs import clean_pairs, is_generation, pair_examples, split_pair_examples
from lmladder.corpus.splits import split_labelled
from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.validation.gate import output_fingerprints


def fingerprint_data(raw_corpus: Documents, raw_labelled: pd.DataFrame, params: dict, task: str) -> str:
    is_generation(task)  # refuses an unknown task before anything is computed
    return inputs_fingerprint(raw_corpus, raw_labelled, params, task)


def prepare_corpus(raw_corpus: Documents, params: dict) -> Documents:
    return documents_from_raw(raw_corpus, params["text_column"], params["id_column"], params["text_columns"], params["num_proc"])


def prepare_labelled(raw_labelled: pd.DataFrame, params: dict, task: str, pairs: dict, seed: int) -> pd.DataFrame:
    """Labelled examples (doc_id, text, label), or for ``task: generation`` the pairs (id, module, text,
    target) that ``data_processing.pairs`` names, at most ``max_examples`` of them."""
    if is_generation(task):
        return pair_examples(raw_labelled, pairs, seed)
    return labelled_examples(raw_labelled, params)


def clean_corpus(corpus_documents: Documents, cleaning: dict, dedup: dict, corpus: dict) -> tuple[Documents, dict]:
    """Normalise, mask PII, filter and deduplicate the pretraining corpus."""
    return clean_corpus_documents(
        corpus_documents,
        QualityFilters.from_settings(cleaning),
        cleaning["mask_pii"],
        dedup["threshold"],
        dedup["num_perm"],
        dedup["shingle_size"],
        corpus["num_proc"],
    )


def clean_labelled(examples: pd.DataFrame, mask_pii: bool, labelled: dict, seed: int, task: str) -> tuple[pd.DataFrame, dict]:
    """Normalise, mask PII and filter the labelled examples, drop duplicates, cap each class; every
    removal is logged (per class) and recorded in the ledger that data validation checks. Pairs
    (``task: generation``) lose only empty and duplicate pairs, in a ledger without classes."""
    if is_generation(task):
        return clean_pairs(examples, mask_pii)
    return clean_labelled_set(examples, mask_pii, labelled, seed)


def split_labelled_examples(examples: pd.DataFrame, splits: dict, seed: int, task: str) -> tuple[pd.DataFrame, ...]:
    """Stratified by label, or for pairs with no function body or summary in two splits."""
    split = split_pair_examples if is_generation(task) else split_labelled
    return split(examples, splits["labelled_val_fraction"], splits["labelled_test_fraction"], seed)


def decontaminate_corpus(
    corpus: Documents,
    labelled_val: pd.DataFrame,
    labelled_test: pd.DataFrame,
    ngram_size: int,
    corpus_params: dict,
    task: str = "classification",
    min_target_words: int = 6,
) -> tuple[Documents, list[str]]:
    """Drop pretraining documents that share an n-gram with the held-out labelled texts; for pairs,
    also the held-out functions' docstrings (by id) and documents holding a held-out summary.
    (Defaults for the last two: benchmarks/bench_large_corpus.py calls this node with five.)"""
    if is_generation(task):
        held_out = pd.concat([labelled_val, labelled_test], ignore_index=True)
        return decontaminate_documents_against_pairs(corpus, held_out, ngram_size, min_target_words, corpus_params["num_proc"])
    return decontaminate_documents(corpus, held_out_texts(labelled_val, labelled_test), ngram_size, corpus_params["num_proc"])


def split_corpus_documents(corpus: Documents, splits: dict, seed: int, corpus_params: dict) -> tuple[Documents, Documents]:
    return split_documents(corpus, splits["corpus_val_fraction"], seed, corpus_params["num_proc"])


def train_tokenizer(corpus_train: Documents, params: dict, seed: int) -> Tokenizer:
    """BPE on the training documents, or on a random sample of ``max_training_mb`` of them."""
    texts = tokenizer_texts(corpus_train, params["max_training_mb"], seed)
    return train_bpe_tokenizer(texts, params["vocab_size"], params["min_frequency"])


def tokenize_documents(documents: Documents, tokenizer: Tokenizer, data_fingerprint: str, params: dict) -> TokenStream:
    """A lazy token stream: the token-file dataset writes it batch by batch."""
    return TokenStream(text_dataset(documents), tokenizer, params["batch_size"], params["num_proc"], data_fingerprint)


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
    task: str,
) -> tuple[dict, dict]:
    """Corpus statistics as MLflow metrics and as a JSON summary artifact.

    The summary is the last output written, and records what every row became (``removals``) and a
    fingerprint of each output (``outputs``): data validation checks the files against it. Pairs
    (``task: generation``) are counted per split like labelled examples, with no class counts.
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
        "labelled": labelled if is_generation(task) else {**labelled, "class_counts": labelled_ledger["class_counts_out"]},
        "tokens": tokens,
        "removals": removals,
        "outputs": outputs,
        "contaminated_doc_ids": contaminated_ids,
    }
    return {name: {"value": float(value), "step": 0} for name, value in metrics.items()}, summary
