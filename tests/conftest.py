"""Shared fixtures: a real SQLite file, a settable clock, sample messages, tool requirements."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from anti_relous.config import Config
from anti_relous.policy import Rules
from anti_relous.store import Store

T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


def require_tool(name: str) -> str:
    """The path of an external tool; skip without it, or fail when CI demands every tool."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package; .ci/run installs it)"
        if os.environ.get("ANTI_RELOUS_REQUIRE_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


class Clock:
    """A clock tests move by hand; code under test receives ``now`` from it."""

    def __init__(self, start: datetime = T0):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "line.db"


@pytest.fixture
def store(db_path):
    with Store.open(db_path) as opened:
        yield opened


@pytest.fixture
def rules() -> Rules:
    return Rules.from_config(Config())
