"""One retraining at a time per project: an OS file lock, released by the OS if the process dies."""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout


class RetrainingLock:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock: FileLock | None = None

    def try_acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return False
        self._lock = lock
        return True

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def held(self) -> bool:
        return self._lock is not None
