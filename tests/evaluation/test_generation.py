from __future__ import annotations

import pytest
import sacrebleu
from sklearn.exceptions import NotFittedError

from lmladder.errors import ConfigError
from lmladder.evaluation import generation
from lmladder.evaluation.generation import (
    RetrievalBaseline,
    bleu_tokenizer,
    generation_metrics,
    rouge_l,
    samples_markdown,
    tokens,
)

ENGLISH_REFERENCES = [
    "Return the sum of two numbers.",
    "Read a whole file into a string.",
    "Push an item onto the top of the stack.",
]
CHINESE_PREDICTIONS = ["今天天气很好,我们去公园散步。", "我喜欢吃苹果和香蕉。"]
CHINESE_REFERENCES = ["今天天气不错,我们去公园走走。", "我爱吃苹果。"]


# tokens ---------------------------------------------------------------------------------------------


def test_tokens_are_case_folded_word_runs_with_unspaced_characters_split():
    assert tokens("Hello, World_x 42!") == ["hello", "world_x", "42"]
    assert tokens("用Python写代码") == ["用", "python", "写", "代", "码"]
    assert tokens("日本語のテキスト") == ["日", "本", "語", "の", "テ", "キ", "ス", "ト"]
    assert tokens("Привет, МИР") == ["привет", "мир"]
    assert tokens("  ...  ") == []


def test_tokens_keep_combining_marks_with_their_letters():
    # Python's \w alone would cut "हिन्दी" at each vowel sign and drop the signs.
    assert tokens("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    # Thai is unspaced: one token per letter, the vowel signs above/below stay with their letter.
    assert tokens("สวัสดี") == ["ส", "วั", "ส", "ดี"]


# rouge_l --------------------------------------------------------------------------------------------


def test_rouge_l_hand_computed():
    # prediction: the cat sat on the mat   (6 tokens)
    # reference:  the cat is  on the mat   (6 tokens)
    # LCS = "the cat on the mat" = 5 -> F = 2 * 5 / (6 + 6)
    assert rouge_l("The cat sat on the mat.", "the cat is on the mat") == pytest.approx(100 * 10 / 12)
    # prediction: a cat was sitting on the mat today (8), reference: the cat sat on the mat (6)
    # LCS = "cat on the mat" = 4 -> P = 4/8, R = 4/6, F = 2PR / (P + R) = 2 * 4 / (8 + 6)
    assert rouge_l("a cat was sitting on the mat today", "the cat sat on the mat") == pytest.approx(100 * 8 / 14)


def test_rouge_l_empty_texts():
    assert rouge_l("", "") == 100.0
    assert rouge_l("", "a reference") == 0.0
    assert rouge_l("a prediction", "") == 0.0
    assert rouge_l("no overlap", "entirely different") == 0.0


def test_rouge_l_is_order_sensitive():
    assert rouge_l("a b c d", "d c b a") == pytest.approx(100 * 2 * 1 / 8)


# generation_metrics ---------------------------------------------------------------------------------


def test_perfect_predictions_score_100_on_every_metric():
    scores = generation_metrics(ENGLISH_REFERENCES, ENGLISH_REFERENCES)
    for key in ("bleu", "chrf", "rouge_l", "exact_match"):
        assert scores[key] == pytest.approx(100.0), key
    assert scores["count"] == 3
    assert scores["length_ratio"] == 1.0
    assert scores["bleu_tokenize"] == "13a"


def test_bleu_and_chrf_equal_sacrebleu_called_directly():
    predictions = ["Return the sum of both numbers.", "Read the file into memory.", "Push onto the stack."]
    scores = generation_metrics(predictions, ENGLISH_REFERENCES)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(predictions, [ENGLISH_REFERENCES], tokenize="13a").score)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(predictions, [ENGLISH_REFERENCES]).score)
    assert 0 < scores["bleu"] < 100
    assert "tok:13a" in scores["bleu_signature"]
    assert "version:2.6.0" in scores["chrf_signature"]


def test_chinese_scores_are_not_zero_and_bleu_splits_characters():
    scores = generation_metrics(CHINESE_PREDICTIONS, CHINESE_REFERENCES)
    assert scores["bleu_tokenize"] == "zh"
    assert "tok:zh" in scores["bleu_signature"]
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(CHINESE_PREDICTIONS, [CHINESE_REFERENCES], tokenize="zh").score)
    assert scores["bleu"] > 0
    assert scores["chrf"] > 0
    assert scores["rouge_l"] > 0
    # 13a would see each Chinese clause as one word: no 4-gram matches, BLEU 0.
    assert sacrebleu.corpus_bleu(CHINESE_PREDICTIONS, [CHINESE_REFERENCES], tokenize="13a").score == 0


def test_bleu_tokenizer_rule():
    assert bleu_tokenizer(ENGLISH_REFERENCES) == "13a"
    assert bleu_tokenizer(["Кошка сидит на окне."]) == "13a"
    assert bleu_tokenizer(CHINESE_REFERENCES) == "zh"
    assert bleu_tokenizer(["Python是一种编程语言"]) == "zh"  # Han letters outnumber the Latin ones
    assert bleu_tokenizer(["日本語のテキストです。"]) == "char"  # kana: zh would leave them whole
    assert bleu_tokenizer(["สวัสดีครับ"]) == "char"
    assert bleu_tokenizer(["A mostly English sentence with 一个词."]) == "13a"
    assert bleu_tokenizer([""]) == "13a"


def test_exact_match_normalises_whitespace_but_not_case():
    predictions = ["Hello  world\n", "hello world", "Cafe\u0301 au lait", "Hello\u3000world"]
    references = ["Hello world", "Hello world", "Caf\u00e9 au lait", "Hello world"]
    # rows 0 (spaces, newline), 2 (decomposed vs composed é) and 3 (ideographic space) match; row 1 differs in case
    assert generation_metrics(predictions, references)["exact_match"] == pytest.approx(75.0)


def test_length_statistics_use_the_same_tokens():
    scores = generation_metrics(["a b c", "", "我爱你"], ["a b", "c d e f", "我爱"])
    assert scores["mean_prediction_tokens"] == pytest.approx((3 + 0 + 3) / 3)
    assert scores["mean_reference_tokens"] == pytest.approx((2 + 4 + 2) / 3)
    assert scores["length_ratio"] == pytest.approx(6 / 8)
    assert scores["empty_predictions"] == 1
    assert scores["empty_references"] == 0


def test_an_empty_prediction_scores_zero_for_its_example():
    scores = generation_metrics(["", "the cat sat on the mat"], ["a reference", "the cat sat on the mat"])
    assert scores["rouge_l"] == pytest.approx(50.0)
    assert scores["exact_match"] == pytest.approx(50.0)
    assert scores["empty_predictions"] == 1


def test_references_without_tokens_give_no_length_ratio():
    assert generation_metrics(["x"], ["..."])["length_ratio"] is None


def test_generation_metrics_rejects_different_lengths():
    with pytest.raises(ConfigError, match="2 predictions but 1 references"):
        generation_metrics(["a", "b"], ["a"])


def test_generation_metrics_rejects_empty_input():
    with pytest.raises(ConfigError, match="Nothing to score"):
        generation_metrics([], [])


@pytest.mark.parametrize(
    ("predictions", "references", "message"),
    [
        (["a", None], ["a", "b"], r"predictions\[1\] is a NoneType"),
        (["a", "b"], ["a", 3], r"references\[1\] is a int"),
        ([float("nan")], ["a"], r"predictions\[0\] is a float"),
    ],
)
def test_generation_metrics_rejects_non_strings(predictions, references, message):
    with pytest.raises(TypeError, match=message):
        generation_metrics(predictions, references)


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        generation_metrics([], [])


# RetrievalBaseline ----------------------------------------------------------------------------------

CODE = [
    "def add(a, b):\n    return a + b",
    "def read_file(path):\n    with open(path) as handle:\n        return handle.read()",
    "class Stack:\n    def push(self, item):\n        self.items.append(item)",
]
SUMMARIES = ["Add two numbers.", "Read a file.", "A stack with push."]


def test_retrieval_returns_the_target_of_the_nearest_training_source():
    model = RetrievalBaseline().fit(CODE, SUMMARIES)
    queries = [
        "def add(x, y):\n    return x + y",
        "def load(path):\n    with open(path) as f:\n        return f.read()",
        "stack.push(item)",
    ]
    predictions, similarities = model.predict_with_similarity(queries)
    assert predictions == SUMMARIES
    assert model.predict(queries) == predictions
    assert all(0 < similarity < 1 for similarity in similarities)
    assert model.predict_with_similarity(CODE[:1])[1][0] == pytest.approx(1.0)
    assert model.n_train == 3
    assert model.vocabulary_size > 0


def test_retrieval_ties_go_to_the_lowest_training_index():
    model = RetrievalBaseline().fit(["same text", "other words", "same text"], ["first", "second", "third"])
    assert model.predict(["same text"]) == ["first"]
    # No shared n-gram with anything: every similarity is 0, so the first training target.
    predictions, similarities = model.predict_with_similarity([""])
    assert predictions == ["first"]
    assert similarities == [0.0]


def test_retrieval_works_in_other_scripts():
    cyrillic = RetrievalBaseline().fit(["Кошка сидит на окне", "Собака бежит по улице"], ["cat", "dog"])
    assert cyrillic.predict(["кошка на окне", "собака на улице"]) == ["cat", "dog"]
    chinese = RetrievalBaseline().fit(["今天天气很好", "我喜欢吃苹果"], ["weather", "apples"])
    assert chinese.predict(["明天天气也很好", "我爱吃苹果"]) == ["weather", "apples"]


def test_retrieval_batches_give_the_same_answers(monkeypatch):
    model = RetrievalBaseline().fit(CODE, SUMMARIES)
    queries = CODE * 3
    expected = model.predict_with_similarity(queries)
    monkeypatch.setattr(generation, "_SIMILARITY_BATCH_CELLS", 4)  # one query per batch
    assert model.predict_with_similarity(queries) == expected


def test_retrieval_predict_before_fit_is_refused():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        RetrievalBaseline().predict(["anything"])


def test_retrieval_fit_rejects_bad_training_data():
    with pytest.raises(ConfigError, match="3 training sources but 2 targets"):
        RetrievalBaseline().fit(CODE, SUMMARIES[:2])
    with pytest.raises(ConfigError, match="Nothing to fit"):
        RetrievalBaseline().fit([], [])
    with pytest.raises(ConfigError, match="n-gram to index"):
        RetrievalBaseline().fit(["", ""], ["a", "b"])
    with pytest.raises(TypeError, match=r"targets\[1\] is a NoneType"):
        RetrievalBaseline().fit(["a b", "c d"], ["a", None])


def test_retrieval_predict_rejects_non_strings():
    model = RetrievalBaseline().fit(CODE, SUMMARIES)
    with pytest.raises(TypeError, match=r"sources\[0\] is a bytes"):
        model.predict([b"def add"])


# samples_markdown -----------------------------------------------------------------------------------


def test_samples_markdown_picks_n_evenly_spaced_rows():
    sources = [f"source {index}" for index in range(20)]
    references = [f"reference {index}" for index in range(20)]
    table = samples_markdown(sources, references, {"retrieval": references, "model": sources}, n=4)
    lines = table.splitlines()
    assert lines[0] == "| # | source | reference | retrieval | model |"
    assert len(lines) == 2 + 4
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| 0", "| 5", "| 10", "| 15"]
    assert lines[3] == "| 5 | source 5 | reference 5 | reference 5 | source 5 |"
    assert samples_markdown(sources, references, {"retrieval": references}, n=4) == samples_markdown(
        sources, references, {"retrieval": references}, n=4
    )


def test_samples_markdown_shows_every_row_when_there_are_fewer_than_n():
    table = samples_markdown(["a", "b"], ["x", "y"], {}, n=8)
    assert len(table.splitlines()) == 2 + 2


def test_samples_markdown_escapes_pipes_and_newlines_and_truncates():
    table = samples_markdown(
        ["def f(a | b):\n    return a\r\n"],
        ["Or " + "x" * 50],
        {"sys|tem": [""]},
        n=1,
        max_chars=20,
    )
    header, _, row = table.splitlines()
    assert header == "| # | source | reference | sys\\|tem |"
    assert "def f(a \\| b):⏎ " in row
    assert "\n" not in row and "\r" not in row
    assert "| Or " + "x" * 16 + "… |" in row  # 19 characters and the ellipsis
    assert "(empty)" in row
    assert row.count(" | ") == 3  # four cells: no pipe leaked


def test_samples_markdown_refuses_a_short_output_list():
    with pytest.raises(ConfigError, match="System 'model' has 1 outputs but there are 2 sources"):
        samples_markdown(["a", "b"], ["x", "y"], {"retrieval": ["x", "y"], "model": ["x"]})
    with pytest.raises(ConfigError, match="2 sources but 1 references"):
        samples_markdown(["a", "b"], ["x"], {})
    with pytest.raises(ConfigError, match="n and max_chars must be positive"):
        samples_markdown(["a"], ["x"], {}, n=0)
