"""The store's side of alerts and admin SMS: the outbox migration, held and rate-limited alerts."""

from __future__ import annotations

import sqlite3
from datetime import timedelta, timezone

import pytest
from conftest import T0

from anti_relous import alerts
from anti_relous.alerts import AlertRules, QuietHours
from anti_relous.store import Store
from anti_relous.store.migrations import LATEST_VERSION, MIGRATIONS, migrate

ALERTED = ("+33600000002", "+33600000003")
RULES = AlertRules(numbers=ALERTED)
OUTBOX_ROW = (
    "INSERT INTO outbox (created_at, kind, recipient, text, parts, state, updated_at)"
    " VALUES ('2026-11-28T14:00:00.000000Z', ?, '+33612345678', 'x', 1, 'sent',"
    " '2026-11-28T14:00:00.000000Z')"
)
#: The version before the outbox accepted admin SMS.
BEFORE_ADMIN = 2


@pytest.mark.parametrize("start", range(BEFORE_ADMIN + 1))
def test_the_outbox_rebuild_keeps_rows_ids_and_indexes_from_every_earlier_version(tmp_path, start):
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(conn, MIGRATIONS[:start])
    if start:
        for kind in ("reply", "alert", "manual"):
            conn.execute(OUTBOX_ROW, (kind,))
        conn.execute("DELETE FROM outbox WHERE kind = 'alert'")  # a gap in the ids
    assert migrate(conn) == LATEST_VERSION
    rows = conn.execute("SELECT id, kind FROM outbox ORDER BY id").fetchall()
    assert rows == ([(1, "reply"), (3, "manual")] if start else [])
    indexes = {row[1] for row in conn.execute("PRAGMA index_list(outbox)")}
    assert {"outbox_state", "outbox_recipient_time", "outbox_time", "outbox_one_reply"} <= indexes
    conn.execute(OUTBOX_ROW, ("admin",))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(OUTBOX_ROW, ("bogus",))
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_before_the_migration_the_outbox_refused_admin_sms(tmp_path):
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(conn, MIGRATIONS[:BEFORE_ADMIN])
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(OUTBOX_ROW, ("admin",))


def queued(store):
    items = reversed(store.outbox.items())
    return [(item.recipient, item.text) for item in items if item.kind == "alert"]


def test_an_alert_is_queued_to_every_alert_number_and_logged(store):
    alert = alerts.modem_lost(T0 - timedelta(minutes=10), T0)
    assert store.alerts.raise_alert(alert, RULES, T0) == T0
    assert queued(store) == [(number, alert.text) for number in ALERTED]
    (event,) = store.line.events()
    assert (event.kind, event.detail) == ("alert", "modem_lost to 2")


def test_a_rate_limited_alert_is_not_queued_twice_within_min_interval(store):
    alert = alerts.cap_reached("daily_cap", 300, 300)
    store.alerts.raise_alert(alert, RULES, T0)
    assert store.alerts.raise_alert(alert, RULES, T0 + timedelta(minutes=30)) is None
    assert len(queued(store)) == 2
    assert store.alerts.raise_alert(alert, RULES, T0 + timedelta(hours=1)) is not None
    assert len(queued(store)) == 4


def test_an_alert_held_by_quiet_hours_waits_in_the_outbox_until_they_end(store):
    paris = timezone(timedelta(hours=1))
    night = T0.replace(hour=22, minute=30)  # 23:30 in Paris
    rules = AlertRules(numbers=ALERTED[:1], quiet=QuietHours.parse("23:00-07:00"), tz=paris)
    alert = alerts.modem_back(night - timedelta(hours=1), night, paris)
    morning = store.alerts.raise_alert(alert, rules, night)
    assert morning is not None and morning.astimezone(paris).hour == 7
    assert store.outbox.next_due(night) is None
    assert store.outbox.next_due(morning).text == alert.text


def test_an_alert_sent_straight_through_the_modem_is_recorded_as_sent(store):
    alert = alerts.database_error(T0 - timedelta(minutes=2), T0)
    store.alerts.record_sent(alert, RULES, T0, {ALERTED[0]: [7]})
    (item,) = store.outbox.items()
    assert (item.kind, item.state, item.message_refs, item.sent_at) == ("alert", "sent", (7,), T0)
    assert store.outbox.caps(T0).last_hour == 1, "it counts against the caps"
    assert store.alerts.last_raised("database_error") == T0


def test_decisions_since_names_the_caps_that_stopped_replies(store):
    assert store.alerts.decisions_since(T0, ("hourly_cap",)) == []


def test_admin_sms_sent_since_counts_only_admin_sms(store):
    store.outbox.enqueue(T0, "admin", "+33600000001", "ok", 1)
    store.outbox.enqueue(T0, "alert", "+33600000001", "ok", 1)
    assert store.remote.sent_since(T0 - timedelta(hours=1)) == 1
    assert store.remote.sent_since(T0) == 0


def test_enrolling_again_replaces_the_secret_and_forgets_the_last_step(store):
    assert store.remote.enroll(T0, "+33600000001", "totp", "A" * 32) is False
    store.remote.use_step("+33600000001", 123)
    assert store.remote.enroll(T0, "+33600000001", "totp", "B" * 32) is True
    credential = store.remote.credential("+33600000001")
    assert (credential.secret, credential.last_step) == ("B" * 32, None)
    kinds = [event.kind for event in store.line.events()]
    assert kinds == ["admin_enrolled", "admin_enrolled"]


def test_secrets_survive_reopening_the_database(db_path):
    with Store.open(db_path) as store:
        store.remote.enroll(T0, "+33600000001", "totp", "A" * 32)
    with Store.open(db_path) as store:
        assert store.remote.credential("+33600000001").secret == "A" * 32
