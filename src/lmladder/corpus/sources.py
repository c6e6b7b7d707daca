"""Raw data readers: local text files, tables (CSV/TSV/JSONL/Parquet) and the Hugging Face Hub,
as a DataFrame or (``*_dataset`` / ``in_memory=False``) as a memory-mapped Arrow ``datasets.Dataset``.

Invalid UTF-8 in text files is replaced with U+FFFD and counted (column ``invalid_utf8``); a file
fails only when the replaced share of its bytes exceeds ``max_invalid_utf8_ratio``, so one stray
byte in a scraped page does not stop a run but a file in the wrong encoding does.

A file starting with a byte-order mark is read in the encoding the mark names: UTF-16 and UTF-32
(as Windows tools such as Notepad and Excel save "Unicode" text) are decoded, and the mark of
UTF-8 is dropped. The Arrow-backed readers (``in_memory: false``) read UTF-8 only and refuse
UTF-16/32 files by name.
"""

from __future__ import annotations

import codecs
import glob
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import datasets
import pandas as pd

from lmladder.errors import ConfigError, DataSourceError, EmptyCorpusError, InvalidEncodingError, MissingColumnError

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
DOCUMENT_UNITS = ("file", "paragraph", "line")
REPLACEMENT_CHAR = "\ufffd"

log = logging.getLogger(__name__)

# (mark, codec that reads the mark and drops it, name). UTF-32 LE comes before UTF-16 LE: its mark
# begins with theirs (FF FE).
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE"),
)
_UTF8_NAME = "UTF-8"


def byte_order_mark(head: bytes) -> tuple[bytes, str, str] | None:
    """The (mark, codec, name) of ``BYTE_ORDER_MARKS`` that ``head`` (a file's first bytes) starts with."""
    return next((bom for bom in BYTE_ORDER_MARKS if head.startswith(bom[0])), None)


def _file_head(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read(4)


def _save_as_utf8(name: str) -> str:
    return f"Save it as UTF-8 (for example `iconv -f {name.replace(' ', '')} -t UTF-8 in > out`; Excel: CSV UTF-8)"


def decode_text(data: bytes, path: str, max_invalid_ratio: float) -> tuple[str, int]:
    """``decode_utf8``, unless a byte-order mark names another encoding: UTF-16 or UTF-32 text is
    decoded as such (and must be valid; no invalid sequences are counted)."""
    bom = byte_order_mark(data)
    if bom is None or bom[2] == _UTF8_NAME:
        return decode_utf8(data[len(bom[0]) if bom else 0 :], path, max_invalid_ratio)
    mark, codec, name = bom
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        raise InvalidEncodingError(
            f"{path} starts with a {name} byte-order mark but is not valid {name} at byte {error.start} "
            f"({error.reason}). {_save_as_utf8(name)}."
        ) from error
    log.info("%s: read as %s (its byte-order mark says so)", path, name)
    return text, 0


def refuse_wide_encoding(path: str) -> None:
    """Raise ``InvalidEncodingError`` for a UTF-16 or UTF-32 file: the Arrow readers take UTF-8 only."""
    bom = byte_order_mark(_file_head(path))
    if bom is not None and bom[2] != _UTF8_NAME:
        raise InvalidEncodingError(
            f"{path} is {bom[2]} text (it starts with a {bom[2]} byte-order mark), and the Arrow-backed reader "
            f"(in_memory: false) reads UTF-8 only. {_save_as_utf8(bom[2])}, or read it with in_memory: true."
        )


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


# ``document_unit: paragraph`` on a file with one paragraph per line and no blank lines (common for
# novels and scraped text, e.g. in Chinese) makes the whole file one "paragraph", which a length
# filter later drops with advice about the filter instead of the unit. So a paragraph of at least
# GLUED_PARAGRAPH_MIN_LINES lines is refused when at least GLUED_PARAGRAPH_MIN_SHARE of its lines read
# as paragraphs of their own: wider than WRAP_WIDTH_COLUMNS (a CJK character is two columns), ending
# a sentence, and not a list item. Hard-wrapped prose (READMEs, Project Gutenberg, wrapped Chinese)
# keeps its lines within 80 columns; tables, code and data rarely end a line with a sentence; and a
# list is one paragraph in Markdown. Of the 1,779 READMEs, licences and package descriptions
# installed with this project, the rule refuses one: a licence text written one paragraph per line.
# Scripts without sentence punctuation (Thai) are not caught; a glued file then fails at the filters.
GLUED_PARAGRAPH_MIN_LINES = 20
GLUED_PARAGRAPH_MIN_SHARE = 0.25
WRAP_WIDTH_COLUMNS = 80
_SENTENCE_END = re.compile(r"[.!?。！？…؟।۔][\"'”’»」』）)\]]*$")
_LIST_ITEM = re.compile(r"([-*+•]|\d+[.)])\s")
# The Arrow path checks the head of each file only: reading a corpus larger than memory twice is not
# acceptable, and a file with one paragraph per line shows it within its first few hundred lines.
PARAGRAPH_CHECK_BYTES = 1 << 20


def _display_width(line: str) -> int:
    return len(line) + sum(unicodedata.east_asian_width(char) in "WF" for char in line)


def _reads_as_paragraph(line: str) -> bool:
    line = line.strip()
    if _SENTENCE_END.search(line) is None or _LIST_ITEM.match(line):
        return False
    # len() is at least half the width and at most all of it: most lines need no counting.
    return len(line) > WRAP_WIDTH_COLUMNS or (2 * len(line) > WRAP_WIDTH_COLUMNS and _display_width(line) > WRAP_WIDTH_COLUMNS)


def check_paragraphs(paragraphs: list[str], path: str, scope: str = "") -> None:
    """Refuse a "paragraph" made of many lines that each read as a paragraph (see
    ``GLUED_PARAGRAPH_MIN_LINES``): the file has one paragraph per line, no blank lines between them."""
    for paragraph in paragraphs:
        if paragraph.count("\n") + 1 < GLUED_PARAGRAPH_MIN_LINES:
            continue
        lines = [line for line in paragraph.split("\n") if line.strip()]
        alone = sum(map(_reads_as_paragraph, lines))
        if len(lines) >= GLUED_PARAGRAPH_MIN_LINES and alone >= GLUED_PARAGRAPH_MIN_SHARE * len(lines):
            raise ConfigError(
                f"{path}{scope}: document_unit is paragraph, but a paragraph (text up to a blank line) has "
                f"{len(lines):,} lines and {len(paragraph):,} characters, and {alone:,} of its lines read as "
                "paragraphs of their own (a whole sentence or more, wider than any wrapped line): the file "
                "holds one paragraph per line. Set `document_unit: line` for this source in the catalog "
                "(or `file` for one document per file)."
            )


def _paragraphs_in_head(path: str) -> list[str]:
    with open(path, "rb") as file:
        head = file.read(PARAGRAPH_CHECK_BYTES)
    return _split_document(head.decode("utf-8-sig", errors="replace"), "paragraph")


def matching_files(pattern: str | list[str], document_unit: str) -> list[str]:
    """The files one or more globs match, sorted; checks ``document_unit`` too."""
    if document_unit not in DOCUMENT_UNITS:
        raise ConfigError(f"document_unit must be one of {DOCUMENT_UNITS}, got {document_unit!r}")
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    paths = sorted({path for p in patterns for path in glob.glob(p, recursive=True) if Path(path).is_file()})
    if not paths:
        raise EmptyCorpusError(f"no files match {patterns}; check the corpus path in the catalog")
    return paths


def read_text_files(pattern: str | list[str], document_unit: str = "file", max_invalid_utf8_ratio: float = 0.01) -> pd.DataFrame:
    """Documents from the files a glob matches: one per file, paragraph or line."""
    paths = matching_files(pattern, document_unit)
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    rows = []
    for path in paths:
        text, invalid = decode_text(Path(path).read_bytes(), path, max_invalid_utf8_ratio)
        documents = _split_document(text, document_unit)
        if document_unit == "paragraph":
            check_paragraphs(documents, path)
        for number, document in enumerate(documents):
            rows.append((f"{path}#{number}", path, document, invalid if number == 0 else 0))
    docs = pd.DataFrame(rows, columns=["doc_id", "source", "text", "invalid_utf8"])
    if docs["text"].str.strip().eq("").all():
        raise EmptyCorpusError(f"the files matching {patterns} hold no text")
    return docs


def load_text_corpus(files: Sequence[str | Path], sample_by: str = "paragraph", cache_dir: str | None = None) -> datasets.Dataset:
    """Text files as a memory-mapped dataset with a ``text`` column (one row per line, paragraph or document).

    Invalid UTF-8 becomes U+FFFD (counted later as ``invalid_utf8``) instead of failing the load, and
    a UTF-8 byte-order mark is dropped. As in ``read_text_files``, a blank line or paragraph is not a
    document and is not kept.
    """
    texts = datasets.load_dataset(
        "text",
        data_files=[str(path) for path in files],
        sample_by=sample_by,
        encoding="utf-8-sig",  # reads UTF-8 with or without the mark
        encoding_errors="replace",
        split="train",
        cache_dir=cache_dir,
    )
    return texts.filter(_has_text, batched=True, input_columns="text", load_from_cache_file=False, desc="blank lines")


def _has_text(texts: list[str]) -> list[bool]:
    return [bool(text.strip()) for text in texts]


def text_files_dataset(pattern: str | list[str], document_unit: str = "file", cache_dir: str | None = None):
    """The files a glob matches as a memory-mapped dataset, a row per file, paragraph or line
    (column ``text``; paragraphs end at a blank line). Invalid UTF-8 becomes U+FFFD.
    With paragraphs, the first ``PARAGRAPH_CHECK_BYTES`` of each file are checked as ``read_text_files``
    checks whole files (``check_paragraphs``)."""
    paths = matching_files(pattern, document_unit)
    for path in paths:
        refuse_wide_encoding(path)
    if document_unit == "paragraph":
        for path in paths:
            check_paragraphs(_paragraphs_in_head(path), path, f" (its first {PARAGRAPH_CHECK_BYTES >> 20} MiB)")
    sample_by = {"file": "document", "paragraph": "paragraph", "line": "line"}
    return load_text_corpus(paths, sample_by[document_unit], cache_dir)


def _table_format(path: str, file_format: str | None) -> str:
    file_format = file_format or TABLE_FORMATS.get(Path(path).suffix.lower())
    if file_format not in set(TABLE_FORMATS.values()):
        raise ConfigError(f"cannot tell the format of {path}; set file_format to one of {sorted(set(TABLE_FORMATS.values()))}")
    if not Path(path).exists():
        raise DataSourceError(f"{path} does not exist; check the path in the catalog")
    return file_format


def table_dataset(path: str, file_format: str | None = None, **load_args):
    """A CSV, TSV, JSONL or Parquet file as a memory-mapped dataset (``datasets``' own readers)."""
    file_format = _table_format(path, file_format)
    builder = {"jsonl": "json", "tsv": "csv"}.get(file_format, file_format)
    if file_format == "tsv":
        load_args = {"sep": "\t", "quoting": 3, **load_args}
    if Path(path).stat().st_size == 0:
        raise EmptyCorpusError(f"{path} holds no rows")
    if file_format != "parquet":
        refuse_wide_encoding(path)
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
    else:
        table = _read_text_table(path, file_format, read_args)
    if table.empty:
        raise EmptyCorpusError(f"{path} holds no rows")
    return table


def _read_text_table(path: str, file_format: str, read_args: dict) -> pd.DataFrame:
    """A CSV, TSV or JSONL file, in the encoding its byte-order mark names (UTF-8 without one) unless
    ``read_args`` names one; what pandas raises on a bad file becomes an error naming the file."""
    bom = byte_order_mark(_file_head(path))
    # Who chose the encoding decides the advice when the file is not in it (a UTF-8 in load_args is the default's).
    chosen_by = None
    if read_args.get("encoding"):
        chosen_by = None if _is_utf8(read_args["encoding"]) else "load_args"
    elif bom is not None and bom[2] != _UTF8_NAME:
        chosen_by = "mark"
    encoding_name = read_args.get("encoding") or (bom[2] if bom else _UTF8_NAME)
    read_args = {"encoding": bom[1] if bom else "utf-8", **read_args}
    if bom is not None and bom[2] != _UTF8_NAME and read_args["encoding"] == bom[1]:
        log.info("%s: read as %s (its byte-order mark says so)", path, bom[2])
    try:
        if file_format == "jsonl":
            return pd.read_json(path, lines=True, **read_args)
        # Tab-separated files from GLUE and friends are not quoted: a lone " is part of the text.
        quoting = {"quoting": 3} if file_format == "tsv" else {}
        return pd.read_csv(path, sep="\t" if file_format == "tsv" else ",", keep_default_na=False, **quoting, **read_args)
    except UnicodeDecodeError as error:
        raise InvalidEncodingError(
            f"{path} is not valid {encoding_name}: byte 0x{error.object[error.start]:02x} cannot start or continue "
            f"a character ({error.reason}). {_encoding_fix(encoding_name, chosen_by)}"
        ) from error
    except pd.errors.EmptyDataError as error:
        raise EmptyCorpusError(
            f"{path} is empty: it has no header and no rows. Put the data in it, or point its catalog entry at the right file."
        ) from error
    except pd.errors.ParserError as error:
        raise DataSourceError(
            f"could not parse {path} as {file_format}: {str(error).strip()}. Check that it is {file_format} (else set file_format "
            "in its catalog entry) and that every row has as many fields as the header (quote texts holding the separator)."
        ) from error
    except ValueError as error:
        if file_format != "jsonl":
            raise
        raise DataSourceError(
            f"could not read {path} as JSON lines: {error}. Each line must be one JSON object, such as "
            '{"text": "...", "label": "..."}; a file holding one JSON array needs converting to JSON lines.'
        ) from error


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError:  # an unknown name: pandas says so itself
        return False


def _encoding_fix(encoding_name: str, chosen_by: str | None) -> str:
    """What to do about a table that is not valid ``encoding_name``, by who chose that encoding: the
    user (``load_args``, other than UTF-8), the file's UTF-16/32 byte-order mark, or nobody (UTF-8)."""
    example = "(for example `load_args: {encoding: cp1252}` or `{encoding: gbk}`)"
    if chosen_by == "load_args":
        return (
            f"Its catalog entry's load_args names {encoding_name!r}, which is not the file's encoding: name the right one there "
            f"{example}, or save the file as UTF-8 and remove the setting."
        )
    if chosen_by == "mark":
        return (
            f"Its byte-order mark says {encoding_name}, so the file is damaged (cut short?) or the mark is wrong: "
            f"export it again as UTF-8, or name its real encoding in load_args of its catalog entry {example}."
        )
    # Not UTF-8 and no mark: most often a Windows or Latin-1 export.
    return f"{_save_as_utf8('latin1')}, or name its encoding in load_args of its catalog entry {example}."


def load_hub_dataset(path: str, name: str | None = None, split: str = "train", in_memory: bool = True, **load_args):
    """A split of a dataset from the Hugging Face Hub (or a local dataset folder): a DataFrame, or
    the memory-mapped ``datasets.Dataset`` itself when not ``in_memory``."""
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


# A header cell that is any of these is more likely the first row of data (see header_looks_like_data).
MAX_HEADER_NAME_CHARS = 40
MAX_HEADER_NAME_WORDS = 4
_PANDAS_DUPLICATE_NAME = re.compile(r"(.+)\.\d+")


def _is_number(name: str) -> bool:
    try:
        float(name)
    except ValueError:
        return False
    return any(char.isdigit() for char in name)  # not "nan" or "inf"


def header_looks_like_data(columns) -> bool:
    """Whether a table's column names look like a row of data, i.e. a CSV/TSV read with its first
    row as the header although it has none.

    True when any name is a number (a label or an id such as ``3``), is longer than
    ``MAX_HEADER_NAME_CHARS`` characters or has more than ``MAX_HEADER_NAME_WORDS`` words (a
    sentence), or is pandas' renaming of a repeated name (``x.1`` next to ``x``: two equal cells in
    the first row). Ordinary headers such as ``text``, ``review_text`` or ``Class Index`` are not.
    """
    names = [str(column) for column in columns]
    for name in names:
        duplicate = _PANDAS_DUPLICATE_NAME.fullmatch(name)
        if (
            _is_number(name)
            or len(name) > MAX_HEADER_NAME_CHARS
            or len(name.split()) > MAX_HEADER_NAME_WORDS
            or (duplicate is not None and duplicate.group(1) in names)
        ):
            return True
    return False


def no_header_hint(columns, example_names: str, parameters: str) -> str:
    """The advice for a table whose column names look like data, else ``""``."""
    if not header_looks_like_data(columns):
        return ""
    return (
        " These column names look like data: the file probably has no header row. Read it with "
        f"`load_args: {{header: null, names: [{example_names}]}}` in its catalog entry, one name per column "
        f"in file order (this file has {len(columns)}), then set {parameters} to those names."
    )


def check_text_columns(text_column: str, text_columns: list[str] | None, parameters: str) -> list[str]:
    """The columns a text is made of: ``text_columns`` when set (it replaces ``text_column``), else
    ``[text_column]``; ``parameters`` is the parameter prefix for messages (``corpus``, ``labelled``)."""
    if text_columns is None:
        return [text_column]
    if isinstance(text_columns, str) or not text_columns:
        raise ConfigError(
            f"{parameters}.text_columns must be a non-empty list of columns (their texts are joined with a "
            f"newline), got {text_columns!r}; set it to null to use {parameters}.text_column"
        )
    return list(text_columns)


def join_text_columns(table: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The texts of ``columns`` joined with a newline in that order; null cells are empty strings and
    empty texts are left out of the join, so a row with no text at all stays, as ``""``."""
    texts = table[columns].fillna("").astype(str)
    if len(columns) == 1:
        return texts[columns[0]]
    joined = ["\n".join(part for part in row if part) for row in texts.itertuples(index=False, name=None)]
    return pd.Series(joined, index=table.index, dtype=object)


def documents_from_table(
    table: pd.DataFrame, text_column: str = "text", id_column: str | None = None, text_columns: list[str] | None = None
) -> pd.DataFrame:
    """Corpus documents (doc_id, source, text, invalid_utf8) from any raw table.

    The text is ``text_column``, or the ``text_columns`` joined with a newline when set. Ids come
    from ``id_column``, else an existing ``doc_id`` column, else the row number.
    """
    columns = check_text_columns(text_column, text_columns, "corpus")
    text_role = "text_column" if text_columns is None else "text_columns"
    for role, column in [*((text_role, column) for column in columns), ("id_column", id_column)]:
        if column is not None and column not in table.columns:
            raise MissingColumnError(
                f"corpus data has no column {column!r} (the corpus.{role} parameter); "
                f"its columns are {list(table.columns)}.{no_header_hint(table.columns, 'text', f'corpus.{role}')}"
            )
    if table.empty:
        raise EmptyCorpusError("the corpus is empty: its source yielded no documents")
    id_column = id_column or ("doc_id" if "doc_id" in table.columns else None)
    row_ids = [f"row-{i}" for i in range(len(table))]
    return pd.DataFrame(
        {
            "doc_id": table[id_column].astype(str).to_numpy() if id_column else row_ids,
            "source": table["source"].astype(str).to_numpy() if "source" in table.columns else "table",
            "text": join_text_columns(table, columns).to_numpy(),
            "invalid_utf8": table["invalid_utf8"].to_numpy() if "invalid_utf8" in table.columns else 0,
        }
    )
