"""Code summarisation pairs (as in CodeXGLUE code-to-text): a function's source without its
docstring is the input, the first sentence of the docstring the expected output.

The default pairs come from the running Python's standard library, read with ``ast`` like
``stdlib_docs`` (never imported). Example ids are ``module:Qual.name``, the doc ids of
``stdlib_docs``, so a pretraining corpus built from the same docstrings can be decontaminated
against the held-out functions by id as well as by text.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lmladder.corpus.decontamination import NgramIndex, build_ngram_index, is_contaminated
from lmladder.corpus.dedup import dedup_key
from lmladder.corpus.ngrams import text_units
from lmladder.corpus.splits import check_fractions, hash_fraction
from lmladder.corpus.stdlib_docs import _iter_source_files, _module_name, stdlib_dir
from lmladder.errors import ConfigError, LmladderError, MissingColumnError

log = logging.getLogger(__name__)

EXAMPLE_COLUMNS = ["id", "module", "text", "target"]

# A summary of one or two words ("Constructor.", "Helper.") says nothing a model could learn from.
MIN_SUMMARY_WORDS = 3

# Why a documented function yields no pair; each is counted as ``skipped_<reason>``.
SKIP_REASONS = ("empty_body", "short_summary")

SPLIT_NAMES = ("train", "val", "test")

# Words ending in a period that do not end a sentence.
_ABBREVIATIONS = frozenset({"e.g.", "i.e.", "cf.", "vs."})
_PERIOD = re.compile(r"\.(?=\s|$)")

# Problems that make a bring-your-own row unusable, counted as ``dropped_<role>_<problem>``.
_ROW_PROBLEMS = {"source": ("missing", "not_text", "blank"), "target": ("missing", "not_text", "blank"), "id": ("missing", "blank")}


class SharedAcrossSplitsError(LmladderError, ValueError):
    """A function body or a summary is in two splits, so evaluation would score memorised examples."""


# --- Summaries and sources -------------------------------------------------------------------


def _first_paragraph(docstring: str) -> str:
    lines = [line.strip() for line in docstring.expandtabs().strip().splitlines()]
    return " ".join(lines[: lines.index("")] if "" in lines else lines)


def first_sentence(docstring: str) -> str:
    """The first sentence of the docstring's first paragraph, whitespace normalised.

    Summarisation targets are this sentence (CodeXGLUE's convention): the rest of a docstring
    documents parameters and examples that the code alone cannot predict. "e.g." and "i.e." do not
    end a sentence; a paragraph without a period is returned whole; "" when there is no text.
    """
    text = " ".join(_first_paragraph(docstring).split())
    for match in _PERIOD.finditer(text):
        last_word = text[: match.end()].rsplit(" ", 1)[-1].lstrip("([{\"'`").casefold()
        if last_word not in _ABBREVIATIONS:
            return text[: match.end()]
    return text


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)


@functools.lru_cache(maxsize=4)
def _source_lines(source_text: str) -> tuple[str, ...]:
    # Cached: a file's functions come one after another, and splitting the file for each is quadratic.
    # Only line feeds end lines for the parser: str.splitlines would also split at form feeds,
    # which some stdlib files hold, and shift every line number after them.
    return tuple(line + "\n" for line in source_text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _char_col(line: str, byte_col: int) -> int:
    """``ast`` column offsets count UTF-8 bytes; slicing a str needs characters."""
    if line.isascii():
        return byte_col
    return len(line.encode("utf-8", "surrogatepass")[:byte_col].decode("utf-8", "replace"))


def _dedent(lines: list[str]) -> str:
    """Remove the ``def`` line's indentation from every line that has it.

    ``textwrap.dedent`` removes nothing when one line of a multi-line string starts at column 0,
    which would leave a method's source indented and unparsable.
    """
    first = lines[0]
    indent = first[: len(first) - len(first.lstrip(" \t\f"))]
    out = [line[len(indent) :] if line.startswith(indent) else ("\n" if not line.strip() else line) for line in lines]
    return "".join(out).rstrip()


def function_source_without_docstring(source_text: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The function's source, decorators and ``def`` line included, dedented, without its docstring.

    The model must predict the summary from the code alone, so the docstring statement is cut out
    by its position (a ``; statement`` after it stays). A function whose only statement is the
    docstring gets ``pass`` instead, so the result still parses.
    """
    lines = _source_lines(source_text)
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    docstring = node.body[0]
    if not _is_docstring(docstring):
        return _dedent(list(lines[first - 1 : node.end_lineno]))
    start_line, end_line = lines[docstring.lineno - 1], lines[docstring.end_lineno - 1]
    before = start_line[: _char_col(start_line, docstring.col_offset)]
    after = end_line[_char_col(end_line, docstring.end_col_offset) :].lstrip(" \t")
    if after.startswith(";"):
        after = after[1:].lstrip(" \t")
    middle = "pass" if len(node.body) == 1 else ""
    replacement = before + middle + after
    kept = [replacement] if replacement.strip() else []
    return _dedent([*lines[first - 1 : docstring.lineno - 1], *kept, *lines[docstring.end_lineno : node.end_lineno]])


def _is_placeholder(statement: ast.stmt) -> bool:
    """``pass``, ``...`` or ``raise NotImplementedError``: a body with nothing to summarise."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and statement.value.value is Ellipsis:
        return True
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _skip_reason(node: ast.FunctionDef | ast.AsyncFunctionDef, target: str) -> str | None:
    if all(_is_placeholder(statement) for statement in node.body[1:]):
        return "empty_body"
    if len(target.split()) < MIN_SUMMARY_WORDS:
        return "short_summary"
    return None


def iter_function_pairs(path: Path, module: str, counts: Counter[str] | None = None) -> Iterator[dict]:
    """One example (``EXAMPLE_COLUMNS``) per documented function of the file, methods and nested
    functions included, in source order.

    Functions with a placeholder body or a summary under ``MIN_SUMMARY_WORDS`` words are skipped;
    pass ``counts`` to learn how many and why (``functions_with_docstring``, ``skipped_<reason>``,
    ``unparsable_files``). A file that does not parse (the stdlib holds templates) yields nothing.
    """
    counts = Counter() if counts is None else counts
    try:
        source_text = importlib.util.decode_source(path.read_bytes())
        tree = ast.parse(source_text, filename=str(path))
    except (SyntaxError, ValueError):  # UnicodeDecodeError is a ValueError
        counts["unparsable_files"] += 1
        return

    def visit(node: ast.AST, prefix: str) -> Iterator[dict]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}.{child.name}" if prefix else child.name
                docstring = ast.get_docstring(child) if not isinstance(child, ast.ClassDef) else None
                if docstring:
                    counts["functions_with_docstring"] += 1
                    target = first_sentence(docstring)
                    reason = _skip_reason(child, target)
                    if reason:
                        counts[f"skipped_{reason}"] += 1
                    else:
                        text = function_source_without_docstring(source_text, child)
                        yield {"id": f"{module}:{name}", "module": module, "text": text, "target": target}
                yield from visit(child, name)
            elif isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
                # Definitions inside if/try/with/for blocks (platform-specific code) count too.
                yield from visit(child, prefix)

    yield from visit(tree, "")


@functools.lru_cache(maxsize=2)
def _build(root: str) -> tuple[tuple[tuple[str, str, str, str], ...], tuple[tuple[str, int], ...]]:
    root_path = Path(root)
    counts: Counter[str] = Counter({"functions_with_docstring": 0, "kept": 0, "duplicate_ids": 0, "unparsable_files": 0})
    counts.update({f"skipped_{reason}": 0 for reason in SKIP_REASONS})
    rows: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()
    for path in _iter_source_files(root_path):
        for pair in iter_function_pairs(path, _module_name(path, root_path), counts):
            # Conditional definitions repeat a qualified name (posix and nt variants); keep the first.
            if pair["id"] in seen:
                counts["duplicate_ids"] += 1
                continue
            seen.add(pair["id"])
            rows.append(tuple(pair[column] for column in EXAMPLE_COLUMNS))
    counts["kept"] = len(rows)
    return tuple(rows), tuple(counts.items())


def build_code_summaries(root: Path | None = None) -> tuple[pd.DataFrame, dict]:
    """Every (function source, summary) pair of the standard library (tests excluded), in a
    deterministic order, and the counts of what was kept and skipped.

    ``functions_with_docstring == kept + duplicate_ids + the skipped_<reason> counts``.
    """
    root_text = str(root or stdlib_dir())
    rows, count_items = _build(root_text)
    counts = dict(count_items)
    log.info(
        "Code summaries from %s: %d documented functions, %d pairs kept; skipped %s, %d repeated ids, %d unparsable files",
        root_text,
        counts["functions_with_docstring"],
        counts["kept"],
        ", ".join(f"{counts[f'skipped_{reason}']} {reason}" for reason in SKIP_REASONS),
        counts["duplicate_ids"],
        counts["unparsable_files"],
    )
    return pd.DataFrame(list(rows), columns=EXAMPLE_COLUMNS), counts


# --- Splits ----------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"{what} has no column {', '.join(map(repr, missing))}; its columns are {list(frame.columns)}. "
            f"Build it with build_code_summaries() or pairs_from_table(), which give the columns {EXAMPLE_COLUMNS}."
        )


def _find(parent: list[int], row: int) -> int:
    while parent[row] != row:
        parent[row] = parent[parent[row]]
        row = parent[row]
    return row


def _groups(source_keys: Sequence[str], target_keys: Sequence[str]) -> list[int]:
    """Union-find: rows sharing a normalised source or a normalised target, directly or through a
    chain of other rows, get the same group number (the root row)."""
    parent = list(range(len(source_keys)))
    first_row: dict[tuple[str, str], int] = {}
    for row, keys in enumerate(zip(source_keys, target_keys, strict=True)):
        for field, key in zip(("source", "target"), keys, strict=True):
            other = first_row.setdefault((field, key), row)
            parent[_find(parent, row)] = _find(parent, other)
    return [_find(parent, row) for row in range(len(parent))]


def split_pairs(
    examples: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train/val/test with no function body and no summary in two splits.

    Two functions with the same body (up to case and spacing) or the same summary would let a
    model score on memorised examples, so such functions form one group, transitively. Groups are
    ordered by the hash of their smallest id and cut by example counts at the requested shares,
    test first, then val; the rest is train. Rows within a split are ordered by hash, so the
    splits do not depend on the input's row order.
    """
    check_fractions(val_fraction=val_fraction, test_fraction=test_fraction)
    _require_columns(examples, ["id", "text", "target"], "the examples table")
    ids = examples["id"].astype(str).tolist()
    groups = _groups([dedup_key(text) for text in examples["text"]], [dedup_key(target) for target in examples["target"]])
    group_key: dict[int, str] = {}
    for group, example_id in zip(groups, ids, strict=True):
        group_key[group] = min(example_id, group_key.get(group, example_id))
    size = Counter(groups)
    n_test, n_val = round(len(ids) * test_fraction), round(len(ids) * val_fraction)
    split_of_group: dict[int, str] = {}
    placed = 0
    for group in sorted(group_key, key=lambda group: (hash_fraction(group_key[group], seed), group_key[group])):
        split_of_group[group] = "test" if placed < n_test else "val" if placed < n_test + n_val else "train"
        placed += size[group]
    ordered = examples.assign(
        _split=[split_of_group[group] for group in groups], _order=[hash_fraction(example_id, seed) for example_id in ids], _id=ids
    )
    ordered = ordered.sort_values(["_order", "_id", "text", "target"], kind="stable")
    return tuple(  # type: ignore[return-value]
        ordered[ordered["_split"] == name].drop(columns=["_split", "_order", "_id"]).reset_index(drop=True) for name in SPLIT_NAMES
    )


def _first_id_by_key(split: pd.DataFrame, column: str) -> dict[str, str]:
    first: dict[str, str] = {}
    for example_id, value in zip(split["id"].astype(str), split[column], strict=True):
        first.setdefault(dedup_key(value), example_id)
    return first


def shared_across_splits(splits: dict[str, pd.DataFrame]) -> list[tuple[str, str, str, str, str]]:
    """Every normalised source or summary found in two of ``splits`` (``{name: examples}``, in
    order), as ``(field, first split, its function id, second split, its function id)`` with
    ``field`` "source" or "summary"; the function named is the first in its split with that text."""
    for name, split in splits.items():
        _require_columns(split, ["id", "text", "target"], f"the {name} split")
    names = list(splits)
    shared = []
    for column, field in (("text", "source"), ("target", "summary")):
        keys = {name: _first_id_by_key(split, column) for name, split in splits.items()}
        for index, first in enumerate(names):
            for second in names[index + 1 :]:
                for key in sorted(keys[first].keys() & keys[second].keys(), key=lambda key: keys[first][key]):
                    shared.append((field, first, keys[first][key], second, keys[second][key]))
    return shared


def describe_shared(field: str, first: str, id_a: str, second: str, id_b: str) -> str:
    """One ``shared_across_splits`` finding in words."""
    if id_a == id_b:
        return f"function {id_a!r} (its {field}) is in both {first} and {second}"
    return f"function {id_a!r} in {first} and function {id_b!r} in {second} have the same {field}"


def check_disjoint_splits(train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame) -> None:
    """Raise ``SharedAcrossSplitsError`` when a normalised source or summary is in two splits.

    Code and docstrings repeat across a code base (overloads, copied helpers, "Return the name."),
    and a held-out function whose body or summary was trained on measures memory, not skill.
    """
    problems = [describe_shared(*shared) for shared in shared_across_splits(dict(zip(SPLIT_NAMES, (train, val, test), strict=True)))]
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise SharedAcrossSplitsError(
            f"{len(problems)} function source(s) or summaries are in two splits: {shown}. "
            "Evaluating on them would score memorised examples. Split with split_pairs(), which keeps every "
            "function body and summary in one split, or deduplicate your table by source and by target before splitting."
        )


# --- Bring-your-own pairs --------------------------------------------------------------------


def _cell_problem(value: object, role: str) -> str | None:
    """Why a cell cannot be a source, target or id, or None when it can."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return "missing"
    if role == "id":
        return "blank" if not str(value).strip() else None
    if not isinstance(value, str):
        return "not_text"
    return "blank" if not value.strip() else None


def pairs_from_table(
    frame: pd.DataFrame, source_column: str = "source", target_column: str = "target", id_column: str | None = None
) -> tuple[pd.DataFrame, dict]:
    """Any table of (input text, expected output) pairs as examples (``EXAMPLE_COLUMNS``).

    Ids come from ``id_column`` or the row number (``row-<n>``, counting from 0); ``module`` is
    empty. Rows whose source or target is not a non-empty string (null, a number, whitespace), or
    whose id is null or blank, are dropped and counted as ``dropped_<role>_<problem>`` (each row
    once, source first) with a warning, so the caller can decide whether to go on.
    """
    roles = [("source_column", source_column), ("target_column", target_column), ("id_column", id_column)]
    for role, column in roles:
        if column is not None and column not in frame.columns:
            raise MissingColumnError(
                f"the pairs table has no column {column!r} (the {role} parameter); its columns are {list(frame.columns)}. "
                f"Set {role} to the column holding the {role.removesuffix('_column')}."
            )
    counts = {"rows": len(frame), "kept": 0, "dropped": 0}
    counts.update({f"dropped_{role}_{problem}": 0 for role, problems in _ROW_PROBLEMS.items() for problem in problems})
    ids = frame[id_column].tolist() if id_column is not None else [f"row-{position}" for position in range(len(frame))]
    rows = []
    for example_id, source, target in zip(ids, frame[source_column].tolist(), frame[target_column].tolist(), strict=True):
        checks = (("source", source), ("target", target), ("id", example_id))
        problem = next((f"dropped_{role}_{problem}" for role, value in checks if (problem := _cell_problem(value, role))), None)
        if problem:
            counts[problem] += 1
            counts["dropped"] += 1
        else:
            rows.append((str(example_id), "", source, target))
    counts["kept"] = len(rows)
    if counts["dropped"]:
        reasons = ", ".join(
            f"{count} {key.removeprefix('dropped_')}" for key, count in counts.items() if key.startswith("dropped_") and count
        )
        log.warning("Dropped %d of %d rows of the pairs table: %s", counts["dropped"], counts["rows"], reasons)
    else:
        log.info("Read %d pairs from the pairs table", counts["kept"])
    return pd.DataFrame(rows, columns=EXAMPLE_COLUMNS), counts


# --- Decontamination -------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class SentenceIndex:
    """Normalised sentences to look for in texts, by the first inner words (all but the first and
    last, which may be glued to punctuation) that a text containing them must have as whole words;
    sentences of one or two words have no inner word and are looked for directly (``short``)."""

    windows: dict[int, dict[tuple[str, ...], frozenset[str]]]
    first_words: dict[int, frozenset[str]]
    short: frozenset[str]


def build_sentence_index(sentences: Iterable[str]) -> SentenceIndex:
    windows: dict[int, dict[tuple[str, ...], set[str]]] = {}
    short: set[str] = set()  # one or two words: no inner word to look up
    for sentence in {_normalise(sentence) for sentence in sentences}:
        inner = sentence.split(" ")[1:-1]
        if inner:
            length = min(4, len(inner))
            windows.setdefault(length, {}).setdefault(tuple(inner[:length]), set()).add(sentence)
        elif sentence:
            short.add(sentence)
    return SentenceIndex(
        windows={length: {window: frozenset(found) for window, found in index.items()} for length, index in windows.items()},
        first_words={length: frozenset(window[0] for window in index) for length, index in windows.items()},
        short=frozenset(short),
    )


def contains_sentence(text: str, index: SentenceIndex) -> bool:
    """Whether the normalised text contains one of the index's normalised sentences.

    Only windows of the text's words starting with a looked-up first word are joined, and the
    substring test runs on candidates alone: linear in the text's length.
    """
    normalised = _normalise(text)
    if any(sentence in normalised for sentence in index.short):
        return True
    words = normalised.split(" ")
    for length, windows in index.windows.items():
        firsts = index.first_words[length]
        for start in range(len(words) - length + 1):
            if words[start] in firsts:
                candidates = windows.get(tuple(words[start : start + length]), ())
                if any(sentence in normalised for sentence in candidates):
                    return True
    return False


LEAK_REASONS = ("by_id", "by_target_sentence", "by_ngram")


@dataclass(frozen=True)
class PairLeakIndex:
    """What a pretraining document must not hold, given held-out pairs: see ``pair_leak_index``.
    Built from the held-out pairs alone (ids, summaries, n-grams), so it is small enough to send
    to the worker processes of an Arrow-backed corpus."""

    held_out_ids: frozenset[str]
    summaries: SentenceIndex
    ngrams: NgramIndex

    def reason(self, doc_id: object, text: str) -> str:
        """The first of ``LEAK_REASONS`` that applies to the document, or "" when none does."""
        if str(doc_id) in self.held_out_ids:
            return "by_id"
        if contains_sentence(text, self.summaries):
            return "by_target_sentence"
        if is_contaminated(text, self.ngrams):
            return "by_ngram"
        return ""


def pair_leak_index(held_out: pd.DataFrame, ngram_size: int, min_target_words: int = 6) -> PairLeakIndex:
    """The held-out pairs (val and test) as the three tests of ``decontaminate_corpus_against_pairs``:
    their ids, their summaries of at least ``min_target_words`` words, and the ``ngram_size``-grams
    of their sources and summaries of at least ``ngram_size`` words (shorter texts would match whole
    in ``build_ngram_index``, and short ones prove no leak)."""
    if ngram_size < 1 or min_target_words < 1:
        raise ConfigError(f"ngram_size and min_target_words must be at least 1, got {ngram_size!r} and {min_target_words!r}")
    _require_columns(held_out, ["id", "text", "target"], "the held-out pairs table")
    targets = [target for target in held_out["target"] if len(target.split()) >= min_target_words]
    eval_texts = [text for text in [*held_out["text"], *held_out["target"]] if len(text_units(text)) >= ngram_size]
    return PairLeakIndex(
        held_out_ids=frozenset(held_out["id"].astype(str)),
        summaries=build_sentence_index(targets),
        ngrams=build_ngram_index(eval_texts, ngram_size),
    )


def leak_reasons(doc_ids: Iterable[object], texts: Iterable[str], index: PairLeakIndex) -> list[str]:
    """``PairLeakIndex.reason`` of each document."""
    return [index.reason(doc_id, text) for doc_id, text in zip(doc_ids, texts, strict=True)]


def count_leak_reasons(reasons: Sequence[str]) -> dict[str, int]:
    """``{"by_id", "by_target_sentence", "by_ngram", "removed", "kept"}`` of the documents' reasons."""
    counts = {name: sum(reason == name for reason in reasons) for name in LEAK_REASONS}
    counts["removed"] = sum(reason != "" for reason in reasons)
    counts["kept"] = len(reasons) - counts["removed"]
    return counts


def log_leak_counts(counts: dict[str, int], held_out: int, ngram_size: int) -> None:
    log.info(
        "Decontaminated the corpus against %d held-out pairs: removed %d of %d documents (%d by id, %d by summary, %d by %d-gram)",
        held_out,
        counts["removed"],
        counts["removed"] + counts["kept"],
        counts["by_id"],
        counts["by_target_sentence"],
        counts["by_ngram"],
        ngram_size,
    )


def decontaminate_corpus_against_pairs(
    docs: pd.DataFrame, held_out: pd.DataFrame, ngram_size: int, min_target_words: int = 6
) -> tuple[pd.DataFrame, dict]:
    """Drop the pretraining documents (``doc_id``, ``source``, ``text``) that would leak the
    held-out pairs (val and test) to the model.

    A document goes when (``by_id``) it is the docstring of a held-out function, (``by_target_sentence``)
    it contains a held-out summary of at least ``min_target_words`` words (up to case and spacing),
    or (``by_ngram``) it shares an n-gram of ``ngram_size`` words with a held-out source or summary.
    Shorter summaries ("Return the name.") are everywhere in documentation and prove no leak; for
    the same reason texts of fewer than ``ngram_size`` words take no part in the n-gram test
    (``contaminated_mask`` would match them whole). Each document is counted once, under the first
    reason in that order.
    """
    index = pair_leak_index(held_out, ngram_size, min_target_words)
    missing = [column for column in ("doc_id", "text") if column not in docs.columns]
    if missing:
        raise MissingColumnError(
            f"the corpus has no column {', '.join(map(repr, missing))}; its columns are {list(docs.columns)}. "
            "It must have the corpus columns doc_id, source, text (as build_stdlib_corpus() gives)."
        )
    # One reason per document, by position: the corpus index may repeat labels.
    reasons = leak_reasons(docs["doc_id"].tolist(), docs["text"].tolist(), index)
    counts = count_leak_reasons(reasons)
    log_leak_counts(counts, len(held_out), ngram_size)
    return docs[np.array([reason == "" for reason in reasons], dtype=bool)].reset_index(drop=True), counts
