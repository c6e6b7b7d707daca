import codecs
import logging
import re
import textwrap

import pandas as pd
import pytest

from lmladder.corpus.sources import (
    documents_from_table,
    header_looks_like_data,
    load_hub_dataset,
    load_text_corpus,
    read_table,
    read_text_files,
    table_dataset,
    text_files_dataset,
)
from lmladder.errors import ConfigError, DataSourceError, EmptyCorpusError, InvalidEncodingError, MissingColumnError

TEXT = "para one\nline two\n\npara two\n\n\n"


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(TEXT)
    return str(path)


def test_read_text_files_one_document_per_file(text_file):
    assert read_text_files(text_file, "file").to_dict("records") == [
        {"doc_id": f"{text_file}#0", "source": text_file, "text": TEXT, "invalid_utf8": 0},
    ]


def test_read_text_files_one_document_per_paragraph(text_file):
    assert read_text_files(text_file, "paragraph").to_dict("records") == [
        {"doc_id": f"{text_file}#0", "source": text_file, "text": "para one\nline two", "invalid_utf8": 0},
        {"doc_id": f"{text_file}#1", "source": text_file, "text": "para two", "invalid_utf8": 0},
    ]


def test_read_text_files_one_document_per_line(text_file):
    assert read_text_files(text_file, "line")["text"].tolist() == ["para one", "line two", "para two"]
    assert read_text_files(text_file, "line")["doc_id"].tolist() == [f"{text_file}#{i}" for i in range(3)]


def test_read_text_files_sorts_files_matched_by_several_patterns(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_text("bee")
    (tmp_path / "sub" / "a.txt").write_text("ay")
    (tmp_path / "c.md").write_text("sea")
    docs = read_text_files([str(tmp_path / "**" / "*.txt"), str(tmp_path / "*.md"), str(tmp_path / "b.txt")])
    assert docs["text"].tolist() == ["bee", "sea", "ay"]


def test_read_text_files_splits_crlf_paragraphs(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(b"para one\r\n\r\npara two\r\n")
    assert len(read_text_files(str(path), "paragraph")) == 2


def test_invalid_utf8_below_tolerance_is_replaced_and_counted(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"caf\xe9 " + b"a" * 200)
    docs = read_text_files(str(path), max_invalid_utf8_ratio=0.01)
    assert docs["text"].tolist() == ["caf\ufffd " + "a" * 200]
    assert docs["invalid_utf8"].tolist() == [1]


def test_genuine_replacement_characters_are_not_counted(tmp_path):
    path = tmp_path / "fffd.txt"
    path.write_bytes("already \ufffd here".encode())
    assert read_text_files(str(path))["invalid_utf8"].tolist() == [0]


def test_invalid_utf8_is_counted_once_per_file_when_split(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"caf\xe9\n" + b"a" * 200 + b"\n\xff")
    assert read_text_files(str(path), "line", max_invalid_utf8_ratio=0.05)["invalid_utf8"].tolist() == [2, 0, 0]


def test_invalid_utf8_above_tolerance_names_the_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 ok")
    with pytest.raises(InvalidEncodingError, match=r"latin1\.txt: 1 invalid UTF-8 sequences in 7 bytes \(14\.3%\)"):
        read_text_files(str(path), max_invalid_utf8_ratio=0.01)


# Text in several scripts, as saved with each byte-order mark (Notepad's "Unicode" is UTF-16 LE).
MULTILINGUAL = "Grüße aus Köln.\n\n日本語の段落です。\n\nПривет, мир.\n"
WITH_BYTE_ORDER_MARK = {
    "UTF-8": codecs.BOM_UTF8 + MULTILINGUAL.encode("utf-8"),
    "UTF-16 LE": codecs.BOM_UTF16_LE + MULTILINGUAL.encode("utf-16-le"),
    "UTF-16 BE": codecs.BOM_UTF16_BE + MULTILINGUAL.encode("utf-16-be"),
    "UTF-32 LE": codecs.BOM_UTF32_LE + MULTILINGUAL.encode("utf-32-le"),
    "UTF-32 BE": codecs.BOM_UTF32_BE + MULTILINGUAL.encode("utf-32-be"),
}


@pytest.mark.parametrize("encoding", list(WITH_BYTE_ORDER_MARK))
def test_text_file_with_a_byte_order_mark_reads_as_its_utf8_version(tmp_path, encoding, caplog):
    (tmp_path / "plain.txt").write_bytes(MULTILINGUAL.encode("utf-8"))
    (tmp_path / "marked.txt").write_bytes(WITH_BYTE_ORDER_MARK[encoding])
    with caplog.at_level(logging.INFO, logger="lmladder.corpus.sources"):
        marked = read_text_files(str(tmp_path / "marked.txt"), "paragraph")
    plain = read_text_files(str(tmp_path / "plain.txt"), "paragraph")
    assert marked["text"].tolist() == plain["text"].tolist() == ["Grüße aus Köln.", "日本語の段落です。", "Привет, мир.\n"]
    assert marked["invalid_utf8"].tolist() == [0, 0, 0]
    if encoding != "UTF-8":
        assert f"marked.txt: read as {encoding}" in caplog.text


def test_text_file_with_a_utf16_mark_but_broken_utf16_names_the_file_and_encoding(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "ok".encode("utf-16-le") + b"\x00\xdc")  # a lone low surrogate
    with pytest.raises(
        InvalidEncodingError, match=r"broken\.txt starts with a UTF-16 LE byte-order mark but is not valid UTF-16 LE.*Save it as UTF-8"
    ):
        read_text_files(str(path))


@pytest.mark.parametrize("encoding", ["UTF-16 LE", "UTF-32 BE"])
def test_arrow_text_files_refuse_utf16_and_utf32_naming_the_file(tmp_path, encoding):
    (tmp_path / "wide.txt").write_bytes(WITH_BYTE_ORDER_MARK[encoding])
    with pytest.raises(InvalidEncodingError, match=rf"wide\.txt is {encoding} text .*reads UTF-8 only\. Save it as UTF-8.*in_memory: true"):
        text_files_dataset(str(tmp_path / "*.txt"), "paragraph", cache_dir=str(tmp_path / "cache"))


def test_arrow_text_files_drop_a_utf8_byte_order_mark(tmp_path):
    (tmp_path / "marked.txt").write_bytes(WITH_BYTE_ORDER_MARK["UTF-8"])
    corpus = text_files_dataset(str(tmp_path / "*.txt"), "paragraph", cache_dir=str(tmp_path / "cache"))
    assert corpus["text"][0].strip() == "Grüße aus Köln."


def test_glob_matching_nothing_is_an_empty_corpus(tmp_path):
    with pytest.raises(EmptyCorpusError, match="no files match"):
        read_text_files(str(tmp_path / "*.txt"))


def test_files_without_text_are_an_empty_corpus(tmp_path):
    (tmp_path / "blank.txt").write_text("  \n\n ")
    with pytest.raises(EmptyCorpusError, match="hold no text"):
        read_text_files(str(tmp_path / "*.txt"))


def test_unknown_document_unit_is_a_config_error(text_file):
    with pytest.raises(ConfigError, match="document_unit must be one of .* got 'sentence'"):
        read_text_files(text_file, "sentence")


CHINESE_SENTENCES = [
    "清晨的雾气还没有散去，村口的老槐树下已经站满了等车的人。",
    "她把那封信折好放进口袋，心里却始终想着昨天夜里听到的那句话。",
    "远处传来一阵急促的马蹄声，所有人都不约而同地抬起头向山路望去。",
    "父亲一辈子没有离开过这座小城，却总爱给我们讲海那边的故事。",
    "雨下了整整三天，河水涨到了石桥的栏杆边，镇上的集市也因此停了。",
]


def write_novel(path, lines=60):
    """A Chinese novel as such files usually come: one paragraph per line, no blank lines."""
    n = len(CHINESE_SENTENCES)
    path.write_text("".join(CHINESE_SENTENCES[i % n] + CHINESE_SENTENCES[(i + 1) % n] + "\n" for i in range(lines)))
    return str(path)


def test_paragraph_unit_on_one_paragraph_per_line_file_is_a_config_error(tmp_path):
    novel = write_novel(tmp_path / "novel.txt")
    with pytest.raises(
        ConfigError,
        match=r"novel\.txt: document_unit is paragraph, but a paragraph .* has 60 lines and 3,\d{3} characters.*`document_unit: line`",
    ):
        read_text_files(novel, "paragraph")


def test_line_unit_reads_one_paragraph_per_line_file_line_by_line(tmp_path):
    assert len(read_text_files(write_novel(tmp_path / "novel.txt"), "line")) == 60


def test_text_files_load_memory_mapped_with_invalid_utf8_replaced(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"first paragraph\n\nsecond \xff paragraph\n")
    (tmp_path / "b.txt").write_text("third paragraph\n")
    corpus = load_text_corpus(sorted(tmp_path.glob("*.txt")), cache_dir=str(tmp_path / "cache"))
    assert [text.strip() for text in corpus["text"]] == ["first paragraph", "second \ufffd paragraph", "third paragraph"]
    assert corpus.cache_files, "an Arrow file on disk, not a table in memory"


def test_text_files_dataset_checks_paragraphs_in_the_head_of_each_file(tmp_path):
    novel = write_novel(tmp_path / "novel.txt")
    with pytest.raises(ConfigError, match=r"novel\.txt \(its first 1 MiB\): .*60 lines.*`document_unit: line`"):
        text_files_dataset(novel, "paragraph", cache_dir=str(tmp_path / "cache"))


def test_text_files_dataset_reads_wrapped_paragraphs_after_the_check(tmp_path):
    path = tmp_path / "doc.txt"
    path.write_text("para one\nline two\n\npara two\n")
    corpus = text_files_dataset(str(path), "paragraph", cache_dir=str(tmp_path / "cache"))
    assert [text.strip() for text in corpus["text"]] == ["para one\nline two", "para two"]


PROSE = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. " * 20


@pytest.mark.parametrize(
    ("text", "longest_paragraph_lines"),
    [
        # a README: short paragraphs and one wrapped at 72 columns
        ("# Title\n\nInstall it.\n\n" + textwrap.fill(PROSE, 72) + "\n\n- one\n- two\n", 26),
        # Chinese hard-wrapped at 38 characters (76 columns)
        ("\n\n".join("\n".join(textwrap.wrap("".join(CHINESE_SENTENCES) * 6, 38)) for _ in range(2)), 24),
        # a short file of one paragraph per line is left alone
        ("".join(sentence * 3 + "\n" for sentence in CHINESE_SENTENCES), 5),
    ],
    ids=["wrapped-readme", "wrapped-chinese", "few-lines"],
)
def test_paragraph_unit_accepts_wrapped_paragraphs(tmp_path, text, longest_paragraph_lines):
    path = tmp_path / "doc.txt"
    path.write_text(text)
    docs = read_text_files(str(path), "paragraph")
    assert max(len(doc.strip().split("\n")) for doc in docs["text"]) == longest_paragraph_lines


def test_read_csv_keeps_quoted_commas_and_na_strings(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,text\n1,"a, b"\n2,NA\n')
    assert read_table(str(path)).to_dict("records") == [{"id": 1, "text": "a, b"}, {"id": 2, "text": "NA"}]


def test_read_tsv_keeps_unquoted_double_quotes(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text('sentence\tlabel\nsay "hi there\t1\nplain\t0\n')
    assert read_table(str(path)).to_dict("records") == [
        {"sentence": 'say "hi there', "label": 1},
        {"sentence": "plain", "label": 0},
    ]


def test_read_jsonl(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "x", "n": 1}\n{"text": "y", "n": 2}\n')
    assert read_table(str(path)).to_dict("records") == [{"text": "x", "n": 1}, {"text": "y", "n": 2}]


def test_read_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"text": ["alpha", "béta"], "label": [0, 1]}).to_parquet(path)
    assert read_table(str(path)).to_dict("records") == [{"text": "alpha", "label": 0}, {"text": "béta", "label": 1}]


def test_explicit_file_format_overrides_suffix(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("text\tlabel\nx\t1\n")
    assert read_table(str(path), file_format="tsv").to_dict("records") == [{"text": "x", "label": 1}]


def test_unknown_suffix_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot tell the format of .*t\.xml; set file_format"):
        read_table(str(tmp_path / "t.xml"))


def test_missing_table_is_a_data_source_error(tmp_path):
    with pytest.raises(DataSourceError, match=r"missing\.csv does not exist"):
        read_table(str(tmp_path / "missing.csv"))


def test_table_without_rows_is_an_empty_corpus(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("id,text\n")
    with pytest.raises(EmptyCorpusError, match=r"empty\.csv holds no rows"):
        read_table(str(path))


TABLE = 'text,label\nGrüße aus Köln,de\n日本語の文,ja\n"Привет, мир",ru\n'
TABLE_RECORDS = [{"text": "Grüße aus Köln", "label": "de"}, {"text": "日本語の文", "label": "ja"}, {"text": "Привет, мир", "label": "ru"}]
BYTE_ORDER_MARKS = {
    "UTF-8": (codecs.BOM_UTF8, "utf-8"),
    "UTF-16 LE": (codecs.BOM_UTF16_LE, "utf-16-le"),
    "UTF-16 BE": (codecs.BOM_UTF16_BE, "utf-16-be"),
    "UTF-32 LE": (codecs.BOM_UTF32_LE, "utf-32-le"),
    "UTF-32 BE": (codecs.BOM_UTF32_BE, "utf-32-be"),
}


@pytest.mark.parametrize("encoding", list(BYTE_ORDER_MARKS))
def test_csv_with_a_byte_order_mark_reads_as_its_utf8_version(tmp_path, encoding, caplog):
    mark, codec = BYTE_ORDER_MARKS[encoding]
    (tmp_path / "plain.csv").write_bytes(TABLE.encode("utf-8"))
    (tmp_path / "marked.csv").write_bytes(mark + TABLE.encode(codec))
    with caplog.at_level(logging.INFO, logger="lmladder.corpus.sources"):
        marked = read_table(str(tmp_path / "marked.csv"))
    assert marked.to_dict("records") == read_table(str(tmp_path / "plain.csv")).to_dict("records") == TABLE_RECORDS
    if encoding != "UTF-8":
        assert f"marked.csv: read as {encoding}" in caplog.text


@pytest.mark.parametrize("encoding", ["UTF-16 LE", "UTF-32 BE"])
def test_tsv_and_jsonl_with_a_byte_order_mark_read_as_their_utf8_versions(tmp_path, encoding):
    mark, codec = BYTE_ORDER_MARKS[encoding]
    (tmp_path / "t.tsv").write_bytes(mark + "text\tlabel\n日本語の文\tja\n".encode(codec))
    (tmp_path / "t.jsonl").write_bytes(mark + '{"text": "日本語の文", "label": "ja"}\n'.encode(codec))
    assert read_table(str(tmp_path / "t.tsv")).to_dict("records") == [{"text": "日本語の文", "label": "ja"}]
    assert read_table(str(tmp_path / "t.jsonl")).to_dict("records") == [{"text": "日本語の文", "label": "ja"}]


def test_arrow_table_refuses_utf16_naming_the_file(tmp_path):
    mark, codec = BYTE_ORDER_MARKS["UTF-16 LE"]
    (tmp_path / "wide.csv").write_bytes(mark + TABLE.encode(codec))
    with pytest.raises(InvalidEncodingError, match=r"wide\.csv is UTF-16 LE text .*in_memory: true"):
        table_dataset(str(tmp_path / "wide.csv"), cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["no bytes", "blank lines"])
def test_empty_csv_is_an_empty_corpus_naming_the_file(tmp_path, content):
    path = tmp_path / "reviews.csv"
    path.write_bytes(content)
    with pytest.raises(EmptyCorpusError, match=r"reviews\.csv is empty: it has no header and no rows"):
        read_table(str(path))


def test_csv_with_invalid_utf8_and_no_mark_names_the_file_and_the_encoding_fix(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\nun café crème,fr\n".encode("latin-1"))
    with pytest.raises(
        InvalidEncodingError, match=r"latin1\.csv is not valid UTF-8: byte 0xe9.*Save it as UTF-8.*load_args: \{encoding: cp1252\}"
    ):
        read_table(str(path))
    fixed = read_table(str(path), encoding="latin-1")
    assert fixed.to_dict("records") == [{"text": "un café crème", "label": "fr"}]


def test_csv_with_a_utf16_mark_but_broken_utf16_names_the_marks_encoding_and_no_latin1_fix(tmp_path):
    path = tmp_path / "broken.csv"
    mark, codec = BYTE_ORDER_MARKS["UTF-16 LE"]
    path.write_bytes(mark + TABLE.encode(codec) + b"\x00\xdc")  # a lone low surrogate
    with pytest.raises(InvalidEncodingError) as raised:
        read_table(str(path))
    message = str(raised.value)
    assert re.search(r"broken\.csv is not valid UTF-16 LE: byte 0x[0-9a-f]{2} cannot start or continue a character", message)
    assert (
        "Its byte-order mark says UTF-16 LE, so the file is damaged (cut short?) or the mark is wrong: export it again as UTF-8" in message
    )
    assert "latin1" not in message


def test_csv_not_in_the_encoding_load_args_names_points_at_that_setting(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\nun café crème,fr\n".encode("latin-1"))
    with pytest.raises(
        InvalidEncodingError,
        match=r"^.*latin1\.csv is not valid ascii: byte 0xe9 cannot start or continue a character \(ordinal not in range\(128\)\)\. "
        r"Its catalog entry's load_args names 'ascii', which is not the file's encoding: name the right one there "
        r"\(for example `load_args: \{encoding: cp1252\}` or `\{encoding: gbk\}`\), or save the file as UTF-8 and remove the setting\.$",
    ):
        read_table(str(path), encoding="ascii")
    # UTF-8 named in load_args is the default: the default's advice
    with pytest.raises(InvalidEncodingError, match=r"latin1\.csv is not valid utf-8: .*iconv -f latin1 -t UTF-8"):
        read_table(str(path), encoding="utf-8")


def test_csv_with_a_ragged_row_is_a_data_source_error_naming_the_file(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("text,label\nfine,1\nnot, quoted, text,0\n")
    with pytest.raises(DataSourceError, match=r"could not parse .*ragged\.csv as csv: .*Expected 2 fields in line 3.*quote texts"):
        read_table(str(path))


def test_malformed_jsonl_is_a_data_source_error_naming_the_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "x"}\nnot json\n')
    with pytest.raises(DataSourceError, match=r"could not read .*bad\.jsonl as JSON lines: .*one JSON object"):
        read_table(str(path))


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def test_load_hub_dataset_from_local_parquet_folder(tmp_path, offline):
    (tmp_path / "data").mkdir()
    pd.DataFrame({"text": ["alpha", "beta"], "label": [0, 1]}).to_parquet(tmp_path / "data" / "train.parquet")
    table = load_hub_dataset(str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"))
    assert table.to_dict("records") == [{"text": "alpha", "label": 0}, {"text": "beta", "label": 1}]


def test_load_hub_dataset_from_local_jsonl_folder(tmp_path, offline):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"text": "x"}\n{"text": "y"}\n')
    table = load_hub_dataset(str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"))
    assert table["text"].tolist() == ["x", "y"]


def test_load_hub_dataset_missing_path_points_to_local_files(tmp_path, offline):
    with pytest.raises(DataSourceError, match="could not load dataset .*nowhere.*point the catalog at local files"):
        load_hub_dataset(str(tmp_path / "nowhere"), cache_dir=str(tmp_path / "cache"))


def test_documents_from_table_uses_id_column():
    table = pd.DataFrame({"key": [7, 8], "body": ["x", "y"]})
    assert documents_from_table(table, "body", "key").to_dict("records") == [
        {"doc_id": "7", "source": "table", "text": "x", "invalid_utf8": 0},
        {"doc_id": "8", "source": "table", "text": "y", "invalid_utf8": 0},
    ]


def test_documents_from_table_keeps_existing_doc_id_source_and_invalid_count():
    table = pd.DataFrame({"doc_id": ["f#0"], "source": ["f"], "text": ["x"], "invalid_utf8": [3]})
    assert documents_from_table(table).to_dict("records") == [{"doc_id": "f#0", "source": "f", "text": "x", "invalid_utf8": 3}]


def test_documents_from_table_numbers_rows_and_blanks_missing_text():
    table = pd.DataFrame({"text": ["x", None]}, index=[5, 9])
    assert documents_from_table(table).to_dict("records") == [
        {"doc_id": "row-0", "source": "table", "text": "x", "invalid_utf8": 0},
        {"doc_id": "row-1", "source": "table", "text": "", "invalid_utf8": 0},
    ]


@pytest.mark.parametrize(
    ("text_column", "id_column", "message"),
    [("body", None, r"no column 'body' \(the corpus.text_column parameter\)"), ("text", "uid", r"no column 'uid'")],
)
def test_documents_from_table_names_missing_column(text_column, id_column, message):
    with pytest.raises(MissingColumnError, match=message):
        documents_from_table(pd.DataFrame({"text": ["x"]}), text_column, id_column)


def test_documents_from_empty_table_is_an_empty_corpus():
    with pytest.raises(EmptyCorpusError, match="the corpus is empty"):
        documents_from_table(pd.DataFrame({"text": ["x"]}).iloc[:0])


AG_NEWS = 'Class Index,Title,Description\n3,Wall St. Bears Claw Back,"Short-sellers, Wall Street\'s band"\n4,New Chip,\n'
HEADERLESS_AG_NEWS = (
    '3,"Wall St. Bears Claw Back Into the Black (Reuters)","Reuters - Short-sellers, Wall Street\'s dwindling band."\n'
    '3,"Carlyle Looks Toward Commercial Aerospace (Reuters)","Reuters - Private investment firm Carlyle Group."\n'
)


def test_documents_from_table_joins_text_columns_in_order(tmp_path):
    (tmp_path / "ag.csv").write_text(AG_NEWS)
    docs = documents_from_table(read_table(str(tmp_path / "ag.csv")), text_columns=["Title", "Description"])
    assert docs["text"].tolist() == ["Wall St. Bears Claw Back\nShort-sellers, Wall Street's band", "New Chip"]


def test_documents_from_table_text_columns_keep_rows_without_text():
    table = pd.DataFrame({"a": ["x", None, float("nan")], "b": [None, "y", None]})
    assert documents_from_table(table, text_columns=["a", "b"])["text"].tolist() == ["x", "y", ""]


def test_documents_from_table_names_missing_text_columns():
    with pytest.raises(MissingColumnError, match=r"no column 'body' \(the corpus.text_columns parameter\); its columns are \['text'\]\.$"):
        documents_from_table(pd.DataFrame({"text": ["x"]}), text_columns=["text", "body"])


@pytest.mark.parametrize("text_columns", [[], "title"])
def test_documents_from_table_refuses_text_columns_that_are_no_list_of_columns(text_columns):
    with pytest.raises(ConfigError, match="corpus.text_columns must be a non-empty list of columns"):
        documents_from_table(pd.DataFrame({"title": ["x"]}), text_columns=text_columns)


def test_documents_from_headerless_csv_says_the_header_is_missing(tmp_path):
    (tmp_path / "ag.csv").write_text(HEADERLESS_AG_NEWS)
    with pytest.raises(MissingColumnError, match=r"no column 'text' .* probably has no header row.*`load_args: \{header: null, names: \["):
        documents_from_table(read_table(str(tmp_path / "ag.csv")))


@pytest.mark.parametrize(
    "columns",
    [
        ["text", "label"],
        ["sentence", "label"],
        ["review_text", "label"],
        ["Title", "Class Index", "Description"],
        ["idx", "sentence", "label"],
        ["doc_id", "source", "text", "invalid_utf8"],
        ["Unnamed: 0", "text"],
        ["score.1", "text"],
    ],
)
def test_header_looks_like_data_accepts_ordinary_headers(columns):
    assert not header_looks_like_data(columns)


@pytest.mark.parametrize(
    "columns",
    [
        ["3", "Wall St. Bears Claw Back Into the Black (Reuters)"],  # a label
        ["-0.5", "text"],  # a score
        ["a terrific movie that i liked a lot", "pos"],  # a sentence
        ["Reuters - Short-sellers, Wall Street's dwindling band of ultra-cynics"],  # long
        ["yes", "yes.1", "no"],  # pandas renamed the repeated "yes"
        [0, 1, 2],  # read with header: null but no names
    ],
)
def test_header_looks_like_data_spots_a_row_of_data(columns):
    assert header_looks_like_data(columns)
