import ast
import logging
import textwrap
from collections import Counter

import pandas as pd
import pytest

from lmladder.corpus.code_summaries import (
    EXAMPLE_COLUMNS,
    MIN_SUMMARY_WORDS,
    SharedAcrossSplitsError,
    build_code_summaries,
    check_disjoint_splits,
    decontaminate_corpus_against_pairs,
    first_sentence,
    function_source_without_docstring,
    iter_function_pairs,
    pairs_from_table,
    shared_across_splits,
    split_pairs,
)
from lmladder.corpus.stdlib_docs import iter_module_docstrings
from lmladder.errors import ConfigError, MissingColumnError

MODULE = '''
"""A module."""

import functools


@functools.lru_cache(maxsize=None)
@staticmethod
def cached(x):
    """Return x doubled, e.g. for tests. More words here."""
    return x * 2


class Shape:
    """A shape."""

    def area(self):
        """Compute the area of the shape.

        Longer description.
        """
        # the comment stays
        return self.w * self.h

    def todo(self):
        """Not written yet, will come later."""
        raise NotImplementedError("later")

    def short(self):
        """Short."""
        return 1

    async def fetch(self):
        """Fetch the shape from far away."""

        def helper():
            """Help the fetch along nicely."""
            return 2

        return helper()


try:
    def platform_thing():
        """First platform variant of the thing."""
        return "posix"
except ImportError:
    def platform_thing():
        """Second platform variant of the thing."""
        return "nt"
'''


def _write(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def _function(source, name):
    tree = ast.parse(source)
    return next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name)


def _without_docstring(source, name="f"):
    source = textwrap.dedent(source)
    return function_source_without_docstring(source, _function(source, name))


def _examples(rows):
    return pd.DataFrame([{"id": i, "module": "m", "text": text, "target": target} for i, text, target in rows], columns=EXAMPLE_COLUMNS)


@pytest.fixture()
def fake_stdlib(tmp_path):
    _write(tmp_path / "pkg" / "shapes.py", MODULE)
    _write(tmp_path / "pkg" / "__init__.py", 'def top():\n    """Return the top of the package."""\n    return 0\n')
    _write(tmp_path / "test" / "test_shapes.py", 'def test_area():\n    """Check the area of a square."""\n    assert True\n')
    _write(tmp_path / "broken.py", 'def broken(:\n    """Never parsed at all."""\n')
    return tmp_path


# --- first_sentence --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("docstring", "expected"),
    [
        ("Return the value.  More text follows.", "Return the value."),
        ("Return the\n    value.\nMore text.", "Return the value."),
        ("Use a tool, e.g. grep, to search. Then stop.", "Use a tool, e.g. grep, to search."),
        ("Cut it (i.e. split it) in two. Rest.", "Cut it (i.e. split it) in two."),
        ("Read version 3.11 of os.path.join. Rest.", "Read version 3.11 of os.path.join."),
        ("A summary without a period\n\nSecond paragraph. Here.", "A summary without a period"),
        ("\n    Indented summary line.\n\n    Body.\n    ", "Indented summary line."),
        ('Return "a." for b. Rest.', 'Return "a." for b.'),
        ("Ends with an abbreviation, e.g.", "Ends with an abbreviation, e.g."),
        ("", ""),
        ("   \n\t  ", ""),
    ],
)
def test_first_sentence(docstring, expected):
    assert first_sentence(docstring) == expected


# --- function_source_without_docstring -------------------------------------------------------


def test_source_keeps_decorators_and_def_line_and_drops_docstring():
    text = _without_docstring(MODULE, "cached")
    assert text == "@functools.lru_cache(maxsize=None)\n@staticmethod\ndef cached(x):\n    return x * 2"


def test_method_source_is_dedented_and_keeps_comments():
    text = _without_docstring(MODULE, "area")
    assert text == "def area(self):\n    # the comment stays\n    return self.w * self.h"
    assert "Compute the area" not in text and "Longer description" not in text


def test_one_line_function_with_docstring_on_the_def_line():
    assert _without_docstring('def f(): "Doc here ok."; return 1\n') == "def f(): return 1"
    assert _without_docstring("class C:\n    def f(self): '''Doc here ok.''' ; return 1\n") == "def f(self): return 1"


def test_docstring_followed_by_a_statement_on_its_line():
    assert _without_docstring('def f():\n    """Doc here ok."""; x = 1\n    return x\n') == "def f():\n    x = 1\n    return x"


def test_docstring_only_function_becomes_pass():
    assert _without_docstring('def f():\n    """Doc here ok."""\n') == "def f():\n    pass"
    assert _without_docstring('def f(): "Doc here ok."\n') == "def f(): pass"


def test_non_ascii_before_the_docstring_is_cut_by_characters_not_bytes():
    # ast counts columns in UTF-8 bytes: "é" is two of them.
    assert _without_docstring('def café(): "Dóc ü here."; return "ü"\n', "café") == 'def café(): return "ü"'


def test_method_with_a_multiline_string_at_column_zero_still_parses():
    source = 'class C:\n    def f(self):\n        """Doc here ok."""\n        return """\nflush left\n"""\n'
    text = _without_docstring(source)
    assert text.startswith("def f(self):\n    return")
    assert isinstance(ast.parse(text).body[0], ast.FunctionDef)


def test_form_feed_does_not_shift_lines():
    source = 'x = 1\n\x0c\ndef f():\n    """Doc here ok."""\n    return 2\n'
    assert _without_docstring(source) == "def f():\n    return 2"


def test_parenthesised_multiline_docstring_is_removed_whole():
    source = 'def f():\n    ("Doc here "\n     "ok.")\n    return 2\n'
    assert _without_docstring(source) == "def f():\n    return 2"


# --- iter_function_pairs and build_code_summaries --------------------------------------------


def test_iter_function_pairs_yields_documented_functions_and_counts_skips(fake_stdlib):
    counts = Counter()
    pairs = list(iter_function_pairs(fake_stdlib / "pkg" / "shapes.py", "pkg.shapes", counts))
    assert [pair["id"] for pair in pairs] == [
        "pkg.shapes:cached",
        "pkg.shapes:Shape.area",
        "pkg.shapes:Shape.fetch",
        "pkg.shapes:Shape.fetch.helper",
        "pkg.shapes:platform_thing",
        "pkg.shapes:platform_thing",
    ]
    assert all(list(pair) == EXAMPLE_COLUMNS and pair["module"] == "pkg.shapes" for pair in pairs)
    assert [pair["target"] for pair in pairs][:2] == ["Return x doubled, e.g. for tests.", "Compute the area of the shape."]
    assert pairs[2]["text"].startswith("async def fetch(self):\n\n    def helper():")
    assert counts == {"functions_with_docstring": 8, "skipped_empty_body": 1, "skipped_short_summary": 1}
    assert MIN_SUMMARY_WORDS == 3


def test_example_ids_match_the_stdlib_corpus_doc_ids(fake_stdlib):
    path = fake_stdlib / "pkg" / "shapes.py"
    doc_ids = {doc_id for doc_id, _ in iter_module_docstrings(path, "pkg.shapes")}
    assert {pair["id"] for pair in iter_function_pairs(path, "pkg.shapes")} <= doc_ids


@pytest.mark.parametrize(
    "body",
    ["pass", "...", "raise NotImplementedError", "raise NotImplementedError('subclasses do it')", "pass\n    ..."],
)
def test_placeholder_bodies_are_skipped_as_empty(tmp_path, body):
    _write(tmp_path / "m.py", f'def f():\n    """A documented placeholder function."""\n    {body}\n')
    counts = Counter()
    assert list(iter_function_pairs(tmp_path / "m.py", "m", counts)) == []
    assert counts["skipped_empty_body"] == 1


def test_files_that_do_not_parse_are_skipped_and_counted(fake_stdlib):
    counts = Counter()
    assert list(iter_function_pairs(fake_stdlib / "broken.py", "broken", counts)) == []
    assert counts == {"unparsable_files": 1}


def test_build_on_a_small_tree(fake_stdlib):
    examples, counts = build_code_summaries(fake_stdlib)
    assert list(examples.columns) == EXAMPLE_COLUMNS
    assert examples["id"].tolist() == [
        "pkg:top",
        "pkg.shapes:cached",
        "pkg.shapes:Shape.area",
        "pkg.shapes:Shape.fetch",
        "pkg.shapes:Shape.fetch.helper",
        "pkg.shapes:platform_thing",
    ]
    assert not examples["module"].str.startswith("test").any()
    # The first of the repeated conditional definitions is kept.
    assert examples.set_index("id").loc["pkg.shapes:platform_thing", "target"] == "First platform variant of the thing."
    assert counts == {
        "functions_with_docstring": 9,
        "kept": 6,
        "duplicate_ids": 1,
        "unparsable_files": 1,
        "skipped_empty_body": 1,
        "skipped_short_summary": 1,
    }


def test_build_returns_copies_of_the_cache(fake_stdlib):
    examples, counts = build_code_summaries(fake_stdlib)
    examples.loc[0, "target"] = "changed"
    counts["kept"] = -1
    again, counts_again = build_code_summaries(fake_stdlib)
    assert again.loc[0, "target"] == "Return the top of the package."
    assert counts_again["kept"] == 6


def test_build_logs_the_counts(fake_stdlib, caplog):
    with caplog.at_level(logging.INFO, logger="lmladder.corpus.code_summaries"):
        build_code_summaries(fake_stdlib)
    assert "6 pairs kept" in caplog.text and "1 empty_body" in caplog.text and "1 short_summary" in caplog.text


@pytest.fixture(scope="module")
def stdlib_pairs():
    return build_code_summaries()


def test_stdlib_pairs(stdlib_pairs):
    examples, counts = stdlib_pairs
    assert len(examples) > 3000
    assert examples["id"].is_unique
    assert examples["target"].str.split().str.len().ge(MIN_SUMMARY_WORDS).all()
    skipped = counts["skipped_empty_body"] + counts["skipped_short_summary"]
    assert counts["functions_with_docstring"] == counts["kept"] + counts["duplicate_ids"] + skipped
    assert counts["kept"] == len(examples)
    assert not examples["module"].str.split(".").map(lambda parts: bool({"test", "tests", "idle_test"} & set(parts))).any()
    dumps = examples.set_index("id").loc["json:dumps"]
    assert dumps["target"] == "Serialize ``obj`` to a JSON formatted ``str``."
    assert dumps["text"].startswith("def dumps(")
    assert '"""Serialize' not in dumps["text"] and "Serialize ``obj``" not in dumps["text"]


def test_every_stdlib_source_parses_without_its_docstring(stdlib_pairs):
    examples, _ = stdlib_pairs
    for example_id, text in zip(examples["id"], examples["text"], strict=True):
        function = ast.parse(text).body[0]
        assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef), example_id
        assert ast.get_docstring(function) is None, example_id


def test_stdlib_splits_are_disjoint(stdlib_pairs):
    examples, _ = stdlib_pairs
    train, val, test = split_pairs(examples, 0.1, 0.1, seed=0)
    check_disjoint_splits(train, val, test)
    assert len(train) + len(val) + len(test) == len(examples)
    assert abs(len(test) / len(examples) - 0.1) < 0.01


# --- split_pairs and check_disjoint_splits ---------------------------------------------------


def _many_examples(n):
    return _examples([(f"m:f{i}", f"def f{i}():\n    return {i}", f"Return the number {i} now.") for i in range(n)])


def test_split_pairs_shares_and_determinism():
    examples = _many_examples(2000)
    train, val, test = split_pairs(examples, 0.1, 0.2, seed=3)
    assert (len(train), len(val), len(test)) == (1400, 200, 400)
    shuffled = split_pairs(examples.sample(frac=1, random_state=7).reset_index(drop=True), 0.1, 0.2, seed=3)
    for original, again in zip((train, val, test), shuffled, strict=True):
        pd.testing.assert_frame_equal(original, again)
    other_seed = split_pairs(examples, 0.1, 0.2, seed=4)
    assert set(other_seed[2]["id"]) != set(test["id"])


def test_split_pairs_keeps_shared_bodies_and_summaries_in_one_split():
    examples = _many_examples(300)
    copies = _examples(
        [
            ("m:same_body_a", "def g():\n    return 'x'", "One summary for the body."),
            ("m:same_body_b", "def   g():\n        return 'X'", "Another summary for the body."),  # same up to case and spacing
            ("m:same_summary", "def h():\n    return 'y'", "another  summary for the BODY."),  # chains to the two above
            ("m:emit_a", "def emit(self, record):\n    self.a(record)", "Emit a record."),
            ("m:emit_b", "def emit(self, record):\n    self.b(record)", "Emit a record."),
        ]
    )
    examples = pd.concat([examples, copies], ignore_index=True)
    for seed in range(20):
        splits = split_pairs(examples, 0.3, 0.3, seed)
        check_disjoint_splits(*splits)
        split_of = {example_id: name for name, split in zip(("train", "val", "test"), splits, strict=True) for example_id in split["id"]}
        assert len({split_of["m:same_body_a"], split_of["m:same_body_b"], split_of["m:same_summary"]}) == 1
        assert split_of["m:emit_a"] == split_of["m:emit_b"]


def test_split_pairs_rejects_bad_fractions_and_tables():
    with pytest.raises(ConfigError, match="val_fraction \\+ test_fraction must leave some data for training"):
        split_pairs(_many_examples(10), 0.5, 0.5, seed=0)
    with pytest.raises(MissingColumnError, match="no column 'target'.*its columns are \\['id', 'text'\\]"):
        split_pairs(pd.DataFrame({"id": ["a"], "text": ["b"]}), 0.1, 0.1, seed=0)


def test_check_disjoint_splits_names_the_shared_function_field_and_splits():
    train = _examples([("json:dumps", "def dumps(obj):\n    return ''", "Serialize obj to a JSON string.")])
    test = _examples([("json:dumps", "def dumps(obj):\n    return ''", "Something else entirely here.")])
    val = _examples([])
    with pytest.raises(SharedAcrossSplitsError, match=r"function 'json:dumps' \(its source\) is in both train and test.*split_pairs"):
        check_disjoint_splits(train, val, test)


def test_check_disjoint_splits_catches_shared_summaries_between_different_functions():
    train = _examples([("a:f", "def f():\n    return 1", "Emit a record.")])
    val = _examples([("b:g", "def g():\n    return 2", "EMIT a  record.")])
    with pytest.raises(SharedAcrossSplitsError, match="function 'a:f' in train and function 'b:g' in val have the same summary"):
        check_disjoint_splits(train, val, _examples([]))
    assert issubclass(SharedAcrossSplitsError, ValueError)


def test_shared_across_splits_names_each_shared_text_with_its_functions_and_splits():
    train = _examples([("a:f", "def f():\n    return 1", "Emit a record."), ("a:g", "def g(): pass", "Unrelated summary.")])
    val = _examples([("b:g", "def g():\n    return 2", "EMIT a  record.")])
    test = _examples([("a:f", "def  f():\n    return 1", "Something else entirely.")])
    splits = {"labelled_train": train, "labelled_val": val, "labelled_test": test}
    assert shared_across_splits(splits) == [
        ("source", "labelled_train", "a:f", "labelled_test", "a:f"),
        ("summary", "labelled_train", "a:f", "labelled_val", "b:g"),
    ]
    assert shared_across_splits({"train": train, "val": _examples([]), "test": _examples([])}) == []


# --- pairs_from_table ------------------------------------------------------------------------


def test_pairs_from_table_reads_pairs_with_ids():
    table = pd.DataFrame({"key": ["a", 7], "en": ["Hello world.", "Good night."], "fr": ["Bonjour le monde.", "Bonne nuit."]})
    pairs, counts = pairs_from_table(table, source_column="en", target_column="fr", id_column="key")
    assert pairs.to_dict("records") == [
        {"id": "a", "module": "", "text": "Hello world.", "target": "Bonjour le monde."},
        {"id": "7", "module": "", "text": "Good night.", "target": "Bonne nuit."},
    ]
    assert counts["rows"] == counts["kept"] == 2 and counts["dropped"] == 0


def test_pairs_from_table_names_the_missing_column():
    table = pd.DataFrame({"code": ["x"], "summary": ["y"]})
    message = r"no column 'source' \(the source_column parameter\); its columns are \['code', 'summary'\]"
    with pytest.raises(MissingColumnError, match=message):
        pairs_from_table(table)
    with pytest.raises(MissingColumnError, match=r"no column 'uid' \(the id_column parameter\)"):
        pairs_from_table(table, source_column="code", target_column="summary", id_column="uid")


def test_pairs_from_table_counts_the_rows_it_drops(caplog):
    table = pd.DataFrame(
        {
            "source": ["def ok(): pass", None, 3.5, "   ", "def ok2(): pass", "def ok3(): pass", float("nan")],
            "target": ["Fine summary.", "x", "x", "x", None, "\n", None],
        }
    )
    with caplog.at_level(logging.WARNING, logger="lmladder.corpus.code_summaries"):
        pairs, counts = pairs_from_table(table)
    assert pairs["id"].tolist() == ["row-0"]
    assert counts["rows"] == 7 and counts["kept"] == 1 and counts["dropped"] == 6
    assert counts["dropped_source_missing"] == 2  # None and NaN: the source is counted first
    assert counts["dropped_source_not_text"] == 1
    assert counts["dropped_source_blank"] == 1
    assert counts["dropped_target_missing"] == 1
    assert counts["dropped_target_blank"] == 1
    assert "Dropped 6 of 7 rows" in caplog.text and "2 source_missing" in caplog.text


# --- decontaminate_corpus_against_pairs ------------------------------------------------------

LONG_SUMMARY = "Serialize the given object to a JSON formatted string."
SHORT_SUMMARY = "Return the name."
CODE = "def dumps(obj):\n    encoder = JSONEncoder(skipkeys=skipkeys, ensure_ascii=ensure_ascii, check_circular=check_circular)\n    return encoder.encode(obj)"


def _docs(texts):
    return pd.DataFrame({"doc_id": [doc_id for doc_id, _ in texts], "source": "m", "text": [text for _, text in texts]})


def test_decontamination_removes_by_each_reason_and_counts_each_document_once():
    held_out = _examples([("json:dumps", CODE, LONG_SUMMARY), ("m:name", "def name(self):\n    return self._name", SHORT_SUMMARY)])
    docs = _docs(
        [
            ("json:dumps", "Whatever the docstring of dumps says, with " + LONG_SUMMARY),  # by id, though the summary is there too
            ("other:doc", "As the docs put it:  SERIALIZE the given object\nto a JSON formatted string. Then more."),  # by summary
            # by n-gram: eight words of the held-out source
            ("code:doc", "Example: encoder = JSONEncoder(skipkeys=skipkeys, ensure_ascii=ensure_ascii, check_circular=check_circular)."),
            ("short:doc", "Return the name. A short summary is everywhere and proves no leak."),
            ("clean:doc", "Nothing to do with any of the held-out examples."),
        ]
    )
    kept, counts = decontaminate_corpus_against_pairs(docs, held_out, ngram_size=8, min_target_words=6)
    assert kept["doc_id"].tolist() == ["short:doc", "clean:doc"]
    assert kept.index.tolist() == [0, 1]
    assert counts == {"by_id": 1, "by_target_sentence": 1, "by_ngram": 1, "removed": 3, "kept": 2}


def test_decontamination_by_summary_needs_the_minimum_words():
    held_out = _examples([("m:f", "def f():\n    return 1", "Return the value of the thing.")])  # six words
    docs = _docs([("d", "(return the value of the thing.) said someone")])
    assert decontaminate_corpus_against_pairs(docs, held_out, ngram_size=13, min_target_words=6)[1]["by_target_sentence"] == 1
    assert decontaminate_corpus_against_pairs(docs, held_out, ngram_size=13, min_target_words=7)[1]["removed"] == 0


def test_decontamination_goes_by_position_whatever_the_index():
    held_out = _examples([("json:dumps", CODE, LONG_SUMMARY)])
    docs = _docs([("clean:a", "Nothing here."), ("json:dumps", "Its docstring."), ("clean:b", "Nothing here either.")])
    docs.index = [5, 5, 5]
    kept, counts = decontaminate_corpus_against_pairs(docs, held_out, ngram_size=8)
    assert kept["doc_id"].tolist() == ["clean:a", "clean:b"]
    assert counts["removed"] == counts["by_id"] == 1


def test_decontamination_names_missing_columns():
    held_out = _examples([("m:f", "def f():\n    return 1", "Return the value of the thing.")])
    with pytest.raises(MissingColumnError, match=r"the corpus has no column 'doc_id'; its columns are \['text'\]"):
        decontaminate_corpus_against_pairs(pd.DataFrame({"text": ["x"]}), held_out, ngram_size=8)
    with pytest.raises(MissingColumnError, match="the held-out pairs table has no column 'target'"):
        decontaminate_corpus_against_pairs(_docs([("d", "x")]), held_out.drop(columns="target"), ngram_size=8)
    with pytest.raises(ConfigError, match="ngram_size and min_target_words must be at least 1"):
        decontaminate_corpus_against_pairs(_docs([("d", "x")]), held_out, ngram_size=0)
