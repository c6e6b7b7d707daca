import pytest

from lmladder.corpus.scripts import describe_script_mix, letter_script, opening_words, script_mix


@pytest.mark.parametrize(
    ("char", "script"),
    [
        ("a", "Latin"),
        ("É", "Latin"),
        ("Ａ", "Latin"),
        ("中", "Han"),
        ("々", "Han"),
        ("あ", "Hiragana"),
        ("カ", "Katakana"),
        ("ー", "Katakana"),
        ("한", "Hangul"),
        ("Ж", "Cyrillic"),
        ("λ", "Greek"),
        ("ع", "Arabic"),
        ("ש", "Hebrew"),
        ("ก", "Thai"),
        ("क", "Devanagari"),
        ("1", None),
        ("，", None),
        (" ", None),
        ("\u0301", None),  # digits, punctuation, space, marks
    ],
)
def test_letter_script(char, script):
    assert letter_script(char) == script


def test_script_mix_counts_letters_only():
    mix = script_mix(["中文，English!", "中文 123"])  # 4 Han letters, 7 Latin; punctuation and digits ignored
    assert list(mix) == ["Latin", "Han"]
    assert mix == pytest.approx({"Latin": 7 / 11, "Han": 4 / 11})
    assert script_mix(["123 !?", ""]) == {}


def test_describe_script_mix_rounds_and_drops_traces():
    assert describe_script_mix({"Latin": 0.029, "Han": 0.968, "Cyrillic": 0.003}) == "Han 97%, Latin 3%"
    assert describe_script_mix({}) == "no letters"


@pytest.mark.parametrize(
    ("text", "count", "opening"),
    [
        ("Return the value of x, or None.", 4, "Return the value of"),
        ("Read the file, then close it.", 3, "Read the file,"),
        ("话说天下大势，分久必合。", 4, "话说天下"),  # unspaced: a character is a word
        ("第一章 天色已晚", 4, "第一章 天"),
        ("ภาษาไทยไม่มีช่องว่าง", 3, "ภาษ"),
        ("ที่นี่", 1, "ที่"),  # a Thai letter keeps its vowel and tone marks
        ("Python编程很有趣", 3, "Python编程"),
        ("Short", 4, "Short"),
        ("  Title\nBody text here", 4, "Title"),  # the first line only
        ("", 4, ""),
    ],
)
def test_opening_words(text, count, opening):
    assert opening_words(text, count) == opening
