"""The complaint pack on disk: a new folder that appears whole, with its SHA256SUMS.

The files are written into a fresh private directory beside the target (``mkdtemp``: a name
nobody can predict or plant a link at) and the directory is renamed into place at the end, so an
interrupted run never leaves a folder that looks complete. ``SHA256SUMS`` is written last, in the
format ``sha256sum -c`` reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from anti_relous.admin.export import write_records
from anti_relous.report import ReportError
from anti_relous.store import Store

SUMS = "SHA256SUMS"
#: Writes one file of the pack at the path it is given (what it returns is ignored).
Writer = Callable[[Path], object]


def check_target(directory: Path) -> None:
    """Refuse a target that is a file or a folder already holding files (nothing is replaced)."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise ReportError(f"{directory} exists and is not a folder: choose a new folder name")
    if directory.is_dir() and any(directory.iterdir()):
        raise ReportError(
            f"{directory} already holds files: choose a new folder (a pack is never merged "
            "into another or overwritten)"
        )
    if not directory.parent.is_dir():
        raise ReportError(f"{directory.parent} does not exist: create it first")


def messages_writer(store: Store, fmt: str, filters: Mapping[str, Any]) -> Writer:
    """``messages.csv`` (``fmt`` csv) or ``messages.jsonl`` (json): the rows `anti-relous export`
    writes for the same ``filters`` (``Evidence.export``'s keywords), by the same code."""

    def write(path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="" if fmt == "csv" else None) as handle:
            write_records(store.evidence.export(**filters), handle, fmt)

    return write


def numbers_text(numbers: Sequence[str]) -> str:
    """``numbers-33700.txt``: one number per line."""
    return "".join(f"{number}\n" for number in numbers)


def sums_text(directory: Path, names: Sequence[str]) -> str:
    """``SHA256SUMS`` for ``names`` in ``directory``, as ``sha256sum`` writes it."""
    lines = []
    for name in sorted(names):
        digest = hashlib.sha256()
        with (directory / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        lines.append(f"{digest.hexdigest()}  {name}\n")
    return "".join(lines)


def write_pack(
    directory: Path,
    writers: Mapping[str, Writer],
    signed: Callable[[Path, Path], None] | None = None,
) -> list[str]:
    """Write each file of ``writers`` (name -> writer), then SHA256SUMS, into a new ``directory``;
    with ``signed``, also its signature (``signed(sums, signature)`` writes SHA256SUMS.asc).

    Returns the names written, in that order.
    """
    check_target(directory)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as error:
        raise ReportError(f"cannot write in {directory.parent}: {error.strerror}") from None
    try:
        for name, write in writers.items():
            write(staging / name)
        (staging / SUMS).write_text(sums_text(staging, list(writers)), encoding="utf-8")
        if signed is not None:
            signed(staging / SUMS, staging / f"{SUMS}.asc")
        with contextlib.suppress(FileNotFoundError):
            directory.rmdir()  # an empty folder made for the pack is fine
        os.rename(staging, directory)  # noqa: PTH104 (fails rather than merge into a folder)
    except OSError as error:
        raise ReportError(f"cannot write the pack to {directory}: {error.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [*writers, SUMS, *([f"{SUMS}.asc"] if signed is not None else [])]
