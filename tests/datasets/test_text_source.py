import codecs

import pandas as pd
import pytest
from kedro.io import DatasetError

from lmladder.corpus.labelling import label_from_columns
from lmladder.datasets import TextSourceDataset
from lmladder.errors import ConfigError, EmptyCorpusError, InvalidEncodingError, MissingColumnError


def test_loads_text_files_from_a_glob(tmp_path):
    (tmp_path / "a.txt").write_text("first line\nsecond line\n")
    (tmp_path / "b.txt").write_text("third line")
    dataset = TextSourceDataset(source="text_files", path=str(tmp_path / "*.txt"), document_unit="line")
    docs = dataset.load()
    assert docs["text"].tolist() == ["first line", "second line", "third line"]
    assert docs["doc_id"].tolist() == [f"{tmp_path / 'a.txt'}#0", f"{tmp_path / 'a.txt'}#1", f"{tmp_path / 'b.txt'}#0"]


def test_loads_a_table_with_load_args(tmp_path):
    (tmp_path / "t.csv").write_text("text,label\nx,1\ny,0\n")
    dataset = TextSourceDataset(source="table", path=str(tmp_path / "t.csv"), load_args={"usecols": ["text"]})
    assert dataset.load().to_dict("records") == [{"text": "x"}, {"text": "y"}]


def test_loads_a_local_hub_style_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"text": "x", "label": 1}\n')
    dataset = TextSourceDataset(source="hub", path=str(tmp_path / "data"), load_args={"cache_dir": str(tmp_path / "c")})
    assert dataset.load().to_dict("records") == [{"text": "x", "label": 1}]


def test_loads_stdlib_docs_without_a_path():
    docs = TextSourceDataset(source="stdlib_docs").load()
    assert list(docs.columns) == ["doc_id", "source", "text"]
    assert len(docs) > 5000


def test_save_is_refused(tmp_path):
    dataset = TextSourceDataset(source="text_files", path=str(tmp_path / "*.txt"))
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(pd.DataFrame({"text": ["x"]}))


def test_unknown_source_is_refused():
    with pytest.raises(DatasetError, match=r"source must be one of .* got 'web'"):
        TextSourceDataset(source="web", path="x")


def test_source_other_than_stdlib_needs_a_path():
    with pytest.raises(DatasetError, match="source 'table' needs a path"):
        TextSourceDataset(source="table")


def test_loader_errors_are_wrapped_by_kedro_with_the_cause(tmp_path):
    dataset = TextSourceDataset(source="text_files", path=str(tmp_path / "*.txt"))
    with pytest.raises(DatasetError, match="no files match") as raised:
        dataset.load()
    assert isinstance(raised.value.__cause__, EmptyCorpusError)


HEADERLESS = {
    "csv": '3,"Wall St. Bears Claw Back (Reuters)","Reuters - Short-sellers, Wall Street\'s band."\n4,New Chip (AP),AP - A faster chip.\n',
    "tsv": "3\tWall St. Bears Claw Back (Reuters)\tReuters - Short-sellers, Wall Street's band.\n4\tNew Chip (AP)\tAP - A faster chip.\n",
}


@pytest.mark.parametrize("suffix", ["csv", "tsv"])
def test_loads_a_headerless_table_with_header_null_and_names(tmp_path, suffix):
    path = tmp_path / f"ag.{suffix}"
    path.write_text(HEADERLESS[suffix])
    with pytest.raises(MissingColumnError, match=r"no column 'text' .* probably has no header row.*`load_args: \{header: null, names: \["):
        label_from_columns(TextSourceDataset(source="table", path=str(path)).load(), "text", "label")
    dataset = TextSourceDataset(source="table", path=str(path), load_args={"header": None, "names": ["label", "title", "description"]})
    assert label_from_columns(dataset.load(), "text", "label", text_columns=["title", "description"]).to_dict("records") == [
        {"doc_id": "row-0", "text": "Wall St. Bears Claw Back (Reuters)\nReuters - Short-sellers, Wall Street's band.", "label": "3"},
        {"doc_id": "row-1", "text": "New Chip (AP)\nAP - A faster chip.", "label": "4"},
    ]


@pytest.mark.parametrize("in_memory", [True, False])
def test_paragraph_unit_on_a_file_of_one_paragraph_per_line_names_the_line_unit(tmp_path, in_memory):
    (tmp_path / "novel.txt").write_text(
        "".join(f"第{i}段：清晨的雾气还没有散去，村口的老槐树下已经站满了等车的人，她把那封信折好放进口袋。\n" for i in range(60))
    )
    dataset = TextSourceDataset(
        source="text_files",
        path=str(tmp_path / "*.txt"),
        document_unit="paragraph",
        in_memory=in_memory,
        load_args={"cache_dir": str(tmp_path / "c")},
    )
    with pytest.raises(DatasetError, match="document_unit: line") as raised:
        dataset.load()
    assert isinstance(raised.value.__cause__, ConfigError)


# Notepad's and Excel's "Unicode" text: UTF-16 LE with a byte-order mark.
REVIEWS = "text,label\n這家店的菜很好吃,正面\nLa soupe était froide,négatif\n"


def test_utf16_text_files_load_as_their_utf8_versions(tmp_path):
    text = "Erster Absatz über Köln.\n\n第二段落です。\n"
    (tmp_path / "utf8").mkdir()
    (tmp_path / "utf16").mkdir()
    (tmp_path / "utf8" / "a.txt").write_bytes(text.encode("utf-8"))
    (tmp_path / "utf16" / "a.txt").write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    utf8, utf16 = (
        TextSourceDataset(source="text_files", path=str(tmp_path / name / "*.txt"), document_unit="paragraph").load()
        for name in ("utf8", "utf16")
    )
    assert utf16["text"].tolist() == utf8["text"].tolist() == ["Erster Absatz über Köln.", "第二段落です。\n"]


def test_utf16_csv_loads_as_its_utf8_version(tmp_path):
    (tmp_path / "utf8.csv").write_bytes(REVIEWS.encode("utf-8"))
    (tmp_path / "utf16.csv").write_bytes(codecs.BOM_UTF16_LE + REVIEWS.encode("utf-16-le"))
    utf8, utf16 = (TextSourceDataset(source="table", path=str(tmp_path / name)).load() for name in ("utf8.csv", "utf16.csv"))
    assert (
        utf16.to_dict("records")
        == utf8.to_dict("records")
        == [
            {"text": "這家店的菜很好吃", "label": "正面"},
            {"text": "La soupe était froide", "label": "négatif"},
        ]
    )


def test_utf16_csv_with_in_memory_false_is_refused_naming_the_file_and_encoding(tmp_path):
    (tmp_path / "utf16.csv").write_bytes(codecs.BOM_UTF16_LE + REVIEWS.encode("utf-16-le"))
    dataset = TextSourceDataset(
        source="table", path=str(tmp_path / "utf16.csv"), in_memory=False, load_args={"cache_dir": str(tmp_path / "c")}
    )
    with pytest.raises(DatasetError, match=r"utf16\.csv is UTF-16 LE text") as raised:
        dataset.load()
    assert isinstance(raised.value.__cause__, InvalidEncodingError)


def test_an_empty_csv_is_an_empty_corpus_naming_the_file(tmp_path):
    (tmp_path / "reviews.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"reviews\.csv is empty") as raised:
        TextSourceDataset(source="table", path=str(tmp_path / "reviews.csv")).load()
    assert isinstance(raised.value.__cause__, EmptyCorpusError)


def test_a_csv_with_invalid_utf8_names_the_file_never_a_raw_unicode_decode_error(tmp_path):
    (tmp_path / "cp1252.csv").write_bytes("text,label\nun café crème,fr\n".encode("cp1252"))
    dataset = TextSourceDataset(source="table", path=str(tmp_path / "cp1252.csv"))
    with pytest.raises(DatasetError, match=r"cp1252\.csv is not valid UTF-8.*Save it as UTF-8") as raised:
        dataset.load()
    assert isinstance(raised.value.__cause__, InvalidEncodingError)
    fixed = TextSourceDataset(source="table", path=str(tmp_path / "cp1252.csv"), load_args={"encoding": "cp1252"})
    assert fixed.load()["text"].tolist() == ["un café crème"]
