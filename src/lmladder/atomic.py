"""Files that appear under their name only once complete.

A writer fills a temporary name beside the target (``atomic_path``; folders: ``replace_directory``); the file is flushed to disk and renamed over the
target with ``os.replace`` (atomic within one folder). A failed write (disk full, permission error,
an exception in the writer) removes the temporary file and leaves the previous file untouched.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_sibling(path: Path) -> Path:
    """A hidden, unique name in ``path``'s folder that keeps ``path``'s suffix (some writers choose the
    format from it). The same folder keeps the rename on one file system, where it is atomic."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on leaving the block it replaces ``path``, or is removed on error.

    Example::

        with atomic_path("data/report.json") as temporary:
            temporary.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(path)
    try:
        yield temporary
        fsync(temporary)
        os.replace(temporary, path)
    except BaseException:  # KeyboardInterrupt too: no half-written file stays behind
        remove(temporary)
        raise


def replace_directory(staging: Path, path: Path) -> None:
    """Rename a complete ``staging`` folder to ``path``. A folder cannot be renamed over a non-empty one,
    so an existing ``path`` is moved aside first, and moved back if the second rename fails."""
    if not path.exists():
        os.replace(staging, path)
        return
    previous = path.with_name(f".{path.name}.previous")
    remove(previous)
    os.replace(path, previous)
    try:
        os.replace(staging, path)
    except BaseException:
        os.replace(previous, path)
        raise
    remove(previous)


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
