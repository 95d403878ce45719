"""An exclusive lock on a file that the kernel releases when its process dies, naming its holder.

``flock(2)`` rather than a pid file: a pid file outlives a ``kill -9`` and its pid may be reused,
while this lock goes with the last descriptor of its process. (Not ``fcntl`` byte-range locks:
SQLite uses those on the database, and closing any descriptor of a file drops them all.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from anti_relous.errors import AntiRelousError

#: Readable by the group that shares the database, so operators' tools can see the holder.
LOCK_FILE_MODE = 0o640


class AlreadyLocked(AntiRelousError):
    """Another process holds the lock; ``pid`` is the one it wrote, when it could be read."""

    def __init__(self, path: Path, pid: int | None):
        self.path = path
        self.pid = pid
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(f"{path} is locked by {holder}")


class LockUnavailable(AntiRelousError):
    """The lock file cannot be opened (permissions, missing directory)."""


class PidLock:
    """``with PidLock(path):`` holds ``path`` exclusively, with this process's pid written in it."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock at once or raise AlreadyLocked (never waits)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, LOCK_FILE_MODE)
        except OSError as error:
            raise LockUnavailable(
                f"cannot open the lock file {self.path}: {error.strerror or error}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyLocked(self.path, pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let go (idempotent); the file stays, empty of meaning once unlocked."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> PidLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    # The holder writes its pid just after locking: a reader may come in between.
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
