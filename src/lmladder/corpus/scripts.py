"""Which writing systems texts are written in, from the Unicode script of their letters.

Python's ``unicodedata`` has no script property, so a letter's script is read from its character
name, whose first word names the script for every major one ("LATIN SMALL LETTER A", "CJK UNIFIED
IDEOGRAPH-4E2D", "HIRAGANA LETTER A", "ARABIC LETTER ALEF", "THAI CHARACTER KO KAI"). A few rare
scripts with two-word names come out by their first word ("Old", "New").
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

# Name words that are not the script's name: ideographs, 々 (IDEOGRAPHIC ITERATION MARK), ー.
_SCRIPT_NAMES = {"CJK": "Han", "IDEOGRAPHIC": "Han", "KATAKANA-HIRAGANA": "Katakana"}
# Scripts written without spaces between words: each character is a word of its own (as in
# ``lmladder.corpus.ngrams.text_units``).
UNSPACED_SCRIPTS = frozenset({"Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer"})


def letter_script(char: str) -> str | None:
    """The script of a letter ("Latin", "Han", "Cyrillic", ...); None for anything that is not a letter."""
    if not unicodedata.category(char).startswith("L"):
        return None
    words = unicodedata.name(char, "").split()
    if words[:1] in (["FULLWIDTH"], ["HALFWIDTH"]):  # the form, not the script
        words = words[1:]
    if not words:
        return "Unknown"
    return _SCRIPT_NAMES.get(words[0], words[0].title())


def script_mix(texts: Iterable[str]) -> dict[str, float]:
    """Each script's share of all letters in ``texts``, largest first; empty when there are no letters."""
    characters = Counter()
    for text in texts:
        characters.update(text)
    letters = Counter()
    for char, count in characters.items():  # one name lookup per distinct character
        script = letter_script(char)
        if script:
            letters[script] += count
    total = sum(letters.values())
    return {script: count / total for script, count in letters.most_common()}


def describe_script_mix(mix: dict[str, float]) -> str:
    """``"Han 97%, Latin 3%"``: the scripts whose share rounds to at least 1%, largest first."""
    percents = sorted(((script, round(100 * share)) for script, share in mix.items()), key=lambda item: -item[1])
    shown = [f"{script} {percent}%" for script, percent in percents if percent >= 1]
    return ", ".join(shown) if shown else "no letters"


def opening_words(text: str, count: int) -> str:
    """The start of the first line of ``text`` through its ``count``-th word.

    A character of an unspaced script (Chinese, Japanese, Thai...) counts as a word, so a Chinese
    text gives its first ``count`` characters rather than its whole first clause.
    """
    line = text.strip().split("\n", 1)[0]
    words = 0
    for index, char in enumerate(line):
        previous = line[index - 1] if index else " "
        if char.isalnum() and (_unspaced(char) or not previous.isalnum() or _unspaced(previous)):  # a word starts
            if words == count:
                return line[:index].rstrip()
            words += 1
    return line


def _unspaced(char: str) -> bool:
    return letter_script(char) in UNSPACED_SCRIPTS
