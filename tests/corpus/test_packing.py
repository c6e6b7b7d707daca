import errno
import json
import os
from pathlib import Path

import datasets
import numpy as np
import pytest

from lmladder.corpus.packing import (
    TOKEN_FILE_FORMAT,
    TokenStream,
    check_tokenizer_matches,
    metadata_path,
    read_token_file,
    token_dtype,
    write_token_file,
)
from lmladder.corpus.tokenizer import tokenizer_sha256, train_bpe_tokenizer
from lmladder.errors import CorruptFileError, StaleDataError

TEXTS = ["hello world", "你好", "مرحبا"]


def _stream(tokenizer, texts=TEXTS, fingerprint="fp"):
    return TokenStream(datasets.Dataset.from_dict({"text": texts}), tokenizer, batch_size=2, fingerprint=fingerprint)


class FailingStream(TokenStream):
    def chunks(self):
        yield from super().chunks()
        raise OSError("disk full")


@pytest.mark.parametrize(("vocab_size", "dtype"), [(300, np.uint16), (65535, np.uint16), (65536, np.uint16), (65537, np.uint32)])
def test_token_dtype(vocab_size, dtype):
    assert token_dtype(vocab_size) == np.dtype(dtype)


def test_metadata_path_sits_beside_token_file(tmp_path):
    assert metadata_path(tmp_path / "train.bin") == tmp_path / "train.json"


def test_round_trip_appends_eot_to_every_document(tmp_path, tokenizer):
    write_token_file(tmp_path / "train.bin", _stream(tokenizer))
    token_file = read_token_file(tmp_path / "train.bin")
    expected = [token_id for text in TEXTS for token_id in tokenizer.encode(text).ids + [0]]
    assert token_file.tokens.tolist() == expected
    assert isinstance(token_file.tokens, np.memmap)
    assert token_file.tokens.dtype == np.uint16
    assert token_file.path == tmp_path / "train.bin"


def test_metadata_is_exact_and_written_beside_the_tokens(tmp_path, tokenizer):
    metadata = write_token_file(tmp_path / "train.bin", _stream(tokenizer))
    token_count = sum(len(tokenizer.encode(text).ids) + 1 for text in TEXTS)
    assert metadata == {
        "format": TOKEN_FILE_FORMAT,
        "token_count": token_count,
        "documents": 3,
        "dtype": "uint16",
        "vocab_size": 300,
        "text_bytes": 11 + 6 + 10,
        "bytes_per_token": 27 / token_count,
        "eot_id": 0,
        "fingerprint": "fp",
        "tokenizer_sha256": tokenizer_sha256(tokenizer),
    }
    assert json.loads((tmp_path / "train.json").read_text()) == metadata
    assert read_token_file(tmp_path / "train.bin").metadata == metadata
    assert (tmp_path / "train.bin").stat().st_size == 2 * token_count


def test_stream_counts_totals_across_batches(tmp_path, tokenizer):
    stream = _stream(tokenizer, texts=["a b"] * 25)
    write_token_file(tmp_path / "many.bin", stream)
    assert (stream.documents, stream.text_bytes) == (25, 75)
    assert stream.tokens == len(read_token_file(tmp_path / "many.bin").tokens)


def test_empty_stream_writes_empty_file(tmp_path, tokenizer):
    metadata = write_token_file(tmp_path / "empty.bin", _stream(tokenizer, texts=[]))
    assert (metadata["token_count"], metadata["documents"], metadata["bytes_per_token"]) == (0, 0, 0.0)
    assert read_token_file(tmp_path / "empty.bin").tokens.tolist() == []


def test_write_creates_parent_folders(tmp_path, tokenizer):
    write_token_file(tmp_path / "a" / "b" / "train.bin", _stream(tokenizer))
    assert read_token_file(tmp_path / "a" / "b" / "train.bin").metadata["documents"] == 3


def test_failed_write_leaves_previous_file_intact(tmp_path, tokenizer):
    path = tmp_path / "train.bin"
    write_token_file(path, _stream(tokenizer, texts=["old text"]))
    before = read_token_file(path).tokens.tolist()
    failing = FailingStream(datasets.Dataset.from_dict({"text": TEXTS}), tokenizer, batch_size=2)
    with pytest.raises(OSError, match="disk full"):
        write_token_file(path, failing)
    after = read_token_file(path)
    assert after.tokens.tolist() == before == tokenizer.encode("old text").ids + [0]
    assert after.metadata["documents"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.bin", "train.json"]  # no temporary file left behind


def test_a_failed_metadata_write_leaves_both_files_as_they_were_and_no_temporary_file(tmp_path, tokenizer, monkeypatch):
    path = tmp_path / "train.bin"
    write_token_file(path, _stream(tokenizer, texts=["old text"]))
    before = {name: (tmp_path / name).read_bytes() for name in ("train.bin", "train.json")}

    def disk_full(self, text, **kwargs):
        self.write_bytes(text.encode()[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        write_token_file(path, _stream(tokenizer))
    monkeypatch.undo()
    assert {name: (tmp_path / name).read_bytes() for name in ("train.bin", "train.json")} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.bin", "train.json"]


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs (atomic_path's clean-up aside)."""


class FixedStream(TokenStream):
    """A stream of given token ids (a small fake: the tokenizer only gives the metadata its sha256)."""

    def __init__(self, tokenizer, ids):
        super().__init__(datasets.Dataset.from_dict({"text": []}), tokenizer)
        self.ids = np.array(ids, dtype=self.dtype)

    def chunks(self):
        self.documents, self.tokens = 1, len(self.ids)
        yield self.ids


def test_a_write_killed_between_the_two_renames_never_pairs_the_previous_tokens_with_the_new_metadata(tmp_path, tokenizer, monkeypatch):
    path = tmp_path / "train.bin"
    write_token_file(path, FixedStream(tokenizer, [5, 6, 7]))
    retrained = train_bpe_tokenizer(["an entirely different corpus"] * 10, 300)
    renames = []
    real_replace = os.replace

    def killed_after_the_first_rename(source, destination):
        if renames:
            raise Killed
        renames.append(Path(destination).name)
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", killed_after_the_first_rename)
    with pytest.raises(Killed):
        write_token_file(path, FixedStream(retrained, [8, 9, 10]))  # as many tokens: the sizes agree
    monkeypatch.undo()
    assert renames == ["train.bin"]  # the tokens first, the metadata (with the tokenizer's sha256) last
    token_file = read_token_file(path)
    assert token_file.tokens.tolist() == [8, 9, 10]
    with pytest.raises(StaleDataError, match=r"train\.bin \(train_tokens\) was made with tokenizer"):
        check_tokenizer_matches(retrained, {"train_tokens": token_file})  # the next run's tokenizer.json is the retrained one


def test_a_write_removes_the_temporary_files_a_killed_write_left(tmp_path, tokenizer):
    for name in (".train.0123abcd.tmp.bin", ".train.0123abcd.tmp.json"):
        (tmp_path / name).write_bytes(b"half")
    write_token_file(tmp_path / "train.bin", _stream(tokenizer))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.bin", "train.json"]


def test_truncated_file_names_the_file(tmp_path, tokenizer):
    path = tmp_path / "train.bin"
    write_token_file(path, _stream(tokenizer))
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(CorruptFileError, match=r"train\.bin is \d+ bytes but its metadata says \d+ uint16 tokens"):
        read_token_file(path)


@pytest.mark.parametrize("missing", ["train.bin", "train.json"])
def test_missing_half_is_corrupt(tmp_path, tokenizer, missing):
    write_token_file(tmp_path / "train.bin", _stream(tokenizer))
    (tmp_path / missing).unlink()
    with pytest.raises(CorruptFileError, match=rf"token file incomplete: .*{missing} is missing"):
        read_token_file(tmp_path / "train.bin")


@pytest.mark.parametrize("metadata", ["not json", '{"dtype": "uint16"}', '{"dtype": "nope", "token_count": 1}'])
def test_invalid_metadata_is_corrupt(tmp_path, tokenizer, metadata):
    write_token_file(tmp_path / "train.bin", _stream(tokenizer))
    (tmp_path / "train.json").write_text(metadata)
    with pytest.raises(CorruptFileError, match=r"train\.json is not valid token metadata"):
        read_token_file(tmp_path / "train.bin")


@pytest.mark.parametrize("key", ["dtype", "token_count", "documents", "vocab_size", "bytes_per_token", "tokenizer_sha256"])
def test_metadata_without_a_key_the_project_reads_names_the_file_and_the_key(tmp_path, tokenizer, key):
    write_token_file(tmp_path / "train.bin", _stream(tokenizer))
    metadata = json.loads((tmp_path / "train.json").read_text())
    del metadata[key]
    (tmp_path / "train.json").write_text(json.dumps(metadata))
    with pytest.raises(CorruptFileError, match=rf"train\.json is not valid token metadata \(missing key '{key}'\); re-run data_processing"):
        read_token_file(tmp_path / "train.bin")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("dtype", "float64", "uint16 or uint32"),
        ("token_count", "7", "a non-negative integer"),
        ("documents", -1, "a non-negative integer"),
        ("vocab_size", 0, "a positive integer"),
        ("bytes_per_token", None, "a non-negative number"),
        ("tokenizer_sha256", 42, "a string"),
    ],
)
def test_metadata_with_a_value_of_the_wrong_kind_names_the_key(tmp_path, tokenizer, key, value, expected):
    write_token_file(tmp_path / "train.bin", _stream(tokenizer))
    metadata = json.loads((tmp_path / "train.json").read_text())
    metadata[key] = value
    (tmp_path / "train.json").write_text(json.dumps(metadata))
    with pytest.raises(CorruptFileError, match=rf"train\.json is not valid token metadata \('{key}' is .*, not {expected}\)"):
        read_token_file(tmp_path / "train.bin")


def test_token_files_from_another_tokenizer_are_refused_naming_the_file(tmp_path, tokenizer):
    write_token_file(tmp_path / "train.bin", _stream(tokenizer))
    token_file = read_token_file(tmp_path / "train.bin")
    check_tokenizer_matches(tokenizer, {"train_tokens": token_file})
    newer = train_bpe_tokenizer(TEXTS * 10, 310)
    with pytest.raises(
        StaleDataError, match=r"train\.bin \(train_tokens\) was made with tokenizer [0-9a-f]{12}, not with the current tokenizer\.json"
    ):
        check_tokenizer_matches(newer, {"train_tokens": token_file})
