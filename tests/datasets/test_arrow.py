import errno
import os
from pathlib import Path

import datasets
import pandas as pd
import pytest
from kedro.io import DatasetError

from lmladder.datasets import ArrowDataset, TextSourceDataset
from lmladder.errors import DataSourceError, EmptyCorpusError


def test_saves_a_dataset_or_a_dataframe_and_loads_it_memory_mapped(tmp_path):
    target = ArrowDataset(path=str(tmp_path / "corpus_train"))
    assert not target.exists()
    target.save(datasets.Dataset.from_dict({"doc_id": ["a", "b"], "text": ["x", "y"]}).select([1]))
    loaded = target.load()
    assert loaded.to_dict() == {"doc_id": ["b"], "text": ["y"]} and loaded.cache_files
    target.save(pd.DataFrame({"doc_id": ["c"], "text": ["z"]}))  # overwrites
    assert target.load().to_dict() == {"doc_id": ["c"], "text": ["z"]}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus_train"]


def test_a_failed_save_leaves_the_previous_data_set_in_place(tmp_path, monkeypatch):
    target = ArrowDataset(path=str(tmp_path / "corpus_train"))
    target.save(pd.DataFrame({"text": ["kept"]}))

    def disk_full(self, path, **kwargs):
        (Path(path) / "data-00000-of-00001.arrow").parent.mkdir(parents=True, exist_ok=True)
        (Path(path) / "data-00000-of-00001.arrow").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", disk_full)
    with pytest.raises(Exception, match="No space left on device"):
        target.save(pd.DataFrame({"text": ["new"]}))
    monkeypatch.undo()
    assert target.load()["text"] == ["kept"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus_train"]  # no half-written copy left


def test_a_failed_final_rename_leaves_the_previous_data_set_in_place(tmp_path, monkeypatch):
    target = ArrowDataset(path=str(tmp_path / "corpus_train"))
    target.save(pd.DataFrame({"text": ["kept"]}))
    real = {"rename": os.rename, "replace": os.replace}

    def failing(name):
        def rename(source, destination):
            if Path(source).name.startswith(".corpus_train.") and Path(source).name.endswith(".tmp"):  # the staging folder
                raise OSError(errno.EIO, "Input/output error")
            real[name](source, destination)

        return rename

    for name in real:  # Path.rename and os.replace alike
        monkeypatch.setattr(os, name, failing(name))
    with pytest.raises(DatasetError, match="Input/output error"):
        target.save(pd.DataFrame({"text": ["new"]}))
    monkeypatch.undo()
    assert target.load()["text"] == ["kept"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus_train"]


def test_a_save_killed_between_the_two_renames_leaves_the_previous_data_set_loadable(tmp_path):
    target = ArrowDataset(path=str(tmp_path / "corpus_train"))
    target.save(pd.DataFrame({"text": ["kept"]}))
    os.replace(tmp_path / "corpus_train", tmp_path / ".corpus_train.previous")  # where a kill after moving it aside leaves it
    assert target.load()["text"] == ["kept"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus_train"]


def test_a_save_writes_a_hidden_staging_folder_and_removes_one_a_killed_save_left(tmp_path, monkeypatch):
    (tmp_path / ".corpus_train.0123abcd.tmp").mkdir()
    (tmp_path / ".corpus_train.0123abcd.tmp" / "data-00000-of-00001.arrow").write_bytes(b"half")
    staged = []
    real_save = datasets.Dataset.save_to_disk

    def record(self, path, **kwargs):
        staged.append(Path(path).name)
        real_save(self, path, **kwargs)

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", record)
    ArrowDataset(path=str(tmp_path / "corpus_train")).save(pd.DataFrame({"text": ["new"]}))
    assert len(staged) == 1 and staged[0].startswith(".corpus_train.") and staged[0].endswith(".tmp")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus_train"]


def test_text_files_load_as_an_arrow_dataset_without_a_file_limit_on_invalid_utf8(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"first line\n  \n\n\xff\xfe\n")  # blank lines are not documents, as in memory
    dataset = TextSourceDataset(
        source="text_files",
        path=str(tmp_path / "*.txt"),
        document_unit="line",
        in_memory=False,
        load_args={"cache_dir": str(tmp_path / "c")},
    )
    loaded = dataset.load()
    assert isinstance(loaded, datasets.Dataset)
    assert loaded["text"] == ["first line", "\ufffd\ufffd"]


def test_tables_load_as_arrow_datasets_in_every_format(tmp_path):
    frame = pd.DataFrame({"sentence": ['a "quoted" phrase', "b"], "label": [1, 0]})
    (tmp_path / "t.tsv").write_text('sentence\tlabel\na "quoted" phrase\t1\nb\t0\n')  # unquoted, as GLUE's
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    frame.to_parquet(tmp_path / "t.parquet")
    (tmp_path / "t.csv").write_text('sentence,label\n"a ""quoted"" phrase",1\nb,0\n')
    for name in ("t.tsv", "t.jsonl", "t.parquet", "t.csv"):
        dataset = TextSourceDataset(
            source="table", path=str(tmp_path / name), in_memory=False, load_args={"cache_dir": str(tmp_path / "c")}
        )
        assert dataset.load().to_pandas().to_dict("list") == frame.to_dict("list"), name


def test_missing_and_empty_tables_are_named(tmp_path):
    with pytest.raises(Exception, match="does not exist") as raised:
        TextSourceDataset(source="table", path=str(tmp_path / "none.csv"), in_memory=False).load()
    assert isinstance(raised.value.__cause__, DataSourceError)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(Exception, match="empty.jsonl holds no rows") as raised:
        TextSourceDataset(
            source="table", path=str(tmp_path / "empty.jsonl"), in_memory=False, load_args={"cache_dir": str(tmp_path / "c")}
        ).load()
    assert isinstance(raised.value.__cause__, EmptyCorpusError)


def test_hub_and_stdlib_sources_load_as_arrow_datasets(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"text": "x", "label": 1}\n')
    hub = TextSourceDataset(source="hub", path=str(tmp_path / "data"), in_memory=False, load_args={"cache_dir": str(tmp_path / "c")})
    assert hub.load().to_dict() == {"text": ["x"], "label": [1]}
    stdlib = TextSourceDataset(source="stdlib_docs", in_memory=False).load()
    assert isinstance(stdlib, datasets.Dataset) and stdlib.column_names == ["doc_id", "source", "text"]


def test_a_malformed_table_names_the_file_and_its_format(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"text": "x"}\n{not json\n')
    with pytest.raises(Exception, match="bad.jsonl") as raised:
        TextSourceDataset(
            source="table", path=str(tmp_path / "bad.jsonl"), in_memory=False, load_args={"cache_dir": str(tmp_path / "c")}
        ).load()
    assert isinstance(raised.value.__cause__, DataSourceError)
    assert "could not read" in str(raised.value.__cause__) and "as jsonl" in str(raised.value.__cause__)
