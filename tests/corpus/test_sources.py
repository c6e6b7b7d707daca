import pandas as pd
import pytest

from lmladder.corpus.sources import documents_from_table, load_hub_dataset, read_table, read_text_files
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
    assert documents_from_table(table).to_dict("records") == [
        {"doc_id": "f#0", "source": "f", "text": "x", "invalid_utf8": 3}
    ]


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
