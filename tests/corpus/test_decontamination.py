import pandas as pd

from lmladder.corpus.decontamination import build_ngram_index, contaminated_mask, decontaminate

EVAL = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
THIRTEEN_WORDS = " ".join(EVAL.split()[:13])
TWELVE_WORDS = " ".join(EVAL.split()[:12])
CHINESE_EVAL = "机器学习是人工智能的一个分支领域"


def test_build_ngram_index_groups_by_length():
    index = build_ngram_index(["a b c d", "short text", ""], ngram_size=3)
    assert index.grams == {3: {"a b c", "b c d"}, 2: {"short text"}}
    assert index.first_units == {3: {"a", "b"}, 2: {"short"}}


def test_doc_containing_a_13_word_span_is_flagged():
    doc = f"Before it: {THIRTEEN_WORDS.upper()}, and after."
    assert contaminated_mask([doc], [EVAL], ngram_size=13) == [True]


def test_doc_sharing_only_12_words_is_not_flagged():
    doc = f"Before it: {TWELVE_WORDS} and after."
    assert contaminated_mask([doc], [EVAL], ngram_size=13) == [False]


def test_short_eval_text_inside_a_doc_is_flagged():
    docs = ["The answer is: Paris is the capital of France. Next question.", "Paris is lovely."]
    assert contaminated_mask(docs, ["Paris is the capital of France"], ngram_size=13) == [True, False]


def test_chinese_text_sharing_a_13_character_run_is_flagged():
    docs = ["今天我们说" + CHINESE_EVAL[:13] + "吗", "今天我们说" + CHINESE_EVAL[:12] + "吗"]
    assert contaminated_mask(docs, [CHINESE_EVAL], ngram_size=13) == [True, False]


def test_decontaminate_returns_kept_docs_and_removed_ids():
    docs = pd.DataFrame(
        {
            "doc_id": ["clean", "dirty", "also clean"],
            "text": ["nothing to see", f"copied: {EVAL}", TWELVE_WORDS],
        }
    )
    kept, removed = decontaminate(docs, [EVAL], ngram_size=13)
    assert kept["doc_id"].tolist() == ["clean", "also clean"]
    assert kept.index.tolist() == [0, 1]
    assert removed == ["dirty"]


def test_decontaminate_without_eval_texts_removes_nothing():
    docs = pd.DataFrame({"doc_id": ["a"], "text": ["anything"]})
    kept, removed = decontaminate(docs, [], ngram_size=13)
    assert kept["doc_id"].tolist() == ["a"]
    assert removed == []
