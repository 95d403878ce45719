"""Crash safety: SIGKILL the ingest-and-decide loop at random; nothing is lost or doubled."""

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from anti_relous.modem import pdu
from anti_relous.store import Store
from anti_relous.store.evidence import sha256_hex

WORKER = Path(__file__).with_name("crash_worker.py")
SCTS = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def _network_traffic(rng: random.Random) -> tuple[list[str], int]:
    """PDUs as a network would deliver them, and how many messages they make."""
    pdus, messages = [], 0
    for n in range(160):
        sender = f"+3361234{rng.randrange(40):04d}"
        pdus.append(pdu.encode_deliver(sender, f"msg {n}", SCTS + timedelta(seconds=n))[0].hex())
        messages += 1
    for n in range(15):  # long SMS, parts interleaved with the rest below
        parts = pdu.encode_deliver(f"+3369876{n:04d}", "x" * 400, SCTS, reference=n)
        pdus.extend(p.hex() for p in parts)
        messages += 1
    rng.shuffle(pdus)
    for _ in range(20):  # a bot repeating itself within one second: byte-identical SMS
        (twin,) = pdu.encode_deliver("+33611111111", "relou", SCTS)
        pdus.insert(rng.randrange(len(pdus)), twin.hex())
        messages += 1
    return pdus, messages


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(tmp_path):
    rng = random.Random(20261128)
    pdus, expected_messages = _network_traffic(rng)
    sim_file, db = tmp_path / "sim.json", tmp_path / "line.db"
    capacity = 10
    sim = {"capacity": capacity, "slots": {}, "queue": list(pdus)}
    for index in range(capacity):
        sim["slots"][str(index)] = {"pdu": sim["queue"].pop(0), "unread": True}
    sim_file.write_text(json.dumps(sim))

    kills = 0
    for attempt in range(31):
        last = attempt == 30  # after 30 interruptions, let it finish
        with subprocess.Popen(
            [sys.executable, str(WORKER), str(db), str(sim_file)],
            stdout=subprocess.PIPE,
            text=True,
        ) as worker:
            assert worker.stdout.readline() == "ready\n"
            if not last:
                time.sleep(rng.uniform(0, 0.03))
                if worker.poll() is None:
                    worker.send_signal(signal.SIGKILL)
                    kills += 1
            code = worker.wait(timeout=60)
        if code == 0:
            break
    assert code == 0
    assert kills >= 10, "the test must interrupt the worker many times to mean anything"

    with Store.open(db) as store:
        conn = store.db.conn
        stored = Counter(r[0] for r in conn.execute("SELECT pdu_sha256 FROM inbound_parts"))
        assert stored == Counter(sha256_hex(bytes.fromhex(p)) for p in pdus)
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (expected_messages,)
        assert conn.execute("SELECT count(*) FROM messages WHERE kind != 'sms'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM decisions").fetchone() == (expected_messages,)
        assert conn.execute("SELECT count(*) FROM undecided").fetchone() == (0,)
        replies = conn.execute(
            "SELECT recipient, count(*) FROM outbox WHERE kind = 'reply' GROUP BY recipient"
        ).fetchall()
        assert all(count == 1 for _, count in replies)
        assert store.evidence.verify().ok
