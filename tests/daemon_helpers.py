"""Run the real daemon as a subprocess against the simulator, and listen to it as systemd would."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from anti_relous.simulator.device import ModemSimulator
from anti_relous.store import Store


def write_config(directory: Path, sim: ModemSimulator, extra: str = "", **sections: str) -> Path:
    """A config for a daemon on ``sim`` with fast schedules; ``extra`` is appended as TOML."""
    defaults = {
        "modem": f'port = "{sim.path}"\ncommand_timeout = "3s"',
        "storage": f'database = "{directory / "line.db"}"',
        "schedule": 'poll_interval = "2s"\nsend_interval = "1s"\nhealth_interval = "2s"',
        "log": 'level = "info"',
    }
    defaults.update(sections)
    text = "".join(f"[{name}]\n{body}\n" for name, body in defaults.items()) + extra
    path = directory / "config.toml"
    path.write_text(text)
    return path


class NotifySocket:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET; records what arrives, when."""

    def __init__(self, path: Path):
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop:
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            for line in data.decode().split("\n"):
                self.messages.append((time.monotonic(), line))

    def lines(self, prefix: str) -> list[tuple[float, str]]:
        return [(at, line) for at, line in list(self.messages) if line.startswith(prefix)]

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self._sock.close()


#: `anti-relous` as systemd runs it (``python -m anti_relous`` is the same entry point).
CLI_ARGV = [sys.executable, "-m", "anti_relous"]


@dataclass
class Daemon:
    """A running `anti-relous run`."""

    config_path: Path
    db_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        """`anti-relous --config X run`, its output in X with the suffix .log."""
        log = self.config_path.with_suffix(".log").open("ab")
        self.process = subprocess.Popen(
            [*CLI_ARGV, "--config", str(self.config_path), "run"],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 30) -> Daemon:
        """Until the daemon says it is ready (its database exists and the modem answered)."""
        if not eventually(lambda: "ready:" in self.log or self.process.poll() is not None, timeout):
            raise AssertionError(f"the daemon did not get ready:\n{self.log}")
        if self.process.poll() is not None:
            raise AssertionError(f"the daemon exited with {self.process.returncode}:\n{self.log}")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def log(self) -> str:
        return self.config_path.with_suffix(".log").read_text(errors="replace")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Read the daemon's database from this process, as the CLI would."""
        with Store.open(self.db_path, create=False) as store:
            return store.db.conn.execute(sql, params).fetchall()

    def count(self, sql: str, params: tuple[object, ...] = ()) -> int:
        return int(self.query(sql, params)[0][0])


def eventually(predicate: Callable[[], bool], timeout: float = 30, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


#: Another process in the middle of a write transaction (an operator's sqlite3 shell, a slow
#: command): it says "locked" once it holds the lock, and commits when told to.
_HOLD_THE_WRITE_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE line_state SET pause_reason = pause_reason")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


@contextlib.contextmanager
def write_lock_held(database: Path) -> Iterator[None]:
    """Another process holds ``database``'s write lock while the block runs, then commits."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_WRITE_LOCK, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.communicate("commit\n", timeout=10)
