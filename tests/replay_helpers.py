"""Replay a flood against `anti-relous run` and the simulator, then audit the invariants.

The harness of ``benchmarks/flood.py`` (full scale) and ``tests/test_chaos.py`` (small scale):
realistic flood traffic as the network would deliver it (bots, genuine texters, long messages,
byte-identical repeats), a replay that injects it into a simulated dongle in this process while
``anti-relous run`` drains it as a subprocess (optionally SIGKILLed and restarted at random
moments), and an audit of DESIGN's invariants on the database and on what the simulator saw.
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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

from daemon_helpers import Daemon, write_config

from anti_relous.coding import fits_gsm7
from anti_relous.config import Config, QuotaConfig, load_config
from anti_relous.modem import MessageStatus
from anti_relous.modem.pdu import encode_deliver
from anti_relous.simulator.device import ModemSimulator, SentPart

SIM_SLOTS = 30
ALERT_NUMBER = "+33695000001"
#: The attack on the first line: 20,000 SMS in under 6 hours.
ATTACK_SPAN = timedelta(hours=6)
SAMPLE_EVERY_S = 0.25

# --- the traffic -------------------------------------------------------------------------------

BOT_SHORT = (
    "t'es charmante, tu me donnes ton 06 ?",
    "réponds stp",
    "pourquoi tu réponds pas ??",
    "je t'ai vue à la gare hier soir, t'étais belle",
    "allez sois pas timide",
    "t'es où là ?",
    "on se voit ce soir ?",
    "tu m'as donné un faux numéro ou quoi",
    "salut bb ça va ?",
    "wesh réponds",
    "t'as un mec ?",
    "je sais où tu descends",
)
BOT_EMOJI = ("😘😘", "😍 t'es trop belle", "🔥🔥🔥 réponds", "t'es vexée ? 😂")
BOT_LONG = (
    "Je t'ai vue ce matin sur le quai de la ligne 13 et franchement tu m'as rendu fou.",
    "Tu fais la fiere mais je sais que tu lis mes messages, alors arrete ton cinema.",
    "Si tu réponds pas je vais continuer à t'écrire toute la nuit, j'ai que ça à faire.",
    "Mes potes disent que t'es pas si belle que ça mais moi je trouve que si.",
    "Donne-moi juste ton prénom et ton insta et je te laisse tranquille, promis.",
    "Tu m'as donné ce numéro exprès pour te moquer de moi ? Réponds au moins.",
    "Je passe tous les jours à la même heure devant ton travail, tu le sais.",
    "T'avais un beau sourire dans le bus, pourquoi tu fais la gueule maintenant ?",
)
GENUINE_TEXTS = (
    "Salut, c'est Karim, on s'est croisés au métro tout à l'heure",
    "Bonsoir, c'est bien ton numéro ?",
    "Coucou c'est Yanis de la soirée de samedi",
    "Hello, tu m'avais donné ton numéro à la boulangerie",
    "Re, t'as eu mon message ?",
)
# Shares of the bots' traffic: long texts (2 parts or more), emoji (UCS-2), byte-identical
# repeats sent in the same second; the rest are short texts. Some bots use foreign numbers.
LONG_SHARE = 0.10
EMOJI_SHARE = 0.12
REPEAT_SHARE = 0.03
FOREIGN_BOT_SHARE = 0.05


@dataclass(frozen=True)
class Sms:
    """One SMS as the network delivers it: its parts, exactly as they reach the SIM."""

    sender: str
    text: str
    pdus: tuple[bytes, ...]
    genuine: bool = False


@dataclass(frozen=True)
class Scenario:
    """The SMS of one replay, in the order they reach the network."""

    name: str
    messages: tuple[Sms, ...]
    bots: int

    @property
    def parts(self) -> int:
        return sum(len(sms.pdus) for sms in self.messages)

    @property
    def genuine_senders(self) -> list[str]:
        return sorted({sms.sender for sms in self.messages if sms.genuine})

    def describe(self) -> dict[str, Any]:
        sizes = Counter(len(sms.pdus) for sms in self.messages)
        return {
            "name": self.name,
            "messages": len(self.messages),
            "parts": self.parts,
            "bots": self.bots,
            "genuine_texters": len(self.genuine_senders),
            "genuine_messages": sum(sms.genuine for sms in self.messages),
            "messages_by_part_count": {str(k): sizes[k] for k in sorted(sizes)},
            "identical_repeats": sum(
                a.pdus == b.pdus for a, b in zip(self.messages, self.messages[1:], strict=False)
            ),
        }


def _numbers(rng: random.Random, count: int, prefixes: tuple[str, ...], digits: int) -> list[str]:
    numbers: set[str] = set()
    while len(numbers) < count:
        tail = "".join(rng.choice("0123456789") for _ in range(digits))
        numbers.add(rng.choice(prefixes) + tail)
    return sorted(numbers)


def _bot_numbers(rng: random.Random, bots: int) -> list[str]:
    foreign = round(bots * FOREIGN_BOT_SHARE)
    # French mobiles: +33 6 (0-2, 4-8) and +33 7 (5-9); Belgian mobiles: +32 47.
    french = _numbers(rng, bots - foreign, tuple(f"+336{d}" for d in "0124578"), 7)
    return french + _numbers(rng, foreign, ("+3247",), 7)


def _bot_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < LONG_SHARE:
        return " ".join(rng.sample(BOT_LONG, rng.randint(2, 4)))
    if roll < LONG_SHARE + EMOJI_SHARE:
        return rng.choice(BOT_EMOJI)
    return rng.choice(BOT_SHORT) + rng.choice(("", "", " ?", " !!", f" {rng.randint(1, 99)}"))


class _Encoder:
    """Turns (sender, text) into DELIVER PDUs on the attack's timeline, as a network would."""

    def __init__(self, start: datetime, total: int) -> None:
        self.start = start
        self.step = ATTACK_SPAN / max(total, 1)
        self.references: Counter[str] = Counter()

    def encode(self, position: int, sender: str, text: str) -> tuple[bytes, ...]:
        smsc_time = (self.start + self.step * position).replace(microsecond=0)
        # Each phone numbers its long messages itself, one reference after the other.
        self.references[sender] += 1
        reference = self.references[sender] % 256
        return tuple(encode_deliver(sender, text, smsc_time, reference=reference))


def flood_scenario(
    bot_messages: int, bots: int, genuine: int, *, seed: int, start: datetime
) -> Scenario:
    """``bot_messages`` SMS from ``bots`` numbers, and ``genuine`` texters sending one or two
    messages each at random moments."""
    rng = random.Random(seed)
    bot_numbers = _bot_numbers(rng, bots)
    texters = _numbers(rng, genuine, tuple(f"+337{d}" for d in "56789"), 7)
    order = [bot_numbers[i % bots] for i in range(bot_messages)]
    rng.shuffle(order)
    entries: list[tuple[str, str, bool]] = []
    for sender in order:
        previous = entries[-1] if entries else None
        if previous is not None and not previous[2] and rng.random() < REPEAT_SHARE:
            entries.append(previous)  # the same bot, the same text, the same second
        else:
            entries.append((sender, _bot_text(rng), False))
    insertions = []
    for texter in texters:
        for position in rng.sample(range(len(entries) + 1), rng.choice((1, 2))):
            insertions.append((position, (texter, rng.choice(GENUINE_TEXTS), True)))
    for position, entry in sorted(insertions, reverse=True):
        entries.insert(position, entry)
    encoder = _Encoder(start, len(entries))
    messages: list[Sms] = []
    for position, (sender, text, is_genuine) in enumerate(entries):
        previous_sms = messages[-1] if messages else None
        if previous_sms is not None and (sender, text) == (previous_sms.sender, previous_sms.text):
            pdus = previous_sms.pdus
            if len(pdus) > 1:  # a phone gives a new long message a new reference
                pdus = encoder.encode(position, sender, text)
        else:
            pdus = encoder.encode(position, sender, text)
        messages.append(Sms(sender, text, pdus, is_genuine))
    return Scenario("flood", tuple(messages), bots)


def peers_scenario(messages: int, parts: int, bots: int, *, seed: int, start: datetime) -> Scenario:
    """``messages`` SMS making exactly ``parts`` parts (single and two-part) from ``bots``."""
    if not messages <= parts <= 2 * messages:
        raise ValueError("parts must be between messages and twice as many")
    rng = random.Random(seed)
    numbers = _bot_numbers(random.Random(seed + 1), bots)
    two_part = [True] * (parts - messages) + [False] * (2 * messages - parts)
    rng.shuffle(two_part)
    # GSM-7 pieces, so two or three of them make a two-part SMS (161 to 306 characters).
    pieces = [piece for piece in BOT_LONG if fits_gsm7(piece)]
    encoder = _Encoder(start, messages)
    built = []
    for position, long in enumerate(two_part):
        sender = numbers[position % bots]
        for _ in range(100):
            if long:
                text = " ".join(rng.sample(pieces, rng.randint(2, 3)))
            else:
                text = rng.choice(BOT_SHORT) + f" {rng.randint(1, 99)}"
            pdus = encoder.encode(position, sender, text)
            if len(pdus) == (2 if long else 1):
                break
        else:
            raise ValueError("the bot texts cannot make SMS of the wanted sizes")
        built.append(Sms(sender, text, pdus))
    return Scenario("peers", tuple(built), bots)


# --- one run -----------------------------------------------------------------------------------


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
    with ModemSimulator(link=workdir / "modem", slots=SIM_SLOTS, baudrate=run.baudrate) as sim:
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


# --- the audit ---------------------------------------------------------------------------------


def max_in_window(times: list[datetime], window: timedelta) -> int:
    """The most events inside any window of ``window`` (a half-open interval (t - window, t])."""
    ordered = sorted(times)
    best = first = 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def audit(observed: Observed) -> dict[str, dict[str, Any]]:
    """Check the invariants on the database and on what the simulator saw; one entry each."""
    scenario, quota = observed.run.scenario, observed.config.quota
    checks: dict[str, dict[str, Any]] = {}
    injected = Counter(sha256(pdu).hexdigest() for sms in scenario.messages for pdu in sms.pdus)
    with reading(observed.db_path) as conn:
        stored = Counter(row[0] for row in conn.execute("SELECT pdu_sha256 FROM inbound_parts"))
        lost, doubled = injected - stored, stored - injected
        checks["parts_stored_exactly_once"] = {
            "ok": not lost
            and not doubled
            and observed.sim_stats["delivered_parts"] == sum(injected.values()),
            "delivered": observed.sim_stats["delivered_parts"],
            "stored": sum(stored.values()),
            "lost": sum(lost.values()),
            "stored_twice": sum(doubled.values()),
        }
        sent_sms = Counter((sms.sender, sms.text) for sms in scenario.messages)
        kept = Counter(
            (row[0], row[1])
            for row in conn.execute("SELECT sender_raw, text FROM messages WHERE kind = 'sms'")
        )
        other = scalar(conn, "SELECT count(*) FROM messages WHERE kind != 'sms'")
        checks["messages_stored_exactly_once"] = {
            "ok": kept == sent_sms and other == 0,
            "sent": sum(sent_sms.values()),
            "stored": sum(kept.values()),
            "missing": sum((sent_sms - kept).values()),
            "extra": sum((kept - sent_sms).values()),
            "incomplete_or_undecodable": other,
        }
        messages = scalar(conn, "SELECT count(*) FROM messages")
        decided = scalar(conn, "SELECT count(*) FROM decisions")
        undecided = scalar(conn, "SELECT count(*) FROM undecided")
        orphans = scalar(
            conn,
            "SELECT count(*) FROM decisions d LEFT JOIN messages m ON m.id = d.message_id"
            " WHERE m.id IS NULL",
        )
        checks["messages_decided_exactly_once"] = {
            "ok": decided == messages and undecided == 0 and orphans == 0,
            "messages": messages,
            "decisions": decided,
            "undecided": undecided,
        }
        outbox = conn.execute(
            "SELECT kind, recipient, text, state, created_at, message_id FROM outbox"
        ).fetchall()
    checks["no_reply_sent_twice"] = _check_sent_once(outbox, observed.sent_messages)
    checks["quotas_and_caps_respected"] = _check_caps(outbox, observed, quota)
    return checks


def _check_sent_once(outbox: list[tuple[Any, ...]], sent: list[tuple[str, str]]) -> dict[str, Any]:
    """Each recipient received at most as many SMS as its sent and unknown rows, at least as
    many as its sent rows, and only texts from its rows.

    A kill between two parts of a long SMS leaves the row ``unknown`` and the network with part
    of the text: counted as one SMS, whose text is a piece of the row's.
    """
    received = Counter(number for number, _ in sent)
    may_have_left = Counter(row[1] for row in outbox if row[3] in ("sent", "unknown"))
    surely_left = Counter(row[1] for row in outbox if row[3] == "sent")
    texts: dict[str, list[str]] = {}
    for row in outbox:
        texts.setdefault(row[1], []).append(row[2])
    resent = sorted(number for number, n in received.items() if n > may_have_left[number])
    missing = sorted(number for number, n in surely_left.items() if received[number] < n)
    foreign = [
        number
        for number, text in sent
        if not any(text in candidate for candidate in texts.get(number, []))
    ]
    partial = sum(1 for number, text in sent if text not in texts.get(number, []))
    replies_per_message = Counter(row[5] for row in outbox if row[0] == "reply")
    return {
        "ok": not resent
        and not missing
        and not foreign
        and max(replies_per_message.values(), default=0) <= 1,
        "sms_received_by_the_network": sum(received.values()),
        "partly_received": partial,
        "rows_sent": sum(surely_left.values()),
        "rows_unknown": sum(1 for row in outbox if row[3] == "unknown"),
        "received_more_than_the_outbox_allows": len(resent),
        "sent_rows_never_received": len(missing),
        "texts_not_from_the_outbox": len(foreign),
    }


def _check_caps(
    outbox: list[tuple[Any, ...]], observed: Observed, quota: QuotaConfig
) -> dict[str, Any]:
    created = [parse_time(row[4]) for row in outbox]
    by_recipient: dict[str, list[datetime]] = {}
    for row in outbox:
        if row[0] == "reply":
            by_recipient.setdefault(row[1], []).append(parse_time(row[4]))
    per_number = max(
        (max_in_window(times, quota.number_window) for times in by_recipient.values()), default=0
    )
    # What actually left: one time per SMS (its first part) as the simulator saw it.
    left = [
        observed.started_utc + timedelta(seconds=at - observed.started)
        for at, part in observed.sent_parts
        if part.concat is None or part.concat.sequence == 1
    ]
    recipients = {row[1] for row in outbox}
    figures = {
        "outbox_max_per_number_window": (per_number, quota.replies_per_number),
        "outbox_max_per_hour": (max_in_window(created, timedelta(hours=1)), quota.replies_per_hour),
        "outbox_max_per_day": (max_in_window(created, timedelta(days=1)), quota.replies_per_day),
        "outbox_total_this_month": (len(created), quota.replies_per_month),
        "distinct_recipients": (len(recipients), quota.recipients_per_month),
        "network_max_per_hour": (max_in_window(left, timedelta(hours=1)), quota.replies_per_hour),
        "network_max_per_day": (max_in_window(left, timedelta(days=1)), quota.replies_per_day),
    }
    breaches = [name for name, (value, limit) in figures.items() if value > limit]
    result: dict[str, Any] = {"ok": not breaches, "breaches": breaches}
    result.update({name: {"value": v, "limit": lim} for name, (v, lim) in figures.items()})
    return result
