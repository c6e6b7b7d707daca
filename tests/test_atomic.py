import errno
import logging
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_model
from tokenizers import Tokenizer
from tokenizers.models import WordLevel

from lmladder.atomic import atomic_directory, atomic_path, os_error, recover_directory, replace_directory


def test_a_finished_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "sub" / "report.json"
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent and temporary.suffix == ".json" and temporary.name.startswith(".report.")
        temporary.write_text("first")
    with atomic_path(target) as temporary:
        temporary.write_text("second")
    assert target.read_text() == "second"
    assert [path.name for path in target.parent.iterdir()] == ["report.json"]


def test_a_failed_write_keeps_the_previous_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("good")
    with pytest.raises(OSError, match="No space left on device"), atomic_path(target) as temporary:
        temporary.write_text("hal")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "good"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_a_writer_that_made_a_folder_is_cleaned_up_too(tmp_path):
    with pytest.raises(RuntimeError, match="writer failed"), atomic_path(tmp_path / "plots.png") as temporary:
        (temporary / "0.png").parent.mkdir()
        (temporary / "0.png").write_bytes(b"x")
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_wrote_nothing_fails_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "report.json"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_replace_directory_swaps_a_folder_in_and_leaves_nothing_else(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    (tmp_path / ".staging").mkdir()
    (tmp_path / ".staging" / "new.txt").write_text("new")
    replace_directory(tmp_path / ".staging", tmp_path / "model")
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    assert [path.name for path in (tmp_path / "model").iterdir()] == ["new.txt"]


def test_replace_directory_puts_the_previous_folder_back_when_the_rename_fails(tmp_path, monkeypatch):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    (tmp_path / ".staging").mkdir()
    real_replace = os.replace

    def staging_rename_fails(source, destination):
        if Path(source).name == ".staging":
            raise OSError(errno.EIO, "Input/output error")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", staging_rename_fails)
    with pytest.raises(OSError, match="Input/output error"):
        replace_directory(tmp_path / ".staging", tmp_path / "model")
    assert sorted(path.name for path in tmp_path.iterdir()) == [".staging", "model"]  # the caller removes its staging folder
    assert (tmp_path / "model" / "old.txt").read_text() == "old"


def test_a_write_removes_what_a_killed_writer_of_the_same_target_left_and_nothing_else(tmp_path):
    left_behind = [".report.0123abcd.tmp.json", ".report.89efcdab.tmp.json"]
    others = [".report.0123abcd.tmp.csv", ".report.v2.0123abcd.tmp.json", ".summary.0123abcd.tmp.json", "report.0123abcd.tmp.json"]
    for name in left_behind + others:
        (tmp_path / name).write_text("x")
    (tmp_path / ".report.feedbeef.tmp.json").mkdir()  # a writer that makes a folder
    with atomic_path(tmp_path / "report.json") as temporary:
        temporary.write_text("new")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(others + ["report.json"])


def test_atomic_directory_swaps_a_complete_folder_in_and_leaves_nothing_else(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    (tmp_path / ".model.0123abcd.tmp").mkdir()  # the staging folder of a killed save
    with atomic_directory(tmp_path / "model") as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".model.") and list(staging.iterdir()) == []
        (staging / "sub").mkdir()
        (staging / "sub" / "new.txt").write_text("new")
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    assert (tmp_path / "model" / "sub" / "new.txt").read_text() == "new" and not (tmp_path / "model" / "old.txt").exists()


def test_atomic_directory_keeps_the_previous_folder_and_removes_the_staging_one_on_error(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    with pytest.raises(OSError, match="No space left on device"), atomic_directory(tmp_path / "model") as staging:
        (staging / "new.txt").write_text("ne")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    assert [path.name for path in (tmp_path / "model").iterdir()] == ["old.txt"]


def test_a_save_killed_between_the_two_renames_gets_the_previous_folder_back(tmp_path, caplog):
    # What a kill between os.replace(path, previous) and os.replace(staging, path) leaves.
    (tmp_path / ".model.previous").mkdir()
    (tmp_path / ".model.previous" / "old.txt").write_text("old")
    (tmp_path / ".model.0123abcd.tmp").mkdir()
    with caplog.at_level(logging.WARNING, logger="lmladder.atomic"):
        recover_directory(tmp_path / "model")
    assert sorted(path.name for path in tmp_path.iterdir()) == [".model.0123abcd.tmp", "model"]  # the next save removes the staging folder
    assert (tmp_path / "model" / "old.txt").read_text() == "old"
    assert f"{tmp_path / 'model'} is missing but {tmp_path / '.model.previous'} holds its previous version" in caplog.text


def test_the_next_save_after_a_kill_between_the_renames_leaves_only_the_new_folder(tmp_path):
    (tmp_path / ".model.previous").mkdir()
    (tmp_path / ".model.previous" / "old.txt").write_text("old")
    with atomic_directory(tmp_path / "model") as staging:
        (staging / "new.txt").write_text("new")
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    assert [path.name for path in (tmp_path / "model").iterdir()] == ["new.txt"]


def test_a_previous_folder_left_beside_a_complete_one_is_removed(tmp_path):
    # A kill after the second rename, before the previous folder was deleted.
    for name in ("model", ".model.previous"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "weights.txt").write_text(name)
    recover_directory(tmp_path / "model")
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    assert (tmp_path / "model" / "weights.txt").read_text() == "model"


def test_os_error_reads_the_io_errors_of_tokenizers_and_safetensors(tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    failures = []
    for save in (
        lambda path: Tokenizer(WordLevel({"a": 0}, unk_token="a")).save(path),
        lambda path: save_model(torch.nn.Linear(2, 2), path),
    ):
        with pytest.raises(Exception) as raised:  # noqa: PT011 - the libraries raise a bare Exception and a SafetensorError
            save(str(tmp_path / "file" / "out"))
        failures.append(raised.value)
    assert [type(error).__name__ for error in failures] == ["Exception", "SafetensorError"]
    for error in failures:
        failure = os_error(error)
        assert type(failure) is NotADirectoryError and failure.errno == errno.ENOTDIR, error
    disk_full = OSError(errno.ENOSPC, "No space left on device")
    assert os_error(disk_full) is disk_full
    assert os_error(ValueError("vocabulary must not be empty")) is None
