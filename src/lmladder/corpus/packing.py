"""Tokenisation and packing into flat token files.

A token file is a flat array of token ids (``.bin``: raw uint16 when the vocabulary fits, else
uint32), every document followed by the end-of-text token, plus JSON metadata beside it. Token ids
are produced batch by batch with ``datasets.Dataset.map`` and appended to the file as they come, so
a corpus never has to fit in memory; the file appears under its name only once complete, and a failed
write leaves no temporary file behind.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
from tokenizers import Tokenizer

from lmladder.atomic import atomic_path
from lmladder.corpus.tokenizer import special_token_id, tokenizer_sha256
from lmladder.errors import CorruptFileError, StaleDataError

TOKEN_FILE_FORMAT = "lmladder.tokens/v1"


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


def metadata_path(token_path: Path) -> Path:
    return token_path.with_suffix(".json")


@dataclass
class TokenFile:
    """A token file opened read-only: ``tokens`` is a memory map, not a copy."""

    path: Path
    tokens: np.ndarray
    metadata: dict


def _encode_batch(batch: dict, tokenizer: Tokenizer, eot_id: int, dtype: str) -> dict:
    # encode_batch_fast skips character offsets we never use: it is the fastest batch encoder.
    encodings = tokenizer.encode_batch_fast(batch["text"], add_special_tokens=False)
    return {
        "ids": [np.array(encoding.ids + [eot_id], dtype=dtype) for encoding in encodings],
        "n_bytes": [len(text.encode("utf-8")) for text in batch["text"]],
    }


class TokenStream:
    """The token ids of a set of documents, computed lazily; consumed once by ``write_token_file``.

    After consumption ``documents``, ``tokens`` and ``text_bytes`` hold the totals.
    """

    def __init__(
        self,
        documents: datasets.Dataset,
        tokenizer: Tokenizer,
        batch_size: int = 1000,
        num_proc: int | None = None,
        fingerprint: str = "",
    ):
        self.source = documents
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.num_proc = num_proc
        self.fingerprint = fingerprint
        self.vocab_size = tokenizer.get_vocab_size()
        self.dtype = token_dtype(self.vocab_size)
        self.documents = self.tokens = self.text_bytes = 0

    def chunks(self) -> Iterator[np.ndarray]:
        tokenizer_hash = tokenizer_sha256(self.tokenizer)
        encoded = self.source.map(
            _encode_batch,
            batched=True,
            batch_size=self.batch_size,
            num_proc=self.num_proc,
            remove_columns=self.source.column_names,
            fn_kwargs={
                "tokenizer": self.tokenizer,
                "eot_id": special_token_id(self.tokenizer, "eot"),
                "dtype": self.dtype.name,
            },
            # An explicit fingerprint: hashing the tokenizer object for the cache key is slow and unstable.
            new_fingerprint=hashlib.sha256(f"{self.source._fingerprint}:{tokenizer_hash}".encode()).hexdigest()[:32],
            desc="tokenising",
        )
        for table in encoded.with_format("arrow").iter(batch_size=self.batch_size * 10):
            ids = np.concatenate([chunk.flatten().to_numpy(zero_copy_only=False) for chunk in table.column("ids").chunks]).astype(
                self.dtype, copy=False
            )
            self.documents += table.num_rows
            self.tokens += len(ids)
            self.text_bytes += int(np.asarray(table.column("n_bytes")).sum())
            yield ids

    def metadata(self) -> dict:
        return {
            "format": TOKEN_FILE_FORMAT,
            "token_count": self.tokens,
            "documents": self.documents,
            "dtype": self.dtype.name,
            "vocab_size": self.vocab_size,
            "text_bytes": self.text_bytes,
            "bytes_per_token": self.text_bytes / self.tokens if self.tokens else 0.0,
            "eot_id": special_token_id(self.tokenizer, "eot"),
            "fingerprint": self.fingerprint,
            "tokenizer_sha256": tokenizer_sha256(self.tokenizer),
        }


def write_token_file(path: str | Path, stream: TokenStream) -> dict:
    """Append the stream's chunks to a temporary file beside ``path``, then move data and metadata into place.

    A failed write (disk full, an error in the stream) leaves the previous file (if any) intact and
    removes both temporary files; only a killed process can leave a hidden ``.<name>.*.tmp.bin`` behind
    (the next write removes it).
    """
    path = Path(path)
    # Both files are complete before either is renamed; the tokens are renamed first, the metadata last. A
    # crash between the two renames leaves the new tokens under the previous metadata, never the previous
    # tokens under new metadata: a different size is reported as corrupt, a different tokenizer (the
    # metadata records its sha256) is refused by check_tokenizer_matches, and otherwise the tokens are
    # valid for the current tokenizer and only the metadata's statistics (documents, bytes per token,
    # fingerprint) are the previous write's.
    with atomic_path(metadata_path(path)) as partial_metadata, atomic_path(path) as partial:
        with open(partial, "wb") as out:
            for chunk in stream.chunks():
                chunk.tofile(out)
        metadata = stream.metadata()
        partial_metadata.write_text(json.dumps(metadata, indent=2))
    return metadata


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# Every key the project reads from token metadata: what its value must be, and the check.
METADATA_KEYS = {
    "dtype": ("uint16 or uint32", lambda value: value in ("uint16", "uint32")),
    "token_count": ("a non-negative integer", _count),
    "documents": ("a non-negative integer", _count),
    "vocab_size": ("a positive integer", lambda value: _count(value) and value > 0),
    "bytes_per_token": (
        "a non-negative number",
        lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0,
    ),
    "tokenizer_sha256": ("a string", lambda value: isinstance(value, str)),
}


def _metadata_problem(metadata: object) -> str | None:
    """What is wrong with token metadata, or None."""
    if not isinstance(metadata, dict):
        return f"expected a JSON object, got {type(metadata).__name__}"
    missing = [key for key in METADATA_KEYS if key not in metadata]
    if missing:
        return f"missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}"
    for key, (expected, check) in METADATA_KEYS.items():
        if not check(metadata[key]):
            return f"{key!r} is {metadata[key]!r}, not {expected}"
    return None


def read_token_file(path: str | Path) -> TokenFile:
    """Open a token file, checking it against its metadata."""
    path = Path(path)
    meta_file = metadata_path(path)
    if not path.exists() or not meta_file.exists():
        missing = path if not path.exists() else meta_file
        raise CorruptFileError(f"token file incomplete: {missing} is missing; re-run the data_processing pipeline")
    try:
        metadata = json.loads(meta_file.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CorruptFileError(f"{meta_file} is not valid token metadata ({error}); re-run data_processing") from error
    problem = _metadata_problem(metadata)
    if problem:
        raise CorruptFileError(f"{meta_file} is not valid token metadata ({problem}); re-run data_processing")
    dtype, token_count = np.dtype(metadata["dtype"]), metadata["token_count"]
    expected_bytes = token_count * dtype.itemsize
    actual_bytes = path.stat().st_size
    if actual_bytes != expected_bytes:
        raise CorruptFileError(
            f"{path} is {actual_bytes} bytes but its metadata says {token_count} {dtype.name} tokens "
            f"({expected_bytes} bytes): the file is truncated or was overwritten. Re-run data_processing."
        )
    tokens = np.memmap(path, dtype=dtype, mode="r") if token_count else np.zeros(0, dtype=dtype)
    return TokenFile(path=path, tokens=tokens, metadata=metadata)


def check_tokenizer_matches(tokenizer: Tokenizer, token_files: dict[str, TokenFile]) -> None:
    """Refuse token files made with another tokenizer (e.g. processing was killed between writing
    the tokenizer and the token files): their ids would mean other strings."""
    expected = tokenizer_sha256(tokenizer)
    for name, token_file in token_files.items():
        recorded = token_file.metadata.get("tokenizer_sha256")
        if recorded != expected:
            raise StaleDataError(
                f"{token_file.path} ({name}) was made with tokenizer {str(recorded)[:12]}, not with the current "
                f"tokenizer.json ({expected[:12]}): the two come from different data_processing runs. "
                "Run `kedro run --pipelines data_processing` again."
            )
