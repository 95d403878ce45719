"""Replay flood traffic against `anti-relous run` and the simulator, watching the daemon.

The traffic (``flood_traffic``) is injected into a simulated dongle in this process while
``anti-relous run`` drains it as a subprocess, optionally SIGKILLed and restarted at chosen moments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon_helpers import Daemon, write_config
from flood_traffic import Scenario

from anti_relous.config import Config, load_config
from anti_relous.modem import MessageStatus
from anti_relous.simulator.device import ModemSimulator, SentPart
from anti_relous.simulator.network import REDELIVERY_S

SIM_SLOTS = 30
ALERT_NUMBER = "+33695000001"
SAMPLE_EVERY_S = 0.25
#: The network hands parts over 20 ms apart, 50 a second: just under what a 115,200 bit/s line
#: drains (about 56 parts a second at 204 bytes a part), so a daemon that keeps up never fills
#: the SIM and one that falls behind does. A faster network fills a 30-slot SIM whatever the
#: daemon does (each refill ends in a refusal); a real SMSC delivers one SM at a time, each
#: taking a fraction of a second to seconds over the air.
DELIVERY_GAP_S = 0.02


@dataclass(frozen=True)
class Run:
    """One replay: the traffic, the line it crosses and how hard the daemon is treated."""

    label: str
    scenario: Scenario
    #: The simulated serial line; None for an unpaced pty.
    baudrate: int | None
    #: SMS handed to the network per second; 0 hands them all at once.
    rate: float
    #: After the SIM is drained, how long to wait for the outbox to empty.
    outbox_wait_s: float
    #: SIGKILL the daemon this many times at random moments, restarting it each time.
    kills: int = 0
    seed: int = 0
    #: The [schedule] section; empty keeps the defaults.
    schedule: str = ""
    timeout_s: float = 3600.0
    #: The network: how far apart it hands parts over, and how long it waits after the SIM's
    #: "memory available" once a delivery found it full (simulator/network.py).
    delivery_gap_s: float = DELIVERY_GAP_S
    redelivery_s: float = REDELIVERY_S


@dataclass(frozen=True)
class Sample:
    """The daemon process and the SIM at one moment (``at``: monotonic seconds)."""

    at: float
    pid: int
    cpu_s: float
    rss_kb: int
    hwm_kb: int
    queued: int
    stored: int
    deleted: int


@dataclass
class Observed:
    """What a replay recorded; ``analyse`` turns it into figures."""

    run: Run
    db_path: Path
    config: Config
    started_utc: datetime
    started: float
    #: Seconds from the start until the last SMS was handed to the network, and until the SIM
    #: was drained (every part read, stored and deleted).
    injected_s: float | None = None
    drained_s: float | None = None
    outbox_done_s: float | None = None
    ended_s: float = 0.0
    bytes_at_start: int = 0
    bytes_at_drain: int = 0
    bytes_at_end: int = 0
    ready_sample: Sample | None = None
    final_sample: Sample | None = None
    samples: list[Sample] = field(default_factory=list)
    #: Every part the simulator received from the daemon, with the time it was seen.
    sent_parts: list[tuple[float, SentPart]] = field(default_factory=list)
    sent_messages: list[tuple[str, str]] = field(default_factory=list)
    sim_stats: dict[str, Any] = field(default_factory=dict)
    #: (seconds since the replay started, which kind of moment) of every SIGKILL.
    kills: list[tuple[float, str]] = field(default_factory=list)
    exit_code: int | None = None
    log_path: Path | None = None


def read_process(pid: int) -> tuple[float, int, int] | None:
    """(CPU seconds, RSS kB, peak RSS kB) of a live process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    after_name = stat.rsplit(")", 1)[1].split()
    cpu_s = (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")
    memory = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            memory[key] = int(value.split()[0])
    if "VmRSS" not in memory:  # a zombie has no memory left to report
        return None
    return cpu_s, memory["VmRSS"], memory["VmHWM"]


class Watch(threading.Thread):
    """Samples the daemon (whichever process it currently is) and what the modem sends."""

    def __init__(self, sim: ModemSimulator, observed: Observed) -> None:
        super().__init__(name="flood-watch", daemon=True)
        self.sim = sim
        self.observed = observed
        self.pid = 0
        self._stop_event = threading.Event()

    def sample(self) -> Sample | None:
        pid = self.pid
        process = read_process(pid) if pid else None
        if process is None:
            return None
        stats = self.sim.stats()
        sample = Sample(
            time.monotonic(), pid, *process, stats.queued, stats.stored, stats.deleted_parts
        )
        self.observed.samples.append(sample)
        seen = len(self.observed.sent_parts)
        if stats.sends > seen:
            now = time.monotonic()
            self.observed.sent_parts.extend((now, part) for part in self.sim.sent[seen:])
        return sample

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_EVERY_S):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)
        self.sample()


class Injector(threading.Thread):
    """Hands the scenario's parts to the simulated network at the run's rate."""

    def __init__(self, sim: ModemSimulator, run: Run) -> None:
        super().__init__(name="flood-injector", daemon=True)
        self.sim = sim
        self.run_ = run
        self.delivered = 0
        self.finished = threading.Event()
        self.finished_at = 0.0

    def run(self) -> None:
        started = time.monotonic()
        rate = self.run_.rate
        for position, sms in enumerate(self.run_.scenario.messages):
            if rate > 0:
                delay = started + position / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            for pdu in sms.pdus:
                self.sim.deliver_pdu(pdu)
            self.delivered += 1
        self.finished_at = time.monotonic()
        self.finished.set()


def _connect(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)


@contextlib.contextmanager
def reading(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the daemon's database, as an operator's CLI would open it."""
    conn = _connect(db_path)
    try:
        yield conn
    finally:
        conn.close()


def scalar(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])


#: The moments kills strike, in turn: any moment; right after a part of an SMS left the modem
#: (the next part of a long reply may be on its way: at-most-once is at stake); after a listing,
#: as the daemon writes its commit to the database, before it deletes from the SIM.
#: Random moments alone seldom fall inside a send or between a commit and its delete.
STRIKES = ("random", "part sent", "listed and committed")


def _listed_not_deleted(sim: ModemSimulator) -> bool:
    return any(status is MessageStatus.REC_READ for _, status, _ in sim.stored())


def _wait_until_quiet(sim: ModemSimulator, quiet_s: float = 0.015, timeout_s: float = 2.0) -> None:
    """Until the modem has written nothing for ``quiet_s`` (a paced line writes every 5 ms)."""
    deadline = time.monotonic() + timeout_s
    last, last_change = sim.line_bytes()[1], time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.0005)
        now_bytes = sim.line_bytes()[1]
        if now_bytes != last:
            last, last_change = now_bytes, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            return


def _wait_for_write(path: Path, timeout_s: float = 0.5) -> None:
    """Until ``path`` changes (size or modification time)."""

    def signature() -> tuple[int, int]:
        try:
            info = path.stat()
        except FileNotFoundError:
            return (0, 0)
        return info.st_size, info.st_mtime_ns

    before = signature()
    deadline = time.monotonic() + timeout_s
    while signature() == before and time.monotonic() < deadline:
        time.sleep(0.0002)


def replay(run: Run, workdir: Path) -> Observed:
    """Run the daemon against the simulator through ``run``; returns what was observed."""
    with ModemSimulator(
        link=workdir / "modem",
        slots=SIM_SLOTS,
        baudrate=run.baudrate,
        delivery_gap_s=run.delivery_gap_s,
        redelivery_s=run.redelivery_s,
    ) as sim:
        return _Replay(run, workdir, sim).play()


class _Replay:
    """One replay: the simulator is up; start the daemon, inject, kill, wait, stop."""

    def __init__(self, run: Run, workdir: Path, sim: ModemSimulator) -> None:
        self.run = run
        self.sim = sim
        self.config_path = write_config(
            workdir,
            sim,
            modem=f'port = "{sim.path}"',
            schedule=run.schedule,
            alerts=f'numbers = ["{ALERT_NUMBER}"]',
        )
        self.db_path = workdir / "line.db"
        self.observed = Observed(
            run, self.db_path, load_config(self.config_path), datetime.now(UTC), time.monotonic()
        )
        self.observed.log_path = self.config_path.with_suffix(".log")
        self.watch = Watch(sim, self.observed)
        self.injector = Injector(sim, run)
        self.rng = random.Random(run.seed)
        # Kills land at random over about the time the replay should take (a few seconds at
        # least), so they hit start-ups, drains and sends alike.
        expected_s = len(run.scenario.messages) / run.rate if run.rate else 0.0
        if run.baudrate:
            # About 250 bytes cross the line per part (listing, framing, deletes), 10 bits each.
            expected_s = max(expected_s, run.scenario.parts * 250 * 10 / run.baudrate)
        expected_s = max(expected_s, run.scenario.parts * run.delivery_gap_s)
        self.kill_gap_s = 2 * max(expected_s, 5.0) / run.kills if run.kills else math.inf
        self.next_kill = time.monotonic() + self.rng.uniform(0.3, self.kill_gap_s)
        #: While waiting for a send to strike in: the simulator's send count, and until when.
        self.armed_sends: int | None = None
        self.armed_until = 0.0
        self.daemon = self._start_daemon()

    def play(self) -> Observed:
        observed, sim = self.observed, self.sim
        self.watch.start()
        try:
            self.daemon.wait_ready(60)
            observed.ready_sample = self.watch.sample()
            observed.started_utc, observed.started = datetime.now(UTC), time.monotonic()
            observed.bytes_at_start = sum(sim.line_bytes())
            self.injector.start()
            self._until_drained()
            deadline = time.monotonic() + self.run.outbox_wait_s
            while self._outbox_busy() and time.monotonic() < deadline:
                time.sleep(0.25)
            if not self._outbox_busy():
                observed.outbox_done_s = time.monotonic() - observed.started
            observed.final_sample = self.watch.sample()
            observed.ended_s = time.monotonic() - observed.started
            observed.bytes_at_end = sum(sim.line_bytes())
            observed.exit_code = self.daemon.stop()
        finally:
            process = self.daemon.process
            if process is not None and process.poll() is None:
                self.daemon.kill()
            self.watch.stop()
        observed.sent_messages = sim.sent_messages()
        observed.sim_stats = dataclasses.asdict(sim.stats())
        return observed

    def _start_daemon(self) -> Daemon:
        daemon = Daemon(self.config_path, self.db_path).start()
        self.watch.pid = daemon.pid
        return daemon

    def _until_drained(self) -> None:
        """Every part delivered, read, stored and deleted, every message decided, and every
        kill done; kills happen meanwhile."""
        observed, run = self.observed, self.run
        deadline = observed.started + run.timeout_s
        next_check = 0.0
        while True:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"{run.label}: not drained after {run.timeout_s:.0f} s")
            if len(observed.kills) < run.kills and self._kill_due(now):
                self.daemon.kill()
                observed.kills.append((time.monotonic() - observed.started, self._strike))
                self.daemon = self._start_daemon()
                self.next_kill = time.monotonic() + self.rng.uniform(0.3, self.kill_gap_s)
                self.armed_sends = None
            if observed.drained_s is None and self._sim_drained():
                observed.injected_s = self.injector.finished_at - observed.started
                observed.drained_s = now - observed.started
                observed.bytes_at_drain = sum(self.sim.line_bytes())
            if observed.drained_s is not None and now >= next_check:
                next_check = now + 0.25
                decided, stored = self._database_settled()
                # A lost part would keep `stored` False forever: the audit reports it.
                waited = now - observed.started - observed.drained_s
                if decided and (stored or waited > 20) and len(observed.kills) >= run.kills:
                    return
            if self.armed_sends is None:
                time.sleep(0.02)

    @property
    def _strike(self) -> str:
        return STRIKES[len(self.observed.kills) % len(STRIKES)]

    def _kill_due(self, now: float) -> bool:
        """Whether the next kill strikes now (see STRIKES); a targeted strike waits for its
        moment two send intervals at most (replies leave one per interval while any is queued),
        then falls back to a random one."""
        if now < self.next_kill:
            return False
        strike = self._strike
        if strike == "random":
            return True
        if self.armed_sends is None:
            self.armed_sends = self.sim.stats().sends
            send_interval = self.observed.config.schedule.send_interval.total_seconds()
            self.armed_until = now + max(3.0, 2 * send_interval)
        armed = self.armed_sends
        if strike == "part sent":
            hit = self.sim.wait_until(lambda sim: sim.stats().sends > armed, 0.02)
        else:
            hit = self.sim.wait_until(_listed_not_deleted, 0.02)
            if hit:
                # The slots turn read when the modem takes the command: let the listing cross
                # the line, then strike as the daemon writes its commit, before the delete.
                _wait_until_quiet(self.sim)
                _wait_for_write(self.db_path.with_name(self.db_path.name + "-wal"))
        return hit or time.monotonic() > self.armed_until

    def _sim_drained(self) -> bool:
        stats = self.sim.stats()
        return (
            self.injector.finished.is_set()
            and stats.delivered_parts == self.run.scenario.parts
            and stats.deleted_parts >= self.run.scenario.parts
            and stats.stored == 0
            and stats.queued == 0
        )

    def _database_settled(self) -> tuple[bool, bool]:
        """(every message decided, every part stored) in the daemon's database."""
        try:
            with reading(self.db_path) as conn:
                undecided = scalar(conn, "SELECT count(*) FROM undecided")
                parts = scalar(conn, "SELECT count(*) FROM inbound_parts")
        except sqlite3.Error:
            return False, False
        return undecided == 0, parts >= self.run.scenario.parts

    def _outbox_busy(self) -> bool:
        with reading(self.db_path) as conn:
            return bool(
                scalar(conn, "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")
            )
