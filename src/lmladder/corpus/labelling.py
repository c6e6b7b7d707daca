"""Labelled examples: from a tabular source's columns, or from docstrings by module domain."""

from __future__ import annotations

import logging

import pandas as pd

from lmladder.corpus.sources import check_text_columns, join_text_columns, no_header_hint
from lmladder.errors import ConfigError, MissingColumnError, UnknownLabelError

LABELLED_COLUMNS = ["doc_id", "text", "label"]
LABEL_SOURCES = ("module_domains", "column")

log = logging.getLogger(__name__)


def module_domain_map(domains: dict[str, list[str]]) -> dict[str, str]:
    """Invert ``{domain: [module, ...]}`` into ``{module: domain}``, refusing a module in two domains."""
    by_module: dict[str, str] = {}
    for domain, modules in domains.items():
        for module in modules:
            if module in by_module:
                raise ConfigError(f"module {module!r} is listed under both {by_module[module]!r} and {domain!r}")
            by_module[module] = domain
    return by_module


def domain_of(module: str, by_module: dict[str, str]) -> str | None:
    """The domain of the longest listed prefix of a dotted module name (``email.mime.text`` → ``email``)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        domain = by_module.get(".".join(parts[:end]))
        if domain is not None:
            return domain
    return None


def label_by_domain(docs: pd.DataFrame, domains: dict[str, list[str]]) -> pd.DataFrame:
    """Docstrings labelled with the domain of their module; modules in no domain are dropped."""
    by_module = module_domain_map(domains)
    labels = docs["source"].map(lambda module: domain_of(module, by_module))
    labelled = docs.assign(label=labels).dropna(subset=["label"])
    return labelled[LABELLED_COLUMNS].reset_index(drop=True)


def label_from_columns(
    table: pd.DataFrame,
    text_column: str,
    label_column: str,
    id_column: str | None = None,
    text_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Select and rename the text and label columns of a tabular source; labels become strings.

    The text is ``text_column``, or the ``text_columns`` joined with a newline when set; null
    text cells are empty strings.
    """
    columns = check_text_columns(text_column, text_columns, "labelled")
    text_role = "text_column" if text_columns is None else "text_columns"
    wanted = [*((text_role, column) for column in columns), ("label_column", label_column), ("id_column", id_column)]
    for role, column in wanted:
        if column is not None and column not in table.columns:
            fix = no_header_hint(table.columns, "text, label", f"labelled.{text_role} and labelled.label_column")
            raise MissingColumnError(
                f"labelled data has no column {column!r} (the {role} parameter); "
                f"its columns are {list(table.columns)}.{fix or f' Set labelled.{role} to one of them.'}"
            )
    doc_ids = table[id_column].astype(str) if id_column else pd.Series([f"row-{i}" for i in range(len(table))], index=table.index)
    return pd.DataFrame(
        {"doc_id": doc_ids, "text": join_text_columns(table, columns), "label": table[label_column].astype(str)}
    ).reset_index(drop=True)


def check_label_set(examples: pd.DataFrame, declared: list[str] | None) -> list[str]:
    """The label set: the declared one (every label must belong to it) or the sorted labels seen."""
    seen = sorted(examples["label"].unique())
    if not declared:
        return seen
    declared = [str(label) for label in declared]
    unknown = sorted(set(seen) - set(declared))
    if unknown:
        counts = examples["label"].value_counts()
        listed = ", ".join(f"{label!r} ({counts[label]} rows)" for label in unknown[:10])
        raise UnknownLabelError(
            f"labelled data has labels outside the declared set {declared}: {listed}. Fix the data or add them to labelled.labels."
        )
    return declared


def labelled_examples(raw: pd.DataFrame, params: dict) -> pd.DataFrame:
    """The labelled examples (doc_id, text, label) of a raw labelled source, as ``params``
    (``data_processing.labelled``) says: by module domain (``label_from: module_domains``) or from
    its columns (``label_from: column``); every label must belong to the declared ``labels``."""
    label_from = params["label_from"]
    if label_from == "module_domains":
        examples = label_by_domain(raw, params["module_domains"]["domains"])
        # Selection, not cleaning: the labelled set is the docstrings of the listed modules.
        log.info("labelled: %d of %d docstrings belong to a module listed in labelled.module_domains.domains", len(examples), len(raw))
    elif label_from == "column":
        examples = label_from_columns(raw, params["text_column"], params["label_column"], params["id_column"], params["text_columns"])
    else:
        raise ConfigError(f"data_processing.labelled.label_from must be one of {LABEL_SOURCES}, got {label_from!r}")
    check_label_set(examples, params["labels"])
    return examples


def cap_per_class(examples: pd.DataFrame, max_per_class: int | None, order: pd.Series) -> pd.DataFrame:
    """Keep at most ``max_per_class`` examples of each label, the first by ``order``."""
    if not max_per_class:
        return examples
    ranked = examples.assign(_order=order).sort_values(["label", "_order"], kind="stable")
    capped = ranked.groupby("label", sort=True).head(max_per_class)
    return capped.drop(columns="_order").sort_index().reset_index(drop=True)
