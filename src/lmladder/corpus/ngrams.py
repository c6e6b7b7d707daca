"""Text units for n-gram matching in any script.

Words where a script separates them with spaces; single characters for scripts that do not
(Chinese, Japanese, Thai, Lao, Khmer), so dedup and decontamination work there too.
"""

from __future__ import annotations

import re

_UNSPACED = "\u0e00-\u0eff\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")


def text_units(text: str) -> list[str]:
    """Case-folded words, with each character of an unspaced script a unit of its own."""
    return _UNIT.findall(text.casefold())


def ngrams(units: list[str], n: int) -> set[str]:
    """All n-grams of ``units`` joined by spaces; a text shorter than n is one n-gram of itself."""
    if len(units) <= n:
        return {" ".join(units)} if units else set()
    return {" ".join(units[i : i + n]) for i in range(len(units) - n + 1)}
