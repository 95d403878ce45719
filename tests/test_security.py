"""Hostile input, end to end: texts built to break storage, exports and logs; spoofed senders.

The SMS reach `anti-relous run` through the simulated dongle, as an attacker's would, and come
out through `anti-relous export`, as they would reach a lawyer. Also the file modes `init` gives
the configuration and the database when run as root, as the unit files expect them.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import require_tool
from daemon_helpers import Daemon, eventually
from hostile_helpers import ucs2_deliver

from anti_relous.config import DEFAULT_REPLY

pytestmark = pytest.mark.slow

ANTI_RELOUS = [sys.executable, "-m", "anti_relous"]
TEXTER = "+33612345678"
OWN_NUMBER = "+33601020304"
#: Texts that break naive SQL, format strings, terminals, bidirectional display, CSV and logs.
HOSTILE_TEXTS = [
    "'); DROP TABLE messages;--",
    'Robert"); DELETE FROM outbox WHERE ("1"="1',
    "%s %d %n %(text)s {0} {text!r} ${PATH}",
    "bip\x07bip",
    "\x1b[31mrouge\x1b[0m \x1b]0;titre\x07 \x1b[2J",
    "facture_\u202egpj.exe",  # U+202E turns the rest around on screen
    "zéro\u200blargeur\u200d\ufeff",
    "ligne 1\r\n2026-11-28 14:00:00,000 ERROR anti_relous.daemon: faux journal",
    "tab\tvt\x0bff\x0c fin",
    "\u2028séparateurs\u2029",
    '=HYPERLINK("http://exemple.invalid","cliquez")',
    "emoji 😡🔪 et drapeau 🇫🇷",
]
#: An alphanumeric sender may hold line breaks and ESC too (GSM-7 has LF, CR and ESC).
FORGED_SENDER = "A\r\nERROR x"
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) [\w.]+: ")


def export(daemon: Daemon, *args: str) -> str:
    """`anti-relous export ...` as an operator runs it; stdout without newline translation."""
    done = subprocess.run(
        [*ANTI_RELOUS, "--config", str(daemon.config_path), "export", *args],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return done.stdout.decode("utf-8")


@pytest.fixture
def hostile_line(sim, run_daemon):
    """A daemon logging at DEBUG (everything it can log) that received every hostile text."""
    daemon = run_daemon(sim, log='level = "debug"')
    for text in HOSTILE_TEXTS:
        sim.deliver(TEXTER, text)
    sim.deliver(FORGED_SENDER, "code 1234")
    assert eventually(lambda: daemon.count("SELECT count(*) FROM decisions") == 13), daemon.log
    yield daemon
    daemon.stop()


def test_hostile_texts_come_out_of_the_json_export_verbatim(hostile_line):
    # JSON Lines: records end with "\n" only (str.splitlines would also cut at U+2028, NEL...).
    output = export(hostile_line, "--format", "json")
    records = [json.loads(line) for line in output.split("\n")[:-1]]
    assert [r["text"] for r in records] == [*HOSTILE_TEXTS, "code 1234"]
    assert records[-1]["sender_raw"] == FORGED_SENDER


def test_hostile_texts_come_out_of_the_csv_export_verbatim(hostile_line, tmp_path):
    target = tmp_path / "plainte.csv"
    export(hostile_line, "--format", "csv", "--output", str(target))
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["text"] for row in rows] == [*HOSTILE_TEXTS, "code 1234"]
    assert rows[-1]["sender_raw"] == FORGED_SENDER


def test_hostile_texts_and_senders_cannot_forge_or_garble_log_lines(hostile_line):
    hostile_line.stop()
    log = hostile_line.log
    lines = log.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), "one event, one line"
    assert not any(line.startswith("2026-11-28 14:00:00,000 ERROR") for line in lines)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", log), "raw control"


def test_nul_and_u0001_are_kept_in_the_text_and_the_raw_pdu(sim, run_daemon, tmp_path):
    """gammu's decoder reads UCS-2 U+0001 as "~"; pdu.py reads such texts from the PDU itself
    (see test_pdu.py). Both the text and the raw PDU come through, in both exports."""
    daemon = run_daemon(sim)
    texts = ["je sais\x00 où tu habites", "a\x01b"]
    for text in texts:
        sim.deliver_pdu(ucs2_deliver(TEXTER, text))
    assert eventually(lambda: daemon.count("SELECT count(*) FROM decisions") == 2), daemon.log
    records = [json.loads(line) for line in export(daemon).split("\n")[:-1]]
    assert [bytes.fromhex(r["pdus"][0]) for r in records] == [
        ucs2_deliver(TEXTER, text) for text in texts
    ]
    assert [r["text"] for r in records] == texts
    export(daemon, "--format", "csv", "--output", str(tmp_path / "nul.csv"))
    with (tmp_path / "nul.csv").open(encoding="utf-8", newline="") as handle:
        assert next(csv.DictReader(handle))["text"] == "je sais\x00 où tu habites"
    daemon.stop()


# ---- spoofed senders ---------------------------------------------------------------------------

SPOOFED_SENDERS = {
    "premium rate": "+33899123456",
    "short code": "36179",
    "alphanumeric": "SFR Info",
    "fixed line": "+33142685300",
    "foreign mobile": "+32470123456",
    "the line's own number": OWN_NUMBER,
    "the line's own number, national form": "0601020304",
}


def test_spoofed_senders_never_get_a_reply(sim, run_daemon):
    daemon = run_daemon(sim, line=f'own_number = "{OWN_NUMBER}"')
    for sender in SPOOFED_SENDERS.values():
        sim.deliver(sender, "réponds-moi, c'est urgent")
    sim.deliver(TEXTER, "salut")
    expected = [(TEXTER, DEFAULT_REPLY)]
    assert sim.wait_until(lambda s: s.sent_messages() == expected, 30), daemon.log
    time.sleep(2)  # two send intervals: nothing else may leave
    assert sim.sent_messages() == expected
    reasons = daemon.query(
        "SELECT m.sender_raw, d.reason FROM messages m JOIN decisions d ON d.message_id = m.id"
        " ORDER BY m.id"
    )
    assert reasons == [
        *((sender, "destination_filtered") for sender in SPOOFED_SENDERS.values()),
        (TEXTER, "replied"),
    ]
    assert daemon.count("SELECT count(*) FROM outbox") == 1
    daemon.stop()


# ---- file modes ----------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="init gives files to the service account as root")
def test_init_as_root_gives_the_config_to_the_group_and_the_database_to_the_service(tmp_path):
    """`sudo anti-relous init` on a host where sysusers.d made the anti-relous account.

    The account exists only inside a private mount namespace, over copies of /etc/passwd and
    /etc/group, so that the host is left alone.
    """
    unshare = require_tool("unshare")
    uid, gid = 4242, 4243
    passwd, group = tmp_path / "passwd", tmp_path / "group"
    shutil.copy("/etc/passwd", passwd)
    shutil.copy("/etc/group", group)
    with passwd.open("a") as handle:
        handle.write(f"anti-relous:x:{uid}:{gid}::/var/lib/anti-relous:/usr/sbin/nologin\n")
    with group.open("a") as handle:
        handle.write(f"anti-relous:x:{gid}:\n")
    config, database = tmp_path / "etc" / "config.toml", tmp_path / "state" / "line.db"
    database.parent.mkdir()  # as systemd-tmpfiles does: init never creates the database's directory
    init = [*ANTI_RELOUS, "init", "--path", str(config), "--database", str(database)]
    script = (
        f"mount --bind {shlex.quote(str(passwd))} /etc/passwd"
        f" && mount --bind {shlex.quote(str(group))} /etc/group && exec {shlex.join(init)}"
    )
    done = subprocess.run(
        [unshare, "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0 and "unshare failed" in done.stderr:
        pytest.skip(f"no mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert "group anti-relous" in done.stdout
    for path, mode, owner in ((config, 0o640, (0, gid)), (database, 0o660, (uid, gid))):
        info = path.stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (mode, *owner), path
    assert Path("/etc/group").read_text().count("anti-relous:x:4243") == 0, "the host is untouched"
