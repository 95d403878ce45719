"""Running the line from a phone, end to end: `anti-relous admin enroll`, then the real daemon on
the simulated dongle obeys admin SMS, alerts the operators, and writes the metrics textfile.

Codes come from the secret `enroll` printed, as the admin's authenticator app would make them.
A code works once and only later codes work after it, so each test walks forward through the
steps of a wide ``code_window`` (oldest first) instead of waiting 30 s between two commands.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import require_tool
from daemon_helpers import CLI_ARGV, Daemon, eventually, write_config, write_lock_held
from prometheus_client.parser import text_string_to_metric_families

from anti_relous.coding import text_info
from anti_relous.config import DEFAULT_REPLY
from anti_relous.remote.codes import code_at
from anti_relous.simulator.device import ModemSimulator

pytestmark = pytest.mark.slow

ADMIN = "+33600000001"
ALERTED = "+33600000002"
TEXTER = "+33612345678"
POLL_INTERVAL_S = 2


def cli(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CLI_ARGV, "--config", str(config), *args], capture_output=True, text=True, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


class Phone:
    """The admin's authenticator app: codes from the secret, each for a later step."""

    def __init__(self, secret: str, window: timedelta):
        self.secret = secret
        # The oldest step still inside the window, leaving a margin for the SMS's trip.
        self._next = datetime.now(UTC) - window + timedelta(seconds=60)

    def code(self) -> str:
        code = code_at(self.secret, self._next)
        self._next += timedelta(seconds=30)
        assert self._next < datetime.now(UTC) + timedelta(seconds=30), "out of codes"
        return code

    def stale_code(self) -> str:
        """A code for a step before every code this phone gave (a replay or an old code)."""
        return code_at(self.secret, self._next - timedelta(minutes=5))


def enroll(config: Path) -> str:
    """`anti-relous admin enroll ADMIN`; returns the secret it printed."""
    output = cli(config, "admin", "enroll", ADMIN).stdout
    match = re.search(r"otpauth://totp/\S+secret=([A-Z2-7]+)", output)
    assert match, output
    return match.group(1)


def line_config(tmp_path, sim, **sections: str) -> Path:
    sections.setdefault("admin", f'numbers = ["{ADMIN}"]\ncode_window = "10m"')
    sections.setdefault("alerts", f'numbers = ["{ALERTED}"]')
    return write_config(tmp_path, sim, **sections)


@pytest.fixture
def line(tmp_path, sim):
    """A config with an admin and an alert number, the admin enrolled BEFORE the daemon's first
    start, then the daemon; yields (daemon, phone)."""
    config = line_config(tmp_path, sim)
    database = tmp_path / "line.db"
    assert not database.exists()
    phone = Phone(enroll(config), timedelta(minutes=10))
    daemon = Daemon(config, database).start()
    try:
        yield daemon.wait_ready(), phone
    finally:
        daemon.stop()


def sent_to(sim, number: str) -> list[str]:
    return [text for recipient, text in sim.sent_messages() if recipient == number]


def reasons(daemon: Daemon) -> list[str]:
    return [reason for (reason,) in daemon.query("SELECT reason FROM decisions ORDER BY 1")]


def wait_decided(daemon: Daemon, count: int) -> None:
    assert eventually(lambda: daemon.count("SELECT count(*) FROM decisions") >= count, 30), (
        daemon.log
    )


def test_an_admin_pauses_by_sms_gets_the_confirmation_and_status_says_who(line, sim):
    daemon, phone = line
    sim.deliver(ADMIN, f"PAUSE 2h {phone.code()}")
    assert sim.wait_until(lambda s: sent_to(s, ADMIN), 30), daemon.log
    (confirmation,) = sent_to(sim, ADMIN)
    assert confirmation.startswith("Ligne en pause jusqu'à ") and "(2h)" in confirmation
    sim.deliver(TEXTER, "salut")
    wait_decided(daemon, 2)
    time.sleep(2)  # two send intervals: no reply may leave
    assert sent_to(sim, TEXTER) == []
    assert reasons(daemon) == ["admin", "paused"]
    status = cli(daemon.config_path, "status").stdout
    assert "PAUSED until" in status and "by SMS from +336••••••01" in status
    report = json.loads(cli(daemon.config_path, "status", "--json").stdout)
    assert report["paused"] and report["pause_reason"] == "by SMS from +336••••••01"


def test_replayed_wrong_and_strangers_codes_change_nothing_and_get_no_admin_answer(line, sim):
    daemon, phone = line
    pause = f"PAUSE {phone.code()}"
    sim.deliver(ADMIN, pause)
    assert sim.wait_until(lambda s: len(sent_to(s, ADMIN)) == 1, 30), daemon.log
    sim.deliver(ADMIN, f"RESUME {phone.code()}")
    assert sim.wait_until(lambda s: len(sent_to(s, ADMIN)) == 2, 30), daemon.log
    sim.deliver(ADMIN, pause)  # replayed
    sim.deliver(ADMIN, f"PAUSE {phone.stale_code()}")  # an older code
    sim.deliver(ADMIN, "PAUSE 000000" if phone.code() != "000000" else "PAUSE 111111")
    sim.deliver(TEXTER, f"PAUSE {phone.code()}")  # a stranger with a valid code
    wait_decided(daemon, 6)
    # The stranger gets the public reply like any texter; so does the admin number, once a day.
    assert sim.wait_until(lambda s: sent_to(s, TEXTER) == [DEFAULT_REPLY], 30), daemon.log
    time.sleep(2)
    admin_answers = sent_to(sim, ADMIN)
    assert [text for text in admin_answers if text != DEFAULT_REPLY][2:] == []
    assert not json.loads(cli(daemon.config_path, "status", "--json").stdout)["paused"]
    assert daemon.count("SELECT count(*) FROM admin_failures") == 3
    assert daemon.count("SELECT count(*) FROM outbox WHERE kind = 'admin'") == 2


def test_five_wrong_codes_lock_the_channel_and_alert_the_operators(line, sim):
    daemon, phone = line
    for n in range(5):
        sim.deliver(ADMIN, f"STATUS {n:06d}")
    assert sim.wait_until(lambda s: sent_to(s, ALERTED), 30), daemon.log
    (alert,) = sent_to(sim, ALERTED)
    assert "5 codes faux" in alert and "bloquées jusqu'à" in alert
    sim.deliver(ADMIN, f"PAUSE {phone.code()}")
    wait_decided(daemon, 6)
    time.sleep(2)
    assert not json.loads(cli(daemon.config_path, "status", "--json").stdout)["paused"]
    assert daemon.count("SELECT count(*) FROM outbox WHERE kind = 'admin'") == 0
    assert "LOCKED until" in cli(daemon.config_path, "admin", "list").stdout


def test_resume_works_and_status_answers_in_one_part(line, sim):
    daemon, phone = line
    for command in ("PAUSE", "RESUME", "STATUS"):
        sim.deliver(ADMIN, f"{command} {phone.code()}")
        count = len(sent_to(sim, ADMIN)) + 1
        assert sim.wait_until(lambda s, n=count: len(sent_to(s, ADMIN)) == n, 30), daemon.log
    paused, resumed, status = sent_to(sim, ADMIN)
    assert resumed.startswith("Ligne relancée")
    assert status.startswith("Ligne active, attaque non, modem ok")
    assert [part.concat for part in sim.sent if part.number == ADMIN] == [None] * 3
    assert all(text_info(text).parts == 1 for text in (paused, resumed, status))
    sim.deliver(TEXTER, "salut")
    assert sim.wait_until(lambda s: sent_to(s, TEXTER) == [DEFAULT_REPLY], 30), daemon.log


@pytest.fixture
def flooded_sim(tmp_path):
    """A dongle whose network redelivers as soon as the full SIM has room: 2,000 SMS through
    30 slots would otherwise wait 2 s per refill, minutes of a test about something else."""
    with ModemSimulator(link=tmp_path / "modem", redelivery_s=0) as simulator:
        yield simulator


def test_during_a_flood_a_pause_is_obeyed_at_once_and_confirmed_despite_the_caps(
    tmp_path, flooded_sim, run_daemon
):
    sim = flooded_sim
    config = line_config(tmp_path, sim)
    phone = Phone(enroll(config), timedelta(minutes=10))
    daemon = run_daemon(
        sim,
        admin=f'numbers = ["{ADMIN}"]\ncode_window = "10m"',
        alerts=f'numbers = ["{ALERTED}"]',
        quota="replies_per_hour = 10",
        # The caps must be used up when the PAUSE arrives. The attack regime answers no bot,
        # so here the flood runs against the mute-button policy, whose bot replies fill them.
        attack='mode = "off"',
        schedule=f'poll_interval = "{POLL_INTERVAL_S}s"\nsend_interval = "1s"\n'
        'health_interval = "2s"',
    )
    bots = [f"+336990{n:05d}" for n in range(100)]
    for round_ in range(10):
        for bot in bots:
            sim.deliver(bot, f"t'es charmante, réponds {round_}")
    sim.deliver(ADMIN, f"PAUSE {phone.code()}")
    sent_at = time.monotonic()
    for round_ in range(10, 20):
        for bot in bots:
            sim.deliver(bot, f"t'es charmante, réponds {round_}")
    assert eventually(lambda: daemon.count("SELECT count(*) FROM messages") == 2001, 120)
    assert eventually(lambda: daemon.count("SELECT count(*) FROM undecided") == 0, 30)
    ((message_id, received, decided, reason),) = daemon.query(
        "SELECT m.id, m.received_at, d.decided_at, d.reason FROM messages m"
        " JOIN decisions d ON d.message_id = m.id WHERE m.sender = ?",
        (ADMIN,),
    )
    assert reason == "admin"
    delay = datetime.fromisoformat(decided) - datetime.fromisoformat(received)  # printed below
    # Not behind the flood: every message stored after the PAUSE was decided after it, and
    # found the line paused (how many seconds that takes is the box's speed, not checked here).
    later = daemon.query(
        "SELECT DISTINCT reason FROM decisions WHERE message_id > ?", (message_id,)
    )
    assert later == [("paused",)]
    (first_later,) = daemon.query(
        "SELECT min(decided_at) FROM decisions WHERE message_id > ?", (message_id,)
    )[0]
    assert datetime.fromisoformat(decided) <= datetime.fromisoformat(first_later)
    assert sim.wait_until(lambda s: sent_to(s, ADMIN), 60), daemon.log
    (confirmation,) = sent_to(sim, ADMIN)
    assert confirmation.startswith("Ligne en pause")
    # The hour was full for replies (they keep room for the admin share), not for the PAUSE.
    refused = daemon.count("SELECT count(*) FROM decisions WHERE reason = 'hourly_cap'")
    assert refused > 0, "the replies never reached the hourly cap before the confirmation"
    print(
        f"\nflood of 2,000 SMS: PAUSE decided {delay.total_seconds():.2f} s after it was stored, "
        f"{time.monotonic() - sent_at:.1f} s after it entered the network behind 1,000 SMS"
    )


def test_a_modem_gone_for_a_while_gives_one_lost_alert_then_one_back(tmp_path, sim, run_daemon):
    daemon = run_daemon(
        sim,
        alerts=f'numbers = ["{ALERTED}"]\nmodem_lost_after = "3s"',
        schedule='poll_interval = "1s"\nsend_interval = "1s"\nhealth_interval = "1s"',
    )
    sim.unplug()
    time.sleep(10)  # more than three times modem_lost_after, the "10 minutes" of this config
    sim.replug()
    assert sim.wait_until(lambda s: len(sent_to(s, ALERTED)) >= 2, 60), daemon.log
    time.sleep(3)
    lost, back = sent_to(sim, ALERTED)
    assert lost.startswith("anti-relous : modem injoignable depuis")
    assert back.startswith("anti-relous : modem de retour")
    assert daemon.count("SELECT count(*) FROM outbox WHERE kind = 'alert'") == 2


def test_a_short_unplug_raises_no_alert(tmp_path, sim, run_daemon):
    daemon = run_daemon(
        sim,
        alerts=f'numbers = ["{ALERTED}"]\nmodem_lost_after = "30s"',
        schedule='poll_interval = "1s"\nsend_interval = "1s"\nhealth_interval = "1s"',
    )
    sim.unplug()
    time.sleep(3)
    sim.replug()
    sim.deliver(TEXTER, "salut")
    assert sim.wait_until(lambda s: sent_to(s, TEXTER), 60), daemon.log
    assert daemon.count("SELECT count(*) FROM outbox WHERE kind = 'alert'") == 0


def metric_values(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_the_metrics_textfile_parses_and_its_counters_equal_stats_json(tmp_path, sim, run_daemon):
    textfile = tmp_path / "anti-relous.prom"
    daemon = run_daemon(sim, metrics=f'textfile = "{textfile}"')
    for n in range(6):
        sim.deliver(f"+3361234{n % 3:04d}", f"salut {n}")
    sim.deliver("+33612345678", "un long message " * 20)  # 3 parts
    wait_decided(daemon, 7)
    assert eventually(
        lambda: daemon.count("SELECT count(*) FROM outbox WHERE state != 'sent'") == 0
    )
    quiet_since = time.time()
    assert eventually(lambda: textfile.exists() and textfile.stat().st_mtime > quiet_since, 30)
    assert textfile.stat().st_mode & 0o777 == 0o644
    values = metric_values(textfile)
    stats = json.loads(cli(daemon.config_path, "stats", "--json").stdout)

    def metric(name: str, **labels: str) -> float:
        return values[(f"anti_relous_{name}", tuple(sorted(labels.items())))]

    assert metric("inbound_messages_total") == stats["inbound_messages"] == 7
    assert metric("inbound_parts_total") == stats["inbound_parts"] == 9
    for reason, count in stats["decisions"].items():
        assert metric("decisions_total", reason=reason) == count
    assert metric("replies_total", state="sent") == stats["replies_sent"] == 4
    assert metric("replies_total", state="failed") == stats["replies_failed"]
    assert metric("sms_sent_total") == stats["sms_sent"]
    assert metric("queue_length") == 0 and metric("modem_up") == 1
    assert metric("sim_slots_total") > 0 and metric("cap_used", cap="hour") == 4
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_database_refusing_writes_is_alerted_through_the_modem_and_recorded_later(
    tmp_path, sim, run_daemon
):
    daemon = run_daemon(
        sim,
        alerts=f'numbers = ["{ALERTED}"]\ndatabase_after = "2s"',
        schedule='poll_interval = "1s"\nsend_interval = "1s"\nhealth_interval = "1s"',
    )
    # Another process holds the write lock far longer than the daemon's busy timeout.
    with write_lock_held(daemon.db_path):
        assert sim.wait_until(lambda s: sent_to(s, ALERTED), 60), daemon.log
        (alert,) = sent_to(sim, ALERTED)
        assert alert.startswith("anti-relous : la base de données refuse d'écrire")
    assert sim.wait_until(lambda s: len(sent_to(s, ALERTED)) == 2, 60), daemon.log
    assert sent_to(sim, ALERTED)[1].startswith("anti-relous : base de données de nouveau")
    query = "SELECT text FROM outbox WHERE kind = 'alert' AND state = 'sent' ORDER BY id"
    # Both on record in the order they left, so they count against the caps like any SMS.
    assert eventually(lambda: [t for (t,) in daemon.query(query)] == sent_to(sim, ALERTED), 10)


def readme_check() -> str:
    """The Nagios/cron check script the README gives, as written there."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```\n(#!/bin/sh\n# check_anti_relous.*?)```", readme, re.DOTALL)
    assert match, "the README lost its check script"
    return match.group(1)


def test_the_readmes_nagios_check_says_critical_ok_and_warning(tmp_path, sim, run_daemon):
    require_tool("jq")
    script = tmp_path / "check_anti_relous"
    script.write_text(readme_check())
    config = tmp_path / "config.toml"
    env = {
        "PATH": f"{Path(CLI_ARGV[0]).parent}:/usr/bin:/bin",
        "ANTI_RELOUS_CONFIG": str(config),
    }

    def check() -> tuple[int, str]:
        result = subprocess.run(
            ["sh", str(script)], env=env, capture_output=True, text=True, timeout=60
        )
        return result.returncode, result.stdout.strip()

    daemon = run_daemon(sim)
    assert eventually(lambda: check()[0] == 0, 30), check()
    assert check()[1].startswith("OK: queue 0, today 0 SMS")
    cli(config, "pause")
    assert check() == (1, "WARNING: paused")
    daemon.stop()
    assert check() == (2, "CRITICAL: the daemon stopped")
