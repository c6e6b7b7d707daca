"""Raw data readers: local text files, tables (CSV/TSV/JSONL/Parquet) and the Hugging Face Hub,
as a DataFrame or (``*_dataset`` / ``in_memory=False``) as a memory-mapped Arrow ``datasets.Dataset``.

Invalid UTF-8 in text files is replaced with U+FFFD and counted (column ``invalid_utf8``); a file
fails only when the replaced share of its bytes exceeds ``max_invalid_utf8_ratio``, so one stray
byte in a scraped page does not stop a run but a file in the wrong encoding does.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pandas as pd

from lmladder.errors import ConfigError, DataSourceError, EmptyCorpusError, InvalidEncodingError, MissingColumnError

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
DOCUMENT_UNITS = ("file", "paragraph", "line")
REPLACEMENT_CHAR = "\ufffd"


def decode_utf8(data: bytes, path: str, max_invalid_ratio: float) -> tuple[str, int]:
    """Decode, replacing each invalid byte sequence with U+FFFD; return the text and their number."""
    text = data.decode("utf-8", errors="replace")
    invalid = text.count(REPLACEMENT_CHAR) - data.count(REPLACEMENT_CHAR.encode("utf-8"))
    if data and invalid / len(data) > max_invalid_ratio:
        raise InvalidEncodingError(
            f"{path}: {invalid} invalid UTF-8 sequences in {len(data)} bytes ({invalid / len(data):.1%}), "
            f"above the limit of {max_invalid_ratio:.1%}. Re-encode the file as UTF-8 "
            "(for example `iconv -f latin1 -t utf-8`) or raise max_invalid_utf8_ratio."
        )
    return text, invalid


_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")


def _split_document(text: str, unit: str) -> list[str]:
    if unit == "file":
        return [text]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = _PARAGRAPH_BREAK.split(text) if unit == "paragraph" else text.split("\n")
    return [part for part in parts if part.strip()]


def matching_files(pattern: str | list[str], document_unit: str) -> list[str]:
    """The files one or more globs match, sorted; checks ``document_unit`` too."""
    if document_unit not in DOCUMENT_UNITS:
        raise ConfigError(f"document_unit must be one of {DOCUMENT_UNITS}, got {document_unit!r}")
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    paths = sorted({path for p in patterns for path in glob.glob(p, recursive=True) if Path(path).is_file()})
    if not paths:
        raise EmptyCorpusError(f"no files match {patterns}; check the corpus path in the catalog")
    return paths


def read_text_files(
    pattern: str | list[str], document_unit: str = "file", max_invalid_utf8_ratio: float = 0.01
) -> pd.DataFrame:
    """Documents from the files a glob matches: one per file, paragraph or line."""
    paths = matching_files(pattern, document_unit)
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    rows = []
    for path in paths:
        text, invalid = decode_utf8(Path(path).read_bytes(), path, max_invalid_utf8_ratio)
        for number, document in enumerate(_split_document(text, document_unit)):
            rows.append((f"{path}#{number}", path, document, invalid if number == 0 else 0))
    docs = pd.DataFrame(rows, columns=["doc_id", "source", "text", "invalid_utf8"])
    if docs["text"].str.strip().eq("").all():
        raise EmptyCorpusError(f"the files matching {patterns} hold no text")
    return docs


def text_files_dataset(pattern: str | list[str], document_unit: str = "file", cache_dir: str | None = None):
    """The files a glob matches as a memory-mapped dataset, a row per file, paragraph or line
    (column ``text``; paragraphs end at a blank line). Invalid UTF-8 becomes U+FFFD."""
    from lmladder.corpus.large import load_text_corpus

    sample_by = {"file": "document", "paragraph": "paragraph", "line": "line"}
    return load_text_corpus(matching_files(pattern, document_unit), sample_by[document_unit], cache_dir)


def _table_format(path: str, file_format: str | None) -> str:
    file_format = file_format or TABLE_FORMATS.get(Path(path).suffix.lower())
    if file_format not in set(TABLE_FORMATS.values()):
        raise ConfigError(f"cannot tell the format of {path}; set file_format to one of {sorted(set(TABLE_FORMATS.values()))}")
    if not Path(path).exists():
        raise DataSourceError(f"{path} does not exist; check the path in the catalog")
    return file_format


def table_dataset(path: str, file_format: str | None = None, **load_args):
    """A CSV, TSV, JSONL or Parquet file as a memory-mapped dataset (``datasets``' own readers)."""
    import datasets

    file_format = _table_format(path, file_format)
    builder = {"jsonl": "json", "tsv": "csv"}.get(file_format, file_format)
    if file_format == "tsv":
        load_args = {"sep": "\t", "quoting": 3, **load_args}
    if Path(path).stat().st_size == 0:
        raise EmptyCorpusError(f"{path} holds no rows")
    try:
        table = datasets.load_dataset(builder, data_files=str(path), split="train", **load_args)
    except Exception as error:  # a malformed file: datasets' own message says where
        raise DataSourceError(f"could not read {path} as {file_format}: {type(error).__name__}: {error}") from error
    if len(table) == 0:
        raise EmptyCorpusError(f"{path} holds no rows")
    return table


def read_table(path: str, file_format: str | None = None, **read_args) -> pd.DataFrame:
    """A CSV, TSV, JSONL or Parquet file as a DataFrame, its format taken from the suffix by default."""
    file_format = _table_format(path, file_format)
    if file_format == "parquet":
        table = pd.read_parquet(path, **read_args)
    elif file_format == "jsonl":
        table = pd.read_json(path, lines=True, **read_args)
    else:
        # Tab-separated files from GLUE and friends are not quoted: a lone " is part of the text.
        quoting = {"quoting": 3} if file_format == "tsv" else {}
        table = pd.read_csv(path, sep="\t" if file_format == "tsv" else ",", keep_default_na=False, **quoting, **read_args)
    if table.empty:
        raise EmptyCorpusError(f"{path} holds no rows")
    return table


def load_hub_dataset(path: str, name: str | None = None, split: str = "train", in_memory: bool = True, **load_args):
    """A split of a dataset from the Hugging Face Hub (or a local dataset folder): a DataFrame, or
    the memory-mapped ``datasets.Dataset`` itself when not ``in_memory``."""
    import datasets

    try:
        dataset = datasets.load_dataset(path, name, split=split, **load_args)
    except Exception as error:  # offline, unknown name, bad split: all unrecoverable here
        raise DataSourceError(
            f"could not load dataset {path!r} (config {name!r}, split {split!r}) with datasets.load_dataset: "
            f"{type(error).__name__}: {error}. Without network access, point the catalog at local files "
            "instead (see README, 'Bring your own data')."
        ) from error
    if len(dataset) == 0:
        raise EmptyCorpusError(f"dataset {path!r} split {split!r} has no rows")
    return dataset.to_pandas() if in_memory else dataset


def documents_from_table(table: pd.DataFrame, text_column: str = "text", id_column: str | None = None) -> pd.DataFrame:
    """Corpus documents (doc_id, source, text, invalid_utf8) from any raw table.

    Ids come from ``id_column``, else an existing ``doc_id`` column, else the row number.
    """
    for role, column in (("text_column", text_column), ("id_column", id_column)):
        if column is not None and column not in table.columns:
            raise MissingColumnError(
                f"corpus data has no column {column!r} (the corpus.{role} parameter); "
                f"its columns are {list(table.columns)}"
            )
    if table.empty:
        raise EmptyCorpusError("the corpus is empty: its source yielded no documents")
    id_column = id_column or ("doc_id" if "doc_id" in table.columns else None)
    row_ids = [f"row-{i}" for i in range(len(table))]
    return pd.DataFrame(
        {
            "doc_id": table[id_column].astype(str).to_numpy() if id_column else row_ids,
            "source": table["source"].astype(str).to_numpy() if "source" in table.columns else "table",
            "text": table[text_column].fillna("").astype(str).to_numpy(),
            "invalid_utf8": table["invalid_utf8"].to_numpy() if "invalid_utf8" in table.columns else 0,
        }
    )
