"""Files and folders that appear under their name only once complete.

A writer fills a temporary name beside the target (``atomic_path``; folders: ``atomic_directory``); the
files are flushed to disk and renamed over the target with ``os.replace`` (atomic within one folder). A
failed write (disk full, permission error, an exception in the writer) removes the temporary name and
leaves the previous file or folder untouched.

A process killed mid-write can leave its temporary name behind (``.<stem>.<8 hex>.tmp<suffix>``); the
next write of the same target removes it. That is safe because one target has one writer at a time: a
``kedro run`` holds its run's (or its rung's) lock, and every target's temporary names are its own.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

# Rust extensions (tokenizers, safetensors) report an I/O error as a bare Exception or a SafetensorError
# whose message ends in the OS error: "File too large (os error 27)".
RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def temporary_sibling(path: Path) -> Path:
    """A hidden, unique name in ``path``'s folder that keeps ``path``'s suffix (some writers choose the
    format from it). The same folder keeps the rename on one file system, where it is atomic."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


def remove_stale_temporaries(path: Path) -> None:
    """Remove the temporary names of ``path`` a killed writer left (only ``path``'s own: another
    target's temporary names never match, so a writer of another file is never disturbed)."""
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.[0-9a-f]{{8}}\.tmp{re.escape(path.suffix)}")
    if path.parent.is_dir():
        for leftover in path.parent.iterdir():
            if pattern.fullmatch(leftover.name):
                log.info("removing %s, left by a write of %s that was killed", leftover, path)
                remove(leftover)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on leaving the block it replaces ``path``, or is removed on error.

    Example::

        with atomic_path("data/report.json") as temporary:
            temporary.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    temporary = temporary_sibling(path)
    try:
        yield temporary
        fsync(temporary)
        os.replace(temporary, path)
    except BaseException:  # KeyboardInterrupt too: no half-written file stays behind
        remove(temporary)
        raise


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; on leaving the block its files are flushed to disk
    and it replaces ``path`` (see ``replace_directory``), or it is removed on error.

    Example::

        with atomic_directory("data/06_models/pretrained_model") as staging:
            (staging / "config.json").write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    staging = temporary_sibling(path)
    staging.mkdir()
    try:
        yield staging
        for file in staging.rglob("*"):
            if file.is_file() and not file.is_symlink():
                fsync(file)  # on disk before the rename makes them the folder's content
        replace_directory(staging, path)
    except BaseException:
        remove(staging)
        raise


def previous_directory(path: Path) -> Path:
    """Where ``replace_directory`` keeps the previous ``path`` while it swaps the new one in."""
    return path.with_name(f".{path.name}.previous")


def recover_directory(path: Path) -> None:
    """Undo what a process killed inside ``replace_directory`` left: with ``path`` gone, its previous
    version is moved back (the new one never arrived); with both there, the previous one is removed."""
    previous = previous_directory(path)
    if not previous.is_dir():
        return
    if path.exists():
        remove(previous)
    else:
        log.warning("%s is missing but %s holds its previous version (a save was killed half-way): moving it back", path, previous)
        os.replace(previous, path)


def replace_directory(staging: Path, path: Path) -> None:
    """Rename a complete ``staging`` folder to ``path``. A folder cannot be renamed over a non-empty one,
    so an existing ``path`` is moved aside first, and moved back if the second rename fails."""
    recover_directory(path)
    if not path.exists():
        os.replace(staging, path)
        return
    previous = previous_directory(path)
    os.replace(path, previous)
    try:
        os.replace(staging, path)
    except BaseException:
        os.replace(previous, path)
        raise
    remove(previous)


def os_error(error: BaseException) -> OSError | None:
    """The operating-system error behind ``error``: ``error`` itself if an ``OSError``, one rebuilt from the
    message of a Rust extension's error (tokenizers' bare ``Exception``, safetensors' ``SafetensorError``),
    else None (a bug, not a full disk or a permission problem)."""
    if isinstance(error, OSError):
        return error
    match = RUST_OS_ERROR.search(str(error))
    if match is None:
        return None
    code = int(match[1])
    return OSError(code, os.strerror(code))


def fsync(path: Path) -> None:
    """Flush a written file to disk: without it a power cut just after the rename can leave the new
    name pointing at an empty or partial file."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove(path: Path) -> None:
    """Remove a file or folder if it is there (some writers make a folder where a file was asked for)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
