"""Shared fixtures: a real SQLite file, settable clocks, the simulated dongle, running daemons."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from daemon_helpers import Daemon, NotifySocket, write_config

from anti_relous.config import Config, load_config
from anti_relous.policy import Rules
from anti_relous.simulator.device import ModemSimulator
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


class Ticker:
    """A monotonic clock tests move by hand (a link's backoff, the service's pacing)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


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


@pytest.fixture
def sim(tmp_path):
    """The built-in simulated dongle on a pty, its port at tmp_path/modem."""
    with ModemSimulator(link=tmp_path / "modem") as simulator:
        yield simulator


@pytest.fixture
def notify(tmp_path):
    """A socket standing in for systemd's $NOTIFY_SOCKET."""
    listener = NotifySocket(tmp_path / "notify.sock")
    yield listener
    listener.close()


@pytest.fixture
def run_daemon(tmp_path):
    """Start `anti-relous run` on a simulator; whatever happens, none outlives the test.

    ``run_daemon(sim, directory=..., env=..., ready=..., extra=..., **sections)``: the config
    is written in ``directory`` (default tmp_path), ``sections`` replace its TOML tables.
    """
    started = []

    def start(sim, *, directory=None, env=None, ready=True, extra="", **sections):
        config = write_config(directory or tmp_path, sim, extra, **sections)
        database = load_config(config).storage.database
        daemon = Daemon(config, database, env=env or {}).start()
        started.append(daemon)
        return daemon.wait_ready() if ready else daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.kill()
