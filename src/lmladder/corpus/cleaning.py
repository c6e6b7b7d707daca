"""Unicode normalisation and quality filters.

Ratios count characters with ``str.isalpha``/``str.isalnum``, which are Unicode-aware, so Chinese,
Arabic or Cyrillic text is alphabetic and passes the same filters as English.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lmladder.corpus.pii import mask_pii

# Vertical whitespace and separators become newlines (deleting them would glue words together);
# other C0/C1 control characters go; lone surrogates cannot be encoded as UTF-8.
_LINE_BREAKS = re.compile(r"[\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")

# NFKC would rewrite Chinese and Japanese punctuation to ASCII (，→ , ！→ ! （）→ ()), changing how
# the text reads and tokenises, so these keep their form: the CJK Symbols and Punctuation block
# (、。「」《》【】; the ideographic space U+3000 still becomes a space) and the full-width sentence,
# quote and bracket punctuation. Full-width ＠．－／％ and other symbols still fold: e-mails, IP
# addresses, phone numbers and numbers are matched in ASCII. Half-width ｡｢｣､ fold to 。「」、 anyway.
# The kept characters, as a regular-expression character class:
CJK_PUNCTUATION = "\u3001-\u303f！＂＇（），：；？［］｛｝～｟｠"
_CJK_PUNCTUATION_RUNS = re.compile(f"([{CJK_PUNCTUATION}]+)")


def nfkc_keeping_cjk_punctuation(text: str) -> str:
    """NFKC (full-width letters and digits, ligatures, compatibility forms folded) except CJK punctuation."""
    pieces = _CJK_PUNCTUATION_RUNS.split(text)  # odd indices are the punctuation runs
    return "".join(piece if index % 2 else unicodedata.normalize("NFKC", piece) for index, piece in enumerate(pieces))


def normalize_text(text: str) -> str:
    """NFKC but for CJK punctuation, no control characters, single spaces, at most one blank line in a row, stripped.

    Stable under re-cleaning: control characters go before NFKC, so deleting one can never bring
    a letter and a combining mark together that NFKC would then compose on a second pass.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATES.sub("\ufffd", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL_CHARS.sub("", text)
    text = nfkc_keeping_cjk_punctuation(text)
    text = _HORIZONTAL_SPACE.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def normalize_code(text: str) -> str:
    """``normalize_text`` for source code: the same line breaks, control characters and surrogates,
    but no NFKC and no change to the spaces inside a line, so that indentation (syntax in Python)
    and string literals keep their meaning; trailing spaces and blank lines at either end go."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATES.sub("\ufffd", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL_CHARS.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def symbol_ratio(text: str) -> float:
    """Share of non-space characters that are neither letters nor digits."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0
    return sum(not c.isalnum() for c in visible) / len(visible)


def alpha_ratio(text: str) -> float:
    """Share of non-space characters that are letters, in any script."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0
    return sum(c.isalpha() for c in visible) / len(visible)


@dataclass(frozen=True)
class QualityFilters:
    min_chars: int = 1
    max_chars: int = 100_000
    max_symbol_ratio: float = 1.0
    min_alpha_ratio: float = 0.0

    @classmethod
    def from_settings(cls, settings: dict) -> QualityFilters:
        """The filters from a settings mapping holding each of them (``data_processing.cleaning``,
        ``data_processing.labelled.filters``); other keys there are ignored."""
        return cls(**{key: settings[key] for key in ("min_chars", "max_chars", "max_symbol_ratio", "min_alpha_ratio")})


FILTER_NAMES = ("too_short", "too_long", "symbol_ratio", "alpha_ratio")


def failed_filters(texts: pd.Series, filters: QualityFilters) -> pd.Series:
    """For each text, the first filter it fails ("" when it passes them all), filters in FILTER_NAMES order."""
    passes = {
        "too_short": lambda t: t.str.len() >= filters.min_chars,
        "too_long": lambda t: t.str.len() <= filters.max_chars,
        "symbol_ratio": lambda t: t.map(symbol_ratio) <= filters.max_symbol_ratio,
        "alpha_ratio": lambda t: t.map(alpha_ratio) >= filters.min_alpha_ratio,
    }
    failed = pd.Series("", index=texts.index, dtype=object)
    for name in FILTER_NAMES:
        pending = texts[failed == ""]  # each filter judges only the survivors of the ones before
        if len(pending):
            failed[pending.index[~passes[name](pending).to_numpy()]] = name
    return failed


def apply_quality_filters(docs: pd.DataFrame, filters: QualityFilters) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop documents failing each filter in turn; return the survivors and removals per filter."""
    failed = failed_filters(docs["text"], filters)
    return docs[failed == ""], {name: int((failed == name).sum()) for name in FILTER_NAMES}


PII_KINDS = ("emails", "ips", "phones")


def normalise_and_mask(
    texts: pd.Series, mask_personal_data: bool = True, normalise: Callable[[str], str] = normalize_text
) -> tuple[pd.Series, pd.DataFrame]:
    """Normalised (and PII-masked) texts, and per text how many of each PII kind were masked.
    ``normalise``: ``normalize_text`` for prose; source code keeps its layout (see ``pairs``)."""
    texts = texts.map(normalise)
    if not mask_personal_data:
        return texts, pd.DataFrame(0, index=texts.index, columns=list(PII_KINDS))
    masked = texts.map(mask_pii)
    counts = pd.DataFrame([found for _, found in masked], index=texts.index, columns=list(PII_KINDS)).fillna(0).astype(int)
    return masked.map(lambda pair: pair[0]), counts


def clean_documents(docs: pd.DataFrame, filters: QualityFilters, mask_personal_data: bool = True) -> tuple[pd.DataFrame, dict[str, int]]:
    """Normalise, mask PII, then apply the quality filters; return survivors and counts.

    PII is masked before filtering so that the filters judge the text that will be kept.
    """
    stats: dict[str, int] = {"docs_in": len(docs)}
    texts, pii_counts = normalise_and_mask(docs["text"], mask_personal_data)
    if mask_personal_data:
        stats.update({f"pii_{kind}_masked": int(pii_counts[kind].sum()) for kind in PII_KINDS})
    kept, removed = apply_quality_filters(docs.assign(text=texts), filters)
    stats.update({f"removed_{name}": count for name, count in removed.items()})
    return kept.reset_index(drop=True), stats
