import errno
import os
from pathlib import Path

import pytest

from lmladder.atomic import atomic_path, replace_directory


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
