"""Files the operator's commands write (exports, the configuration): whole or not at all, and
never through a link someone planted.

The directories involved may be shared (``/var/lib/anti-relous`` is a group directory), so a
predictable temporary name is a trap: a symlink planted there would be followed and its target
overwritten. A file is therefore written under a random name that ``mkstemp`` creates (O_EXCL,
mode 0600) in the target's directory, given its final mode, then renamed over the target with
``os.replace``, which replaces a link itself rather than what it points to.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from anti_relous.admin import AdminError


class TargetIsDirectory(AdminError):
    """A file was asked for where a directory is (``-o .``)."""

    exit_code = 2

    def __init__(self, path: Path, example: str):
        self.path = path
        super().__init__(f"{path} is a directory: give a file name, e.g. {path / example}")


class TargetExists(AdminError):
    """The target exists (a file, or a link even to nothing) and replacing it was not asked."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(
            f"{path} already exists: choose another name, or add --force to replace it"
        )


def check_target(path: Path, *, force: bool, example: str) -> None:
    """Refuse a directory, or an existing target (a dangling link included) unless ``force``;
    ``example`` is a file name to suggest inside a directory."""
    if path.is_dir():
        raise TargetIsDirectory(path, example)
    if os.path.lexists(path) and not force:
        raise TargetExists(path)


@contextlib.contextmanager
def replacing(
    path: Path, *, mode: int, gid: int | None = None, newline: str | None = None
) -> Iterator[IO[str]]:
    """A text file that becomes ``path`` (mode ``mode``, group ``gid``) once the block ends
    without an error; on an error the temporary file is removed and ``path`` is untouched.

    An OSError (no such directory, no space left...) becomes an AdminError naming ``path``.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as error:
        raise _cannot_write(path, error) from None
    temporary = Path(name)
    try:
        with open(fd, "w", encoding="utf-8", newline=newline) as handle:  # noqa: PTH123
            yield handle
            handle.flush()
            os.fsync(fd)
            os.fchmod(fd, mode)
            if gid is not None:
                os.fchown(fd, -1, gid)
        temporary.replace(path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        if isinstance(error, OSError):
            raise _cannot_write(path, error) from None
        raise


def _cannot_write(path: Path, error: OSError) -> AdminError:
    if isinstance(error, PermissionError):
        return AdminError(
            f"permission denied writing {path}: run as a user who may write in {path.parent} "
            "(root, with sudo, for /etc), or choose another path"
        )
    return AdminError(f"cannot write {path}: {error.strerror or error}")
