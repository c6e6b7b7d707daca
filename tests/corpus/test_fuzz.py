"""Random Unicode through cleaning -> PII masking -> tokenisation: nothing crashes, invariants hold.

Seeded, so a failure reproduces; the pieces are what real scraped text contains: control characters,
lone surrogates (as JSON escapes decode them), right-to-left text and overrides, emoji with joiners
and modifiers, combining marks, zero-width characters, CJK, and one 1 MB line.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata

import pytest

from lmladder.corpus.cleaning import CJK_PUNCTUATION, normalize_text
from lmladder.corpus.pii import mask_pii
from lmladder.corpus.tokenizer import train_bpe_tokenizer

PIECES = [
    "plain ASCII words",
    "user@example.com",
    "call +1 (555) 010-9999",
    "10.0.0.1",
    "\x00\x01\x07\x1b[31m\x7f\x85\x9f",  # C0/C1 controls, an ANSI escape
    json.loads('"\\ud83d"'),
    json.loads('"\\udc00 tail"'),  # lone surrogates from escaped input
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202eevil.exe\u202c",
    "\u200f\u200e",  # RTL and direction marks
    "👩‍👩‍👧‍👦",
    "👍🏽",
    "🏳️‍🌈",
    "🤖" * 5,  # ZWJ sequences, skin tone, flags
    "e\u0301\u0302\u0303",
    "Z\u0351\u0352\u0353\u0354",
    "\u200b\u200c\u200d\ufeff",  # combining, zero-width, BOM
    "中文没有空格的句子",
    "你好，世界！（真的？）「引号」",
    "ＡＢＣ１２３＠ｅｘａｍｐｌｅ．ｃｏｍ",
    "日本語のテキスト",
    "한국어 문장",
    "ภาษาไทยไม่มีช่องว่าง",
    "\t\t  \n\n\n\r\n\r",
    "\u2028\u2029\x0b\x0c",
    "ﬁ ﬀ ① ｶ",
    "\U0010ffff\U000e0001",
]


def random_text(rng: random.Random) -> str:
    parts = [rng.choice(PIECES) for _ in range(rng.randint(0, 12))]
    parts += ["".join(chr(rng.randint(0, 0x2FFFF)) for _ in range(rng.randint(0, 40)))]  # any code point, surrogates too
    rng.shuffle(parts)
    return rng.choice(["", " ", "\n"]).join(parts)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rng = random.Random(1234)
    return [random_text(rng) for _ in range(400)] + ["word " * 200_000]  # the last: one 1 MB line


@pytest.fixture(scope="module")
def tokenizer(texts):
    return train_bpe_tokenizer([normalize_text(text) for text in texts[:200]], vocab_size=400, min_frequency=1)


def test_cleaning_output_is_valid_stable_text(texts):
    for text in texts:
        clean = normalize_text(text)
        clean.encode("utf-8")  # no lone surrogates left: raises if any
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", clean), repr(clean[:80])
        assert clean == clean.strip()
        assert "\n\n\n" not in clean
        assert normalize_text(clean) == clean  # idempotent
        # NFKC everywhere but the CJK punctuation, which keeps its full-width form
        assert all(unicodedata.is_normalized("NFKC", piece) for piece in re.split(f"[{CJK_PUNCTUATION}]", clean))


def test_pii_masking_never_crashes_and_only_masks(texts):
    for text in texts:
        masked, counts = mask_pii(normalize_text(text))
        assert isinstance(masked, str) and all(value >= 0 for value in counts.values())
        if not counts:
            assert masked == normalize_text(text)


def test_tokenisation_is_lossless_and_in_vocabulary(texts, tokenizer):
    vocab_size = tokenizer.get_vocab_size()
    for text in texts:
        clean = normalize_text(text)
        ids = tokenizer.encode(clean).ids
        assert all(0 <= token < vocab_size for token in ids)
        assert tokenizer.decode(ids) == clean  # byte-level BPE: every string round-trips
        assert len(ids) <= len(clean.encode("utf-8")) + 1  # never more tokens than bytes
