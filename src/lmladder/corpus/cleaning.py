"""Unicode normalisation and quality filters.

Ratios count characters with ``str.isalpha``/``str.isalnum``, which are Unicode-aware, so Chinese,
Arabic or Cyrillic text is alphabetic and passes the same filters as English.
"""

from __future__ import annotations

import re
import unicodedata
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


def normalize_text(text: str) -> str:
    """NFKC, no control characters, single spaces, at most one blank line in a row, stripped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATES.sub("\ufffd", text)
    text = unicodedata.normalize("NFKC", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL_CHARS.sub("", text)
    text = _HORIZONTAL_SPACE.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


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


def apply_quality_filters(docs: pd.DataFrame, filters: QualityFilters) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop documents failing each filter in turn; return the survivors and removals per filter."""
    removed: dict[str, int] = {}
    lengths = docs["text"].str.len()
    checks = [
        ("too_short", lambda d: lengths.loc[d.index] >= filters.min_chars),
        ("too_long", lambda d: lengths.loc[d.index] <= filters.max_chars),
        ("symbol_ratio", lambda d: d["text"].map(symbol_ratio) <= filters.max_symbol_ratio),
        ("alpha_ratio", lambda d: d["text"].map(alpha_ratio) >= filters.min_alpha_ratio),
    ]
    for name, keep in checks:
        mask = keep(docs) if len(docs) else pd.Series(dtype=bool)
        removed[name] = int((~mask).sum())
        docs = docs[mask]
    return docs, removed


def clean_documents(
    docs: pd.DataFrame, filters: QualityFilters, mask_personal_data: bool = True
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Normalise, mask PII, then apply the quality filters; return survivors and counts.

    PII is masked before filtering so that the filters judge the text that will be kept.
    """
    stats: dict[str, int] = {"docs_in": len(docs)}
    texts = docs["text"].map(normalize_text)
    if mask_personal_data:
        masked = texts.map(mask_pii)
        texts = masked.map(lambda pair: pair[0])
        for kind in ("emails", "ips", "phones"):
            stats[f"pii_{kind}_masked"] = int(masked.map(lambda pair: pair[1][kind]).sum())
    kept, removed = apply_quality_filters(docs.assign(text=texts), filters)
    stats.update({f"removed_{name}": count for name, count in removed.items()})
    return kept.reset_index(drop=True), stats
