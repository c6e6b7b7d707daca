import textwrap

import pytest

from lmladder.corpus.stdlib_docs import (
    DOC_COLUMNS,
    build_stdlib_corpus,
    iter_module_docstrings,
    pydoc_topics,
    stdlib_dir,
)

EXCLUDED_PACKAGES = {"test", "tests", "idle_test"}


@pytest.fixture(scope="module")
def stdlib_corpus():
    return build_stdlib_corpus()


def _write(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def test_stdlib_corpus_has_many_uniquely_identified_docs(stdlib_corpus):
    assert list(stdlib_corpus.columns) == DOC_COLUMNS
    assert len(stdlib_corpus) > 5000
    assert stdlib_corpus["doc_id"].is_unique


def test_stdlib_corpus_excludes_test_packages(stdlib_corpus):
    in_test_package = stdlib_corpus["source"].str.split(".").map(lambda parts: bool(EXCLUDED_PACKAGES & set(parts)))
    assert not in_test_package.any()


def test_stdlib_corpus_holds_known_docstrings(stdlib_corpus):
    ids = set(stdlib_corpus["doc_id"])
    assert {"json", "json:dumps", "email.mime.text:MIMEText.__init__"} <= ids
    assert stdlib_corpus.set_index("doc_id").loc["json:dumps", "source"] == "json"


def test_stdlib_corpus_ends_with_every_pydoc_topic(stdlib_corpus):
    topics = pydoc_topics()
    rows = stdlib_corpus[stdlib_corpus["source"] == "pydoc_data.topics"]
    assert len(rows) == len(topics) > 0
    assert rows["doc_id"].tolist() == [f"pydoc_data.topics:{name}" for name in sorted(topics)]
    assert rows["text"].tolist() == [topics[name] for name in sorted(topics)]
    assert rows.index.tolist() == list(range(len(stdlib_corpus) - len(topics), len(stdlib_corpus)))


def test_stdlib_corpus_is_identical_when_built_again(stdlib_corpus, tmp_path):
    # A symlinked root is a distinct cache key, so this really parses the stdlib a second time.
    (tmp_path / "lib").symlink_to(stdlib_dir(), target_is_directory=True)
    again = build_stdlib_corpus(tmp_path / "lib")
    assert again.equals(stdlib_corpus)


def test_iter_module_docstrings_qualifies_nested_names(tmp_path):
    path = tmp_path / "mod.py"
    _write(
        path,
        '''
        """Module doc."""

        class Cls:
            """Class doc."""

            def meth(self):
                """Method doc."""

                def inner():
                    """Inner doc."""

            def undocumented(self):
                pass

        async def fetch():
            """Async doc."""
        ''',
    )
    assert list(iter_module_docstrings(path, "pkg.mod")) == [
        ("pkg.mod", "Module doc."),
        ("pkg.mod:Cls", "Class doc."),
        ("pkg.mod:Cls.meth", "Method doc."),
        ("pkg.mod:Cls.meth.inner", "Inner doc."),
        ("pkg.mod:fetch", "Async doc."),
    ]


def test_iter_module_docstrings_skips_files_that_do_not_parse(tmp_path):
    path = tmp_path / "template.py"
    path.write_text('"""Doc."""\ndef broken(:\n')
    assert list(iter_module_docstrings(path, "template")) == []


def test_build_on_small_tree_names_modules_and_skips_tests(tmp_path):
    _write(tmp_path / "pkg" / "__init__.py", '"""Package doc."""\n')
    _write(tmp_path / "pkg" / "mod.py", '"""Mod doc."""\ndef f():\n    """F doc."""\n')
    _write(tmp_path / "pkg" / "tests" / "test_mod.py", '"""Test doc."""\n')
    _write(tmp_path / "idlelib" / "idle_test" / "htest.py", '"""Idle test doc."""\n')
    _write(tmp_path / "config-3.11-x86_64-linux-gnu" / "python-config.py", '"""Config doc."""\n')
    _write(tmp_path / "top.py", '"""Top doc."""\n')
    corpus = build_stdlib_corpus(tmp_path)
    modules = corpus[corpus["source"] != "pydoc_data.topics"]
    assert modules.to_dict("records") == [
        {"doc_id": "pkg", "source": "pkg", "text": "Package doc."},
        {"doc_id": "pkg.mod", "source": "pkg.mod", "text": "Mod doc."},
        {"doc_id": "pkg.mod:f", "source": "pkg.mod", "text": "F doc."},
        {"doc_id": "top", "source": "top", "text": "Top doc."},
    ]
    assert len(corpus) == len(modules) + len(pydoc_topics())


def test_build_keeps_first_of_repeated_qualified_names(tmp_path):
    _write(tmp_path / "mod.py", 'def f():\n    """First."""\ndef f():\n    """Second."""\n')
    corpus = build_stdlib_corpus(tmp_path)
    assert corpus[corpus["source"] == "mod"].to_dict("records") == [{"doc_id": "mod:f", "source": "mod", "text": "First."}]


def test_iter_module_docstrings_finds_conditional_definitions(tmp_path):
    path = tmp_path / "mod.py"
    _write(
        path,
        '''
        try:
            def f():
                """First."""
        except ImportError:
            def f():
                """Second."""
        if True:
            class C:
                """C doc."""
        ''',
    )
    assert list(iter_module_docstrings(path, "mod")) == [("mod:f", "First."), ("mod:f", "Second."), ("mod:C", "C doc.")]


def test_stdlib_corpus_holds_conditionally_defined_functions(stdlib_corpus):
    assert "os:fwalk" in set(stdlib_corpus["doc_id"])
