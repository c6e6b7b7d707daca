import pandas as pd
import pytest

from lmladder.corpus.cleaning import (
    QualityFilters,
    alpha_ratio,
    apply_quality_filters,
    clean_documents,
    normalize_code,
    normalize_text,
    symbol_ratio,
)

CHINESE = "机器学习很有趣。"
ARABIC = "مرحبا بالعالم"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﬁle\x00  name\r\n\n\n\nnext", "file name\n\nnext"),
        ("Ｈｅｌｌｏ ① ㎏", "Hello 1 kg"),
        ("a\tb\t\tc", "a b c"),
        ("one\r\ntwo\rthree", "one\ntwo\nthree"),
        ("x\ud800y\udfffz", "x\ufffdy\ufffdz"),
        ("bell\x07 esc\x1b del\x7f c1\x9f", "bell esc del c1"),
        ("  lead \n  trail  \n", "lead\ntrail"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("a \n \n \n b", "a\n\nb"),
        ("a\u00a0b\u3000c", "a b c"),
        (CHINESE, CHINESE),
        ("", ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_text_keeps_chinese_punctuation_full_width():
    text = "你好，世界！真的吗？注意：第一；第二（括号）「引号」『书名』《书》【注】、。～"
    assert normalize_text(text) == text


def test_normalize_text_still_folds_full_width_latin_digits_and_symbols():
    assert normalize_text("ＡＢＣ１２３") == "ABC123"
    assert normalize_text("价格：１２．５％，邮箱ａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ。") == "价格：12.5%，邮箱ana@example.com。"
    assert normalize_text("ﬁ ｶ ㎏ ｡｢｣､") == "fi カ kg 。「」、"  # half-width CJK punctuation becomes full-width


@pytest.mark.parametrize(
    "text",
    [
        "你好，世界！ＡＢＣ１２３（ｔｅｓｔ）",
        "e\x00\u0301",  # a control character between a letter and its accent
        "，\u0301Ａ\u0301。",  # accents after kept punctuation
        "　「　」　",
    ],
)
def test_normalize_text_is_stable_under_re_cleaning(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


def test_normalize_text_keeps_words_separated_by_vertical_whitespace():
    assert normalize_text("one\x0btwo\x0cthree\x85four").split() == ["one", "two", "three", "four"]


def test_normalize_code_keeps_indentation_and_literals_but_drops_what_normalize_text_drops():
    code = "\n\ndef f(x):\r\n\tif x:  \n        return 'ＡＢ  ﬁ'\x00\x0c\ud800\n\n"
    assert normalize_code(code) == "def f(x):\n\tif x:\n        return 'ＡＢ  ﬁ'\n\ufffd"
    assert normalize_code(normalize_code(code)) == normalize_code(code)
    assert normalize_code(" \n\t\n") == ""


@pytest.mark.parametrize(
    ("text", "symbols", "letters"),
    [
        ("a+b = c!", 3 / 6, 3 / 6),
        ("ab12 !!", 2 / 6, 2 / 6),
        ("   ", 0.0, 0.0),
        ("", 0.0, 0.0),
        (CHINESE, 1 / 8, 7 / 8),
        (ARABIC, 0.0, 1.0),
        ("Привет, мир", 1 / 10, 9 / 10),
    ],
)
def test_symbol_and_alpha_ratios(text, symbols, letters):
    assert symbol_ratio(text) == pytest.approx(symbols)
    assert alpha_ratio(text) == pytest.approx(letters)


def test_non_latin_scripts_pass_min_alpha_ratio():
    docs = pd.DataFrame({"doc_id": ["zh", "ar"], "text": [CHINESE, ARABIC]})
    kept, removed = apply_quality_filters(docs, QualityFilters(min_alpha_ratio=0.5, max_symbol_ratio=0.3))
    assert kept["doc_id"].tolist() == ["zh", "ar"]
    assert sum(removed.values()) == 0


def test_apply_quality_filters_counts_each_removal_once_in_filter_order():
    docs = pd.DataFrame(
        {
            "doc_id": ["short", "both", "long", "symbols", "digits", "ok", "zh"],
            "text": ["tiny", "!!", "x" * 50, "#### !!!! $$$$ ok", "12345 67890 2023", "a perfectly normal sentence.", CHINESE],
        }
    )
    filters = QualityFilters(min_chars=5, max_chars=40, max_symbol_ratio=0.3, min_alpha_ratio=0.5)
    kept, removed = apply_quality_filters(docs, filters)
    assert kept["doc_id"].tolist() == ["ok", "zh"]
    assert removed == {"too_short": 2, "too_long": 1, "symbol_ratio": 1, "alpha_ratio": 1}


def test_apply_quality_filters_on_empty_table():
    empty = pd.DataFrame({"doc_id": ["a"], "text": ["hello"]}).iloc[:0]
    kept, removed = apply_quality_filters(empty, QualityFilters(min_chars=5))
    assert len(kept) == 0
    assert removed == {"too_short": 0, "too_long": 0, "symbol_ratio": 0, "alpha_ratio": 0}


def test_clean_documents_normalises_masks_and_counts_pii():
    docs = pd.DataFrame(
        {
            "doc_id": ["a", "b", "c"],
            "text": [
                "Mail  ana@example.com or bo@example.org\r\n",
                "Server 10.0.0.1 answers 555-123-4567",
                "\x00",
            ],
        }
    )
    kept, stats = clean_documents(docs, QualityFilters(min_chars=1))
    assert kept.to_dict("records") == [
        {"doc_id": "a", "text": "Mail <EMAIL> or <EMAIL>"},
        {"doc_id": "b", "text": "Server <IP> answers <PHONE>"},
    ]
    assert stats == {
        "docs_in": 3,
        "pii_emails_masked": 2,
        "pii_ips_masked": 1,
        "pii_phones_masked": 1,
        "removed_too_short": 1,
        "removed_too_long": 0,
        "removed_symbol_ratio": 0,
        "removed_alpha_ratio": 0,
    }


def test_clean_documents_without_masking_keeps_pii():
    docs = pd.DataFrame({"doc_id": ["a"], "text": ["Mail ana@example.com"]})
    kept, stats = clean_documents(docs, QualityFilters(), mask_personal_data=False)
    assert kept["text"].tolist() == ["Mail ana@example.com"]
    assert not any(key.startswith("pii_") for key in stats)


def test_clean_documents_filters_the_masked_text():
    docs = pd.DataFrame({"doc_id": ["a"], "text": ["ana.maria.lopez@example.com"]})
    kept, stats = clean_documents(docs, QualityFilters(max_chars=10))
    assert kept["text"].tolist() == ["<EMAIL>"]
    assert stats["removed_too_long"] == 0
