"""The daemon's monitor on a real database: cap alerts, the digest, and the metrics textfile.

Outage alerts, the database alert and the textfile are also driven end to end through the
daemon in tests/test_phone.py; here the clock is the test's.
"""

from __future__ import annotations

from datetime import timedelta

from conftest import T0
from prometheus_client.parser import text_string_to_metric_families
from store_helpers import part

from anti_relous.config import parse_config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.monitor import Monitor
from anti_relous.policy import Rules

ALERTED = "+33600000002"
TEXTS = Texts(reply="Ceci est un numéro anti-relous.", reply_parts=1)


def config(extra: str = ""):
    # No modem in these tests: "modem lost" would come after a day.
    return parse_config(
        f'[alerts]\nnumbers = ["{ALERTED}"]\nmodem_lost_after = "1d"\n{extra}\n'
        "[quota]\nreplies_per_hour = 3\n"
    )


def alerts_queued(store):
    return [item.text for item in reversed(store.outbox.items()) if item.kind == "alert"]


def texters_write(store, count, now, conf):
    for n in range(count):
        store.inbound.ingest([part(sender=f"+3361234{n:04d}")], now, "FR")
    return decide_pending(store, Rules.from_config(conf), TEXTS, now)


def test_a_cap_that_stopped_replies_is_alerted_once_per_min_interval(store):
    conf = config()
    monitor = Monitor(store, conf, T0)
    texters_write(store, 5, T0 + timedelta(seconds=1), conf)
    monitor.check(T0 + timedelta(seconds=2), modem=None, health=None, database_ok=True)
    (alert,) = alerts_queued(store)
    assert alert.startswith("anti-relous : plafond horaire atteint (2/3)")
    texters_write(store, 2, T0 + timedelta(minutes=10), conf)
    monitor.check(T0 + timedelta(minutes=11), modem=None, health=None, database_ok=True)
    assert len(alerts_queued(store)) == 1


def test_no_cap_alert_while_replies_flow(store):
    conf = config()
    monitor = Monitor(store, conf, T0)
    texters_write(store, 1, T0 + timedelta(seconds=1), conf)
    monitor.check(T0 + timedelta(seconds=2), modem=None, health=None, database_ok=True)
    assert alerts_queued(store) == []


def test_the_digest_goes_out_at_its_hour_with_the_days_figures(store):
    morning = T0.astimezone().replace(hour=8, minute=5)  # in the machine's zone
    conf = config(f'digest = "{morning:%H}:00"')
    monitor = Monitor(store, conf, morning - timedelta(hours=1))
    texters_write(store, 2, morning - timedelta(hours=1), conf)
    monitor.check(morning - timedelta(hours=1), modem=None, health=None, database_ok=True)
    assert alerts_queued(store) == []
    monitor.check(morning, modem=None, health=None, database_ok=True)
    (digest,) = alerts_queued(store)
    assert digest.startswith("anti-relous 24h : 2 SMS arrivés de 2 numéros, 2 réponses")
    monitor.check(morning + timedelta(minutes=1), modem=None, health=None, database_ok=True)
    assert len(alerts_queued(store)) == 1


def test_the_textfile_is_written_each_check_and_parses(store, tmp_path):
    textfile = tmp_path / "line.prom"
    conf = config(f'\n[metrics]\ntextfile = "{textfile}"')
    monitor = Monitor(store, conf, T0)
    texters_write(store, 2, T0, conf)
    monitor.check(T0, modem=None, health=None, database_ok=True)
    families = {f.name: f for f in text_string_to_metric_families(textfile.read_text())}
    assert families["anti_relous_inbound_messages"].samples[0].value == 2
    assert families["anti_relous_modem_up"].samples[0].value == 0
    assert "anti_relous_sim_slots_total" not in families, "no health seen: no SIM figures"


def test_a_textfile_that_cannot_be_written_is_logged_once_and_the_check_carries_on(
    store, tmp_path, caplog
):
    conf = config(f'\n[metrics]\ntextfile = "{tmp_path / "missing" / "line.prom"}"')
    monitor = Monitor(store, conf, T0)
    for minute in range(3):
        monitor.check(T0 + timedelta(minutes=minute), modem=None, health=None, database_ok=True)
    warnings = [r.message for r in caplog.records if "not written" in r.message]
    assert warnings == [
        f"metrics textfile {tmp_path / 'missing' / 'line.prom'} not written: "
        "No such file or directory"
    ]
