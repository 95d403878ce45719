"""Faults the line must survive: line noise, refused sends, a tiny SIM, a full disk, a locked DB.

Send failures drive the real LineService in this process, over the simulator's pty with the real
AT driver and a real database, with clocks the test moves (no 30 s waits). The others run
`anti-relous run` as a subprocess, as systemd would.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import subprocess
import threading
import time
import tty
from datetime import UTC, datetime
from pathlib import Path

import pytest
from daemon_helpers import Daemon, eventually, write_config, write_lock_held

from anti_relous.config import DEFAULT_REPLY, load_config
from anti_relous.link import ModemLink
from anti_relous.modem import MessageStatus, StoredMessage, commands, open_modem, pdu
from anti_relous.modem.at import AtParser, Discarded, Prompt, Response
from anti_relous.modem.at_modem import AtModem
from anti_relous.modem.errors import CmsError, SendFailed
from anti_relous.service import MAX_SEND_ATTEMPTS, LineService
from anti_relous.simulator.device import ModemSimulator
from anti_relous.sms import PartKind
from anti_relous.store import Store

TEXTER = "+33612345678"
#: Three GSM-7 parts: a reply long enough for a part to fail after another has left.
LONG_REPLY = "Ce numéro ne répond pas aux relous. " * 11


# ---- helpers -------------------------------------------------------------------------------------


def stored_parts(daemon: Daemon) -> int:
    return daemon.count("SELECT count(*) FROM inbound_parts")


def assert_stored_exactly_once(daemon: Daemon, sim: ModemSimulator, texts: list[str]) -> None:
    """Every text delivered is one message, and the SIM and the network queue are empty."""
    stored = [text for (text,) in daemon.query("SELECT text FROM messages ORDER BY id")]
    assert sorted(stored) == sorted(texts)
    # Committed comes before deleted: the last parts can still be on the SIM for a moment after
    # their commit, so the empty SIM is waited for, not sampled.
    assert sim.wait_until(lambda s: (s.stats().stored, s.stats().queued) == (0, 0), 30), sim.stats()
    stats = sim.stats()
    assert stats.delivered_parts == stored_parts(daemon)


# ---- garbage on the serial line ----------------------------------------------------------------


@pytest.mark.parametrize("junk", [b"\xff\xfe\x00", b"\x00", b"\x1b\x80"])
def test_junk_glued_before_the_send_prompt_does_not_hide_it(junk):
    parser = AtParser()
    parser.begin("AT+CMGS=19", ("+CMGS",), prompt=True, body="0011")
    stream = b"\r\n" + junk + b"> "
    whole = parser.feed(stream)
    parser.begin("AT+CMGS=19", ("+CMGS",), prompt=True, body="0011")
    bytewise = [event for i in range(len(stream)) for event in parser.feed(stream[i : i + 1])]
    assert whole == bytewise == [Discarded("non-text bytes before the prompt", junk), Prompt()]


class NoisyLine:
    """A pty between the daemon and the dongle that mixes junk into what the dongle says.

    Junk goes only where a line starts (after a line feed), so it never cuts a line in two:
    before a response, between its lines (between a +CMGL header and its PDU too), between
    responses while idle. Either a junk line of its own, or bytes glued before the next line.
    """

    JUNK = (
        b"\xff\xfe\x00\x80",  # glued: bytes no line starts with
        b"\x00\x00\x00",
        b"q\xe9\xff#garbage%\x80\r\n",  # a line of junk
        b"\x1b[31m\x07\xff\xfe\r\n",
        b"+\xff\x00CMTI junk?\r\n",
    )

    def __init__(self, upstream: Path, path: Path, *, seed: int, rate: float, budget: int):
        self.path = path
        self.inserted = 0
        self._rate = rate
        self._budget = budget
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        path.symlink_to(os.ttyname(self._slave))
        self._upstream = os.open(upstream, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._upstream)
        self._at_line_start = True
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def _junk(self) -> bytes:
        if self.inserted >= self._budget or self._random.random() >= self._rate:
            return b""
        self.inserted += 1
        return self._random.choice(self.JUNK)

    def _noisy(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            if self._at_line_start:
                out += self._junk()
            out.append(byte)
            self._at_line_start = byte == 0x0A
        return bytes(out)

    def _relay(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master, self._upstream], [], [], 0.1)
            with contextlib.suppress(OSError):  # the host may be between close and reopen
                if self._master in ready:
                    os.write(self._upstream, os.read(self._master, 4096))
                if self._upstream in ready:
                    os.write(self._master, self._noisy(os.read(self._upstream, 4096)))
                elif not ready and self._at_line_start:
                    os.write(self._master, b"\r\n" + self._junk())  # noise on an idle line

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for fd in (self._master, self._slave, self._upstream):
            os.close(fd)


@pytest.mark.slow
def test_garbage_on_the_serial_line_loses_nothing_and_logs_no_traceback(tmp_path, sim, run_daemon):
    noisy = NoisyLine(sim.path, tmp_path / "noisy", seed=6, rate=0.05, budget=40)
    try:
        daemon = run_daemon(sim, modem=f'port = "{noisy.path}"\ncommand_timeout = "3s"')
        texts = [f"message {n} " + ("long " * 40 if n % 7 == 0 else "") for n in range(30)]
        for n, text in enumerate(texts):
            sim.deliver(f"+336130000{n % 3:02d}", text)
        assert eventually(lambda: stored_parts(daemon) == sim.stats().delivered_parts, 60)
        sim.deliver(TEXTER, "après le bruit")
        assert sim.wait_until(lambda s: TEXTER in dict(s.sent_messages()), 60), daemon.log
        assert daemon.process.poll() is None
        # No reply became doubtful ("unknown": never resent) because of the noise.
        assert eventually(
            lambda: daemon.count("SELECT count(*) FROM outbox WHERE state = 'sent'") == 4
        )
        assert_stored_exactly_once(daemon, sim, [*texts, "après le bruit"])
        assert "Traceback" not in daemon.log
        assert noisy.inserted >= 10  # the noise did happen (how much depends on the timing)
        daemon.stop()
    finally:
        noisy.close()


# ---- +CMS ERROR on sends ---------------------------------------------------------------------


@pytest.fixture
def make_line(tmp_path, sim, clock, ticker):
    """A LineService in this process on ``sim``; ``reply`` sets the reply text."""
    opened = []

    def make(reply: str = DEFAULT_REPLY) -> LineService:
        config = load_config(write_config(tmp_path, sim, line=f'reply = "{reply}"'))
        store = Store.open(config.storage.database)
        link = ModemLink(lambda: open_modem(config.modem), monotonic=ticker)
        line = LineService(store, link, config, clock=clock, monotonic=ticker)
        opened.append(line)
        line.start()
        return line

    yield make
    for line in opened:
        line.link.close()
        line.store.close()


def queue_a_reply(line: LineService, sim: ModemSimulator) -> int:
    """A texter writes; one poll stores and decides it; returns the queued reply's id."""
    sim.deliver(TEXTER, "salut")
    assert line.poll_once().new_messages == 1
    (item,) = line.store.outbox.items(state="queued")
    return item.id


def outbox_row(line: LineService, item_id: int):
    (item,) = [i for i in line.store.outbox.items() if i.id == item_id]
    return item


def test_a_reply_queued_before_its_number_was_blocked_never_leaves(make_line, sim, clock):
    line = make_line()
    reply_id = queue_a_reply(line, sim)
    line.store.line.block(clock(), TEXTER, is_prefix=False, until=None, reason="spoofed victim")
    assert line.send_next() is None
    assert outbox_row(line, reply_id).state == "failed"
    assert sim.sent == []


def test_replies_queued_before_a_pause_wait_for_the_resume(make_line, sim, clock):
    line = make_line()
    reply_id = queue_a_reply(line, sim)
    line.store.line.pause(clock(), None, "media coverage")
    assert line.send_next() is None
    assert sim.sent == []
    line.store.line.resume(clock())
    assert line.send_next().id == reply_id
    assert sim.sent_messages() == [(TEXTER, DEFAULT_REPLY)]


def test_transient_cms_error_is_retried_after_30_then_60_s_and_then_sent(make_line, sim, clock):
    line = make_line()
    reply_id = queue_a_reply(line, sim)
    sim.fail_next_sends(2, code=512)  # "modem busy"
    line.send_next()
    clock.advance(seconds=29)
    assert line.send_next() is None, "not due before 30 s"
    clock.advance(seconds=1)
    line.send_next()
    clock.advance(seconds=59)
    assert line.send_next() is None, "then not due before 60 s"
    clock.advance(seconds=1)
    line.send_next()
    row = outbox_row(line, reply_id)
    assert (row.state, row.attempts) == ("sent", 3)
    assert sim.sent_messages() == [(TEXTER, DEFAULT_REPLY)]


def test_persistent_cms_error_ends_failed_with_its_code_after_the_retry_limit(
    make_line, sim, clock
):
    line = make_line()
    reply_id = queue_a_reply(line, sim)
    sim.fail_next_sends(100, code=38)  # "network out of order", every time
    for _ in range(MAX_SEND_ATTEMPTS + 3):
        line.send_next()
        clock.advance(hours=1)
    row = outbox_row(line, reply_id)
    assert (row.state, row.attempts) == ("failed", MAX_SEND_ATTEMPTS)
    assert "+CMS ERROR 38" in row.last_error
    assert sim.sent == []


def test_long_reply_whose_second_part_fails_ends_unknown_and_is_never_resent(
    make_line, sim, clock, ticker
):
    line = make_line(LONG_REPLY)
    reply_id = queue_a_reply(line, sim)
    sim.fail_next_sends(1, code=512, after=1)  # a transient code: only at-most-once stops a retry
    line.send_next()
    for _ in range(5):
        clock.advance(hours=1)
        ticker.now += 3600  # past the link's backoff: the port reopens
        line.send_next()
    assert outbox_row(line, reply_id).state == "unknown"
    assert len(sim.sent) == 1, "the first part left once, and nothing was sent again"


def test_long_reply_whose_first_part_is_refused_is_retried_whole(make_line, sim, clock):
    line = make_line(LONG_REPLY)
    reply_id = queue_a_reply(line, sim)
    sim.fail_next_sends(1, code=512)
    line.send_next()
    clock.advance(seconds=30)
    line.send_next()
    assert outbox_row(line, reply_id).state == "sent"
    assert sim.sent_messages() == [(TEXTER, LONG_REPLY)]
    assert len(sim.sent) == 3


def test_driver_reports_the_parts_that_left_before_a_refused_one(sim):
    driver = AtModem(load_config(write_config(sim.path.parent, sim)).modem)
    driver.open()
    try:
        sim.fail_next_sends(1, code=500, after=2)
        with pytest.raises(SendFailed) as failed:
            driver.send(TEXTER, LONG_REPLY)
    finally:
        driver.close()
    assert (failed.value.parts_sent, failed.value.parts) == (2, 3)
    assert isinstance(failed.value.cause, CmsError) and failed.value.cause.code == 500
    assert len(sim.sent) == 2


# ---- malformed PDUs on the SIM -----------------------------------------------------------------


def malformed_pdus() -> dict[str, bytes]:
    """PDUs no phone would send, as a bot, a broken SMSC or a corrupt SIM slot may leave them."""
    now = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    (threat,) = pdu.encode_deliver("+33698765432", "je sais où tu habites, réponds", now)
    submit = bytes.fromhex(pdu.encode_submit("+33698765432", "à l'envers")[0].hex)
    # An impossible concatenation header is no longer one of these: it is read as a single SMS
    # with its defect recorded (issue 13; tests/test_pdu.py).
    return {
        "truncated": threat[:-10],
        "random bytes": random.Random(6).randbytes(60),
        "an SMS-SUBMIT": submit,
        "empty slot": b"",
    }


def test_a_slot_listed_with_length_0_and_no_pdu_does_not_fail_the_whole_listing():
    answer = [Response("+CMGL: 4,1,,0"), Response("+CMGL: 5,0,,2", pdu="000A0B")]
    assert commands.parse_stored_list(answer, "SM") == [
        StoredMessage("SM", 4, MessageStatus.REC_READ, b""),
        StoredMessage("SM", 5, MessageStatus.REC_UNREAD, b"\x00\x0a\x0b"),
    ]


def test_a_slot_the_modem_always_mangles_is_read_slot_by_slot_and_marked_unreadable(sim):
    for text in ("un", "deux", "trois"):
        sim.deliver(TEXTER, text)
    sim.wait_until(lambda s: s.stats().stored == 3, 5)
    (_, _, mangled), *_ = [slot for slot in sim.stored() if slot[0] == 1]
    sim.garble(mangled)
    modem = AtModem(load_config(write_config(sim.path.parent, sim)).modem)
    modem.open()
    try:
        listing = modem.list_stored().messages
    finally:
        modem.close()
    assert [(m.index, m.unreadable is not None) for m in listing] == [
        (0, False),
        (1, True),
        (2, False),
    ]
    assert listing[1].pdu == mangled.hex().upper()[:-1].encode()
    assert [
        pdu.decode_stored("SM", m.index, m.pdu).decoded.text for m in (listing[0], listing[2])
    ] == [
        "un",
        "trois",
    ]


def test_an_unreadable_slot_is_quarantined_deleted_and_the_sim_drains(make_line, sim):
    line = make_line()
    sim.deliver(TEXTER, "lisible")
    sim.deliver("+33698765432", "illisible")
    sim.wait_until(lambda s: s.stats().stored == 2, 5)
    sim.garble(sim.stored()[1][2])
    result = line.poll_once()
    assert (result.listed, result.new_messages, result.deleted) == (2, 2, 2)
    assert sim.stats().stored == 0
    rows = line.store.db.conn.execute(
        "SELECT m.kind, p.error FROM messages m JOIN inbound_parts p ON p.message_id = m.id"
        " ORDER BY m.id"
    ).fetchall()
    assert rows[0] == ("sms", None)
    assert rows[1][0] == "undecodable" and rows[1][1].startswith("unreadable on the modem")


@pytest.mark.slow
def test_malformed_pdus_are_quarantined_and_the_next_sms_is_answered(sim, run_daemon):
    pdus = malformed_pdus()
    assert {pdu.decode_stored("SM", 0, raw).kind for raw in pdus.values()} == {PartKind.UNDECODABLE}
    daemon = run_daemon(sim)
    for raw in pdus.values():
        sim.deliver_pdu(raw)
    sim.deliver(TEXTER, "un vrai message")
    assert sim.wait_until(lambda s: s.sent_messages() == [(TEXTER, DEFAULT_REPLY)], 30), daemon.log
    quarantined = daemon.query(
        "SELECT p.pdu, d.reason FROM messages m JOIN inbound_parts p ON p.message_id = m.id"
        " JOIN decisions d ON d.message_id = m.id WHERE m.kind = 'undecodable' ORDER BY m.id"
    )
    assert quarantined == [(raw, "undecodable") for raw in pdus.values()]
    assert (sim.stats().stored, sim.stats().deleted_parts) == (0, len(pdus) + 1)
    assert "Traceback" not in daemon.log


# ---- a tiny SIM, a full disk, a locked database, a bad reload ------------------------------------


@pytest.mark.slow
def test_a_five_slot_sim_under_a_burst_of_100_sms_stores_each_exactly_once(tmp_path, run_daemon):
    # The network redelivers as soon as the SIM has room: 20 refills would otherwise wait 2 s
    # each (what that costs is benchmarks/flood.py's business).
    with ModemSimulator(link=tmp_path / "small-sim", slots=5, redelivery_s=0) as small:
        daemon = run_daemon(small)
        texts = [f"rafale {n}" for n in range(100)]
        for n, text in enumerate(texts):
            small.deliver(f"+336131000{n % 10:02d}", text)
        assert eventually(lambda: stored_parts(daemon) == 100, 60), small.stats()
        stats = small.stats()
        assert (stats.high_water, stats.delivered_parts) == (5, 100)
        assert stats.full_events > 0, "the network had to wait for free slots"
        assert_stored_exactly_once(daemon, small, texts)


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs: a disk the test can fill (needs root, as CI runs)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount_point)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def fill(directory: Path) -> Path:
    """Write a file until the disk is full; delete it to give the space back."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):  # ENOSPC
        while True:
            handle.write(b"\0" * 4096)
    return filler


@pytest.mark.slow
def test_a_full_disk_stops_deletes_from_the_sim_until_space_returns(
    tmp_path, small_disk, notify, run_daemon
):
    with ModemSimulator(link=tmp_path / "sim10", slots=10) as sim:
        database = f'database = "{small_disk / "line.db"}"'
        daemon = run_daemon(sim, env={"NOTIFY_SOCKET": str(notify.path)}, storage=database)
        sim.deliver(TEXTER, "avant")
        assert eventually(lambda: stored_parts(daemon) == 1), daemon.log
        filler = fill(small_disk)
        texts = [f"disque plein {n}" for n in range(25)]
        for n, text in enumerate(texts):
            sim.deliver(f"+336132000{n:02d}", text)
        assert eventually(lambda: "database error, not deleting anything" in daemon.log, 30)
        assert eventually(lambda: notify.lines("STATUS=database error, SIM buffering"), 10)
        time.sleep(3)  # more than a poll interval: still nothing deleted
        stats = sim.stats()
        assert (stats.stored, stats.queued, stats.deleted_parts) == (10, 15, 1)
        assert stored_parts(daemon) == 1
        filler.unlink()
        assert eventually(lambda: stored_parts(daemon) == 26, 60), daemon.log
        assert_stored_exactly_once(daemon, sim, ["avant", *texts])
        assert "database usable again" in daemon.log
        assert daemon.stop() == 0


@pytest.mark.slow
def test_a_long_transaction_of_another_process_delays_ingest_but_loses_nothing(sim, run_daemon):
    daemon = run_daemon(sim)
    # An operator's sqlite3 shell (or a slow CLI command) in the middle of a write transaction,
    # holding the lock longer than the daemon's busy timeout.
    with write_lock_held(daemon.db_path):
        texts = [f"pendant le verrou {n}" for n in range(10)]
        for n, text in enumerate(texts):
            sim.deliver(f"+336133000{n:02d}", text)
        assert eventually(lambda: "is locked by another process" in daemon.log, 30), daemon.log
        assert (sim.stats().stored, sim.stats().deleted_parts) == (10, 0)
        assert stored_parts(daemon) == 0
    assert eventually(lambda: stored_parts(daemon) == 10, 30), daemon.log
    assert_stored_exactly_once(daemon, sim, texts)


@pytest.mark.slow
def test_sighup_with_a_bad_value_keeps_the_old_config_and_names_the_key(sim, run_daemon):
    daemon = run_daemon(sim)
    bad = '[line]\nreply = "Nouveau texte."\n[quota]\nreplies_per_number = -1\n'
    daemon.config_path.write_text(daemon.config_path.read_text() + bad)
    daemon.signal(signal.SIGHUP)
    assert eventually(lambda: "configuration not reloaded" in daemon.log, 10), daemon.log
    (line,) = [line for line in daemon.log.splitlines() if "configuration not reloaded" in line]
    assert "[quota] replies_per_number" in line and "-1" in line
    sim.deliver(TEXTER, "salut")
    assert sim.wait_until(lambda s: s.sent_messages() == [(TEXTER, DEFAULT_REPLY)], 30)
    assert daemon.process.poll() is None
