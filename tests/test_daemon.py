"""End to end: `anti-relous run` as a subprocess, the simulated dongle on a pty, a temp database."""

import itertools
import json
import os
import re
import signal
import stat
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from daemon_helpers import eventually

from anti_relous.config import DEFAULT_REPLY

pytestmark = pytest.mark.slow

BOT_TEXT = "t'es charmante, réponds"


@pytest.fixture
def daemon(tmp_path, sim, run_daemon):
    running = run_daemon(sim)
    yield running
    running.stop()


def stored_parts(daemon):
    return daemon.count("SELECT count(*) FROM inbound_parts")


def test_a_texter_gets_the_reply_and_their_second_message_gets_none(daemon, sim):
    sim.deliver("+33612345678", "salut")
    expected = [("+33612345678", DEFAULT_REPLY)]
    assert sim.wait_until(lambda s: s.sent_messages() == expected, 30), daemon.log
    sim.deliver("0612345678", "réponds !")
    assert eventually(lambda: daemon.count("SELECT count(*) FROM decisions") == 2), daemon.log
    time.sleep(2)  # two send intervals: nothing more may leave
    assert sim.sent_messages() == expected
    reasons = daemon.query("SELECT reason FROM decisions ORDER BY message_id")
    assert reasons == [("replied",), ("number_quota",)]


def test_french_and_emoji_reply_arrives_intact_as_linked_parts(tmp_path, sim, run_daemon):
    reply = "Ça suffit ! Être relou, c'est du harcèlement 😡. " * 4
    line = f'reply = "{reply}"'
    daemon = run_daemon(sim, line=line)
    try:
        sim.deliver("+33612345678", "salut")
        expected = [("+33612345678", reply)]
        assert sim.wait_until(lambda s: s.sent_messages() == expected, 30), sim.sent_messages()
        parts = sim.sent
        assert len(parts) > 1 and {p.coding for p in parts} == {"ucs2"}
        assert [p.concat.sequence for p in parts] == list(range(1, len(parts) + 1))
        assert len({p.concat.reference for p in parts}) == 1
    finally:
        daemon.stop()


def test_a_flood_is_stored_exactly_once_with_one_alert_and_no_bot_answered(
    tmp_path, sim, run_daemon
):
    daemon = run_daemon(
        sim,
        flood='threshold = 100\nwindow = "10m"',
        alerts='numbers = ["+33600000002"]',
    )
    try:
        senders = [f"+336123{n:05d}" for n in range(50)]
        # All at once, as a bot gateway sends: one by one from the test, the flood's first SMS
        # could reach a daemon on a loaded box alone, and look like a person's (README).
        sim.deliver_many((sender, f"{BOT_TEXT} {r}") for r in range(10) for sender in senders)
        # 470 parts wait in the network behind a 30-slot SIM, and each refill waits the 2 s a
        # network takes to redeliver: 32 s of waiting before any work, hence the margin.
        assert eventually(lambda: stored_parts(daemon) == 500, 150), daemon.log
        # Every message has its decision (a new number's first SMS maybe provisionally: held).
        assert eventually(lambda: daemon.count("SELECT count(*) FROM undecided") == 0)
        assert daemon.count("SELECT count(*) FROM decisions") == 500
        # The last parts leave the SIM just after their commit: waited for, not sampled.
        assert sim.wait_until(lambda s: (s.stats().stored, s.stats().queued) == (0, 0), 30)
        assert sim.stats().delivered_parts == 500
        assert daemon.count("SELECT count(*) FROM messages") == 500
        assert daemon.count("SELECT count(*) FROM outbox WHERE kind = 'reply'") == 0
        assert daemon.query("SELECT recipient FROM outbox WHERE kind = 'alert'") == [
            ("+33600000002",)
        ]
        assert daemon.count("SELECT count(*) FROM events WHERE kind = 'attack_start'") == 1
        reasons = dict(daemon.query("SELECT reason, count(*) FROM decisions GROUP BY reason"))
        # One text from 50 numbers of one block: a campaign, found before anyone is answered.
        assert reasons.get("campaign", 0) > 0
        assert set(reasons) <= {"campaign", "number_block", "held", "abuse_block", "blocked"}
    finally:
        daemon.stop()


def test_unplugging_and_replugging_the_dongle_loses_nothing(daemon, sim):
    for n in range(20):
        sim.deliver(f"+336123{n:05d}", "avant")
    assert eventually(lambda: stored_parts(daemon) == 20), daemon.log
    sim.unplug()
    for n in range(20):
        sim.deliver(f"+336124{n:05d}", "pendant")  # waits in the network while unplugged
    time.sleep(3)
    sim.replug()
    assert eventually(lambda: stored_parts(daemon) == 40, 60), daemon.log
    assert "modem error" in daemon.log or "lost the modem" in daemon.log
    assert daemon.count("SELECT count(DISTINCT pdu_sha256) FROM inbound_parts") == 40


def test_sd_notify_says_ready_status_watchdog_and_stopping(tmp_path, sim, notify, run_daemon):
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    daemon = run_daemon(sim, env=env)
    assert eventually(lambda: notify.lines("READY=1"), 20), daemon.log
    assert eventually(lambda: len(notify.lines("WATCHDOG=1")) >= 3, 10)
    assert notify.lines("STATUS=")
    assert daemon.stop() == 0
    assert eventually(lambda: notify.lines("STOPPING=1"), 5)
    (ready_at, _), (stopping_at, _) = notify.lines("READY=1")[0], notify.lines("STOPPING=1")[-1]
    statuses = [line for at, line in notify.lines("STATUS=") if ready_at <= at <= stopping_at]
    assert any("polling" in line for line in statuses), statuses


def test_ready_waits_for_the_modem_and_start_up_time_is_extended_meanwhile(
    tmp_path, sim, notify, run_daemon
):
    sim.unplug()
    daemon = run_daemon(sim, env={"NOTIFY_SOCKET": str(notify.path)}, ready=False)
    try:
        assert eventually(lambda: notify.lines("EXTEND_TIMEOUT_USEC="), 10), daemon.log
        time.sleep(2)
        assert notify.lines("READY=1") == []
        assert daemon.process.poll() is None
        sim.replug()
        assert eventually(lambda: notify.lines("READY=1"), 30), daemon.log
    finally:
        daemon.stop()


def test_a_hung_modem_stops_the_watchdog_pings_until_the_worker_recovers(
    tmp_path, sim, notify, run_daemon
):
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    daemon = run_daemon(sim, env=env)
    try:
        assert eventually(lambda: len(notify.lines("WATCHDOG=1")) >= 4, 20), daemon.log
        hung_at = time.monotonic()
        sim.hang()
        time.sleep(8)
        sim.unhang()
        sim.deliver("+33612345678", "après")
        assert eventually(lambda: stored_parts(daemon) == 1, 40), daemon.log
        recovered_at = time.monotonic()
        assert eventually(
            lambda: any(at > recovered_at for at, _ in notify.lines("WATCHDOG=1")), 10
        ), "pings resume once the worker recovers"
        pings = [at for at, _ in notify.lines("WATCHDOG=1")]
        during = [b - a for a, b in itertools.pairwise(pings) if hung_at < b < recovered_at]
        # A command blocked on the hung modem (3 s timeout) is a stuck worker: no pings.
        assert max(during) >= 2.5
    finally:
        daemon.stop()


def test_sigterm_during_a_flood_exits_within_10_s_and_a_restart_loses_nothing(
    tmp_path, sim, run_daemon
):
    daemon = run_daemon(sim)
    senders = [f"+336125{n:05d}" for n in range(60)]
    for round_ in range(5):
        for sender in senders:
            sim.deliver(sender, f"{BOT_TEXT} {round_}")
    assert eventually(lambda: stored_parts(daemon) > 20, 30), daemon.log
    stopping = time.monotonic()
    assert daemon.stop(timeout=15) == 0
    assert time.monotonic() - stopping < 10
    restarted = run_daemon(sim)
    try:
        assert eventually(lambda: stored_parts(restarted) == 300, 60), restarted.log
        assert eventually(lambda: restarted.count("SELECT count(*) FROM undecided") == 0)
        assert sim.stats().delivered_parts == 300
        sent_to = Counter(number for number, _ in sim.sent_messages())
        assert all(count == 1 for count in sent_to.values())
        replies = restarted.query(
            "SELECT recipient, count(*) FROM outbox WHERE kind = 'reply' GROUP BY recipient"
        )
        assert all(count == 1 for _, count in replies)
    finally:
        restarted.stop()


def test_sighup_applies_a_new_reply_text(tmp_path, sim, run_daemon):
    daemon = run_daemon(sim)
    try:
        text = daemon.config_path.read_text() + '[line]\nreply = "Nouveau texte."\n'
        daemon.config_path.write_text(text)
        daemon.signal(signal.SIGHUP)
        assert eventually(lambda: "configuration reloaded" in daemon.log, 10), daemon.log
        sim.deliver("+33612345678", "salut")
        expected = [("+33612345678", "Nouveau texte.")]
        assert sim.wait_until(lambda s: s.sent_messages() == expected, 30), daemon.log
    finally:
        daemon.stop()


def test_sighup_with_a_broken_config_keeps_the_old_one(tmp_path, sim, run_daemon):
    daemon = run_daemon(sim)
    try:
        daemon.config_path.write_text(daemon.config_path.read_text() + "[quota]\nnope = 1\n")
        daemon.signal(signal.SIGHUP)
        assert eventually(lambda: "configuration not reloaded" in daemon.log, 10), daemon.log
        assert daemon.process.poll() is None
        sim.deliver("+33612345678", "salut")
        expected = [("+33612345678", DEFAULT_REPLY)]
        assert sim.wait_until(lambda s: s.sent_messages() == expected, 30), daemon.log
    finally:
        daemon.stop()


def test_a_second_daemon_on_the_same_database_refuses_to_start_and_leaves_the_first_alone(
    daemon, sim, run_daemon
):
    second = run_daemon(sim, ready=False)
    assert second.process.wait(30) == 1, daemon.log
    assert f"another anti-relous daemon (pid {daemon.pid}) already serves" in daemon.log
    (published,) = daemon.query("SELECT value FROM daemon_state WHERE key = 'daemon'")
    assert json.loads(published[0])["pid"] == daemon.pid
    assert json.loads(published[0])["state"] == "running"
    sim.deliver("+33612345678", "salut")
    assert sim.wait_until(lambda s: len(s.sent_messages()) == 1, 30), daemon.log


def test_the_lock_dies_with_the_daemon_so_a_restart_after_kill_9_starts(tmp_path, sim, run_daemon):
    first = run_daemon(sim)
    first.kill()
    second = run_daemon(sim)
    try:
        assert "another anti-relous daemon" not in second.log
    finally:
        second.stop()


def test_a_missing_modem_is_retried_when_the_backoff_says_not_at_the_next_poll(
    tmp_path, sim, run_daemon
):
    sim.unplug()
    slow = 'poll_interval = "30s"\nsend_interval = "30s"\nhealth_interval = "30s"'
    daemon = run_daemon(sim, ready=False, schedule=slow)
    try:
        # Backoff 1 s, then 2 s: attempts at about 0, 1 and 3 s, whatever the poll interval.
        assert eventually(lambda: daemon.log.count("modem unavailable") >= 3, 10), daemon.log
        attempt = r"WARNING anti_relous.link: modem unavailable .*; next attempt in (\d+) s"
        waits = re.findall(attempt, daemon.log)
        assert waits[:3] == ["1", "2", "4"], daemon.log
    finally:
        daemon.stop()


def test_the_modem_coming_up_is_logged_once(daemon):
    # "ready:" (what wait_ready waits for) can be written a moment before "modem ready".
    assert eventually(lambda: "modem ready" in daemon.log, 10), daemon.log
    assert daemon.log.count("modem ready") == 1, daemon.log


OPERATOR_UID = 4343
SERVICE_GID = 4242
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture
def group_state_dir():
    """A state directory like systemd's StateDirectory=anti-relous (StateDirectoryMode=2770),
    outside pytest's 0700 tmp tree so that another user can reach it; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="anti-relous-state-", dir="/tmp") as name:
        yield Path(name)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
@pytest.mark.skipif(not Path(SYSTEM_PYTHON).exists(), reason="needs a system-wide python3")
def test_database_is_0660_and_another_user_of_the_group_can_steer_the_line(
    sim, run_daemon, group_state_dir
):
    state = group_state_dir
    os.chown(state, 0, SERVICE_GID)
    os.chmod(state, 0o2770)
    old_umask = os.umask(0o007)  # the unit's UMask=
    try:
        daemon = run_daemon(sim, directory=state)
    finally:
        os.umask(old_umask)
    try:
        assert eventually(lambda: (state / "line.db-wal").exists(), 20), daemon.log
        for name in ("line.db", "line.db-wal", "line.db-shm"):
            info = (state / name).stat()
            assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o660, SERVICE_GID), name
        # The venv lives under /root (0700) here, so the operator's process is the system Python
        # writing through SQLite directly: what matters is the files' modes and group.
        operator = subprocess.run(
            [
                SYSTEM_PYTHON,
                "-c",
                "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None);"
                " db.execute('PRAGMA busy_timeout = 5000'); db.execute('BEGIN IMMEDIATE');"
                " db.execute(\"UPDATE line_state SET paused = 1, pause_reason = 'operator'\");"
                " db.execute('COMMIT'); print('paused')",
                str(state / "line.db"),
            ],
            user=OPERATOR_UID,
            group=SERVICE_GID,
            extra_groups=[SERVICE_GID],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert operator.stdout.strip() == "paused", operator.stderr
        assert daemon.count("SELECT paused FROM line_state") == 1
    finally:
        daemon.stop()
