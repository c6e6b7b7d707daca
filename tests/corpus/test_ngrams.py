import pytest

from lmladder.corpus.ngrams import ngrams, text_units


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("Hello, World! It's 3.14", ["hello", "world", "it", "s", "3", "14"]),
        ("机器学习", ["机", "器", "学", "习"]),
        ("Python是一种语言", ["python", "是", "一", "种", "语", "言"]),
        ("ひらがなカタカナ", list("ひらがなカタカナ")),
        ("Über CAFÉ straße", ["über", "café", "strasse"]),
        ("مرحبا بالعالم", ["مرحبا", "بالعالم"]),
        ("  ...  ", []),
    ],
)
def test_text_units(text, units):
    assert text_units(text) == units


def test_ngrams_slide_over_units():
    assert ngrams(["a", "b", "c", "d"], 3) == {"a b c", "b c d"}


@pytest.mark.parametrize(("units", "grams"), [(["a", "b"], {"a b"}), (["a", "b", "c"], {"a b c"}), ([], set())])
def test_ngrams_of_text_no_longer_than_n_is_the_text_itself(units, grams):
    assert ngrams(units, 3) == grams
