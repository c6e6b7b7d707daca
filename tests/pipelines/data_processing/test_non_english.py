"""A Chinese and Arabic corpus and a Chinese labelled set through the real data_processing pipeline:
quality filters keep them, near-duplicates and contamination are found without spaces to split on,
and the byte-level tokenizer packs them losslessly (bits per byte stays comparable)."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from tests.conftest import load_parameters
from tests.pipelines.conftest import make_catalog, run_data_processing

HANZI = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自可去之过家学对小多然于心么都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲其进此话常与活正感"
ARABIC = "كتاب مدرسة بيت شمس قمر ماء نهر بحر جبل شجرة طريق مدينة قرية سوق عمل علم لغة تاريخ فكر حياة".split()
LABELS = {"天气": "今天天气很好阳光明媚温度适中适合出门散步", "运动": "足球比赛非常激烈球员们在场上奔跑射门得分"}


def chinese_doc(rng: random.Random, n: int = 120) -> str:
    return "".join(rng.choice(HANZI) for _ in range(n)) + "。"


def arabic_doc(rng: random.Random, n: int = 40) -> str:
    return " ".join(rng.choice(ARABIC) for _ in range(n)) + "."


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    rng = random.Random(7)
    docs = [chinese_doc(rng) for _ in range(600)] + [arabic_doc(rng) for _ in range(600)]
    near_duplicate = docs[0][:-3] + "好好。"  # the same Chinese document with its last characters changed
    labelled = []
    for label, phrase in LABELS.items():
        for i in range(200):
            labelled.append({"text": phrase + "".join(rng.choice(HANZI) for _ in range(30)) + f"第{i}号。", "label": label})
    labelled = pd.DataFrame(labelled)
    raw_labelled = labelled.assign(doc_id=[f"l{i}" for i in range(len(labelled))])
    # one corpus document quotes a labelled text: if that text lands in val/test, it must be removed
    contaminated = [f"前言。{text}后记。" for text in labelled["text"]]
    corpus = pd.DataFrame({"text": docs + [near_duplicate] + contaminated})
    corpus = corpus.assign(doc_id=[f"d{i}" for i in range(len(corpus))])

    params = load_parameters("test")
    params["data_processing"]["labelled"].update(
        label_from="column", text_column="text", label_column="label", min_words=8, max_per_class=None
    )
    catalog = make_catalog(tmp_path_factory.mktemp("non_english"), corpus, raw_labelled, params)
    return run_data_processing(catalog), docs, labelled


def test_filters_keep_chinese_and_arabic_text(processed):
    catalog, docs, _ = processed
    stats = catalog.load("corpus_summary")["corpus"]
    assert stats["removed_too_short"] == 0 and stats.get("removed_low_alpha", 0) == 0
    kept = pd.concat([catalog.load("corpus_train"), catalog.load("corpus_val")])["text"].tolist()
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in text) for text in kept) >= 550
    assert sum(any("\u0600" <= c <= "\u06ff" for c in text) for text in kept) >= 550


def test_near_duplicates_and_contamination_are_found_without_spaces(processed):
    catalog, _, _ = processed
    stats = catalog.load("corpus_summary")["corpus"]
    assert stats["removed_near_duplicates"] >= 1
    held_out = pd.concat([catalog.load("labelled_val"), catalog.load("labelled_test")])["text"].tolist()
    corpus = " ".join(pd.concat([catalog.load("corpus_train"), catalog.load("corpus_val")])["text"])
    assert stats["removed_contaminated"] >= len(held_out)
    assert not any(text in corpus for text in held_out)


def test_tokens_round_trip_and_bytes_per_token_counts_utf8_bytes(processed):
    catalog, _, _ = processed
    tokenizer, train = catalog.load("tokenizer"), catalog.load("train_tokens")
    texts = catalog.load("corpus_train")["text"].tolist()
    assert tokenizer.decode(tokenizer.encode(texts[0]).ids) == texts[0]
    utf8_bytes = sum(len(text.encode("utf-8")) for text in texts)
    assert train.metadata["text_bytes"] == utf8_bytes > 2 * sum(len(text) for text in texts)  # CJK/Arabic: 2-3 bytes a character
    assert train.metadata["bytes_per_token"] == pytest.approx(utf8_bytes / len(train.tokens))
