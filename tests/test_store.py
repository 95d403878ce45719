"""The store: opening and migrations, idempotent ingest, multipart assembly, outbox, line state."""

import os
import re
import sqlite3
import stat
from datetime import timedelta

import pytest
from store_helpers import long_sms, part, real_part

from anti_relous.sms import PartKind, ReceivedPart
from anti_relous.store import Store, StoreFull, StoreNotFound, StoreVersionError
from anti_relous.store.migrations import LATEST_VERSION, MIGRATIONS, migrate, schema_version

REGION = "FR"


def messages(store):
    return store.db.conn.execute(
        "SELECT id, kind, sender, text, parts, parts_expected FROM messages ORDER BY id"
    ).fetchall()


def part_count(store):
    return store.db.conn.execute("SELECT count(*) FROM inbound_parts").fetchone()[0]


def send_order(store, clock):
    """The ids of the SMS queued, in the order the sender job takes them (each marked sending)."""
    taken = []
    while (item := store.outbox.next_due(clock())) is not None:
        store.outbox.mark_sending(item.id, clock())
        taken.append(item.id)
    return taken


# --- opening ---------------------------------------------------------------------------------


def test_new_database_is_created_0660_whatever_the_umask(db_path):
    old = os.umask(0o077)
    try:
        Store.open(db_path).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o660


def test_new_database_uses_wal_and_the_latest_schema(store):
    conn = store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert schema_version(conn) == LATEST_VERSION


def test_opening_without_create_reports_a_missing_database(tmp_path):
    with pytest.raises(StoreNotFound, match="anti-relous init"):
        Store.open(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()


def test_database_from_a_newer_version_is_refused(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreVersionError, match="upgrade anti-relous"):
        Store.open(db_path)


def test_each_migration_applies_from_every_earlier_version(tmp_path):
    for start in range(len(MIGRATIONS)):
        conn = sqlite3.connect(tmp_path / f"from-{start}.db", isolation_level=None)
        migrate(conn, MIGRATIONS[:start])
        assert schema_version(conn) == start
        assert migrate(conn) == LATEST_VERSION
        conn.close()


def test_a_failing_migration_step_leaves_the_previous_version(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    steps = [["CREATE TABLE a (x)"], ["CREATE TABLE b (x)", "CREATE TABLE a (x)"]]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, steps)
    assert schema_version(conn) == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"a"}


# --- ingest ----------------------------------------------------------------------------------


def test_ingest_stores_a_part_as_one_undecided_message(store, clock):
    result = store.inbound.ingest([part(text="bonjour", index=3)], clock(), REGION)
    assert result.committed == [("SM", 3)]
    assert (result.new_parts, result.new_messages) == (1, 1)
    assert messages(store) == [(1, "sms", "+33612345678", "bonjour", 1, 1)]
    (message,) = store.inbound.undecided()
    assert message.sender.e164 == "+33612345678" and message.text == "bonjour"


def test_sender_is_normalised_before_storage(store, clock):
    store.inbound.ingest([part(sender="0612345678")], clock(), REGION)
    assert messages(store)[0][2] == "+33612345678"


def test_rereading_a_committed_part_before_its_delete_stores_nothing(store, clock):
    listing = [part(index=1, unread=True)]
    store.inbound.ingest(listing, clock(), REGION)
    # Crash before AT+CMGD: the next listing shows the same slot, now read.
    reread = [ReceivedPart(**{**listing[0].__dict__, "unread": False})]
    result = store.inbound.ingest(reread, clock(), REGION)
    assert (result.new_parts, result.already_stored, result.committed) == (0, 1, [("SM", 1)])
    assert part_count(store) == 1


def test_two_identical_sms_in_two_slots_are_both_kept(store, clock):
    raw = b"identical-bytes"
    store.inbound.ingest(
        [part(index=1, pdu_bytes=raw), part(index=2, pdu_bytes=raw)], clock(), REGION
    )
    assert len(messages(store)) == 2


def test_identical_sms_arriving_in_a_slot_after_its_delete_is_new(store, clock):
    raw = b"identical-bytes"
    store.inbound.ingest([part(index=1, pdu_bytes=raw)], clock(), REGION)
    store.inbound.confirm_deleted([("SM", 1)])
    store.inbound.ingest([part(index=1, pdu_bytes=raw)], clock(), REGION)
    assert len(messages(store)) == 2


def test_identical_unread_sms_in_a_slot_whose_delete_was_not_confirmed_is_new(store, clock):
    """Crash after the SIM delete but before confirming it, then the bot repeats itself."""
    raw = b"identical-bytes"
    store.inbound.ingest([part(index=1, pdu_bytes=raw, unread=True)], clock(), REGION)
    store.inbound.ingest([part(index=1, pdu_bytes=raw, unread=True)], clock(), REGION)
    assert len(messages(store)) == 2


def test_slots_missing_from_a_listing_are_no_longer_pending(store, clock):
    store.inbound.ingest([part(index=1), part(index=2)], clock(), REGION)
    store.inbound.ingest([part(index=3)], clock(), REGION)
    assert store.inbound.pending_slots() == 1


def test_undecodable_pdu_is_kept_raw_as_its_own_message(store, clock):
    bad = ReceivedPart("SM", 4, b"\xff\x01", PartKind.UNDECODABLE, error="malformed PDU")
    result = store.inbound.ingest([bad], clock(), REGION)
    assert (result.undecodable, result.new_messages) == (1, 1)
    assert messages(store) == [(1, "undecodable", None, None, 1, 1)]
    (message,) = store.inbound.undecided()
    assert message.undecodable


def test_status_report_is_stored_as_a_part_but_is_not_a_message(store, clock):
    report = ReceivedPart("SM", 5, b"\x00\x06", PartKind.STATUS_REPORT)
    store.inbound.ingest([report], clock(), REGION)
    assert (part_count(store), messages(store)) == (1, [])


def test_real_pdus_round_trip_into_messages(store, clock):
    store.inbound.ingest([real_part("+33612345678", "prix 5€ [promo]", 1)], clock(), REGION)
    assert messages(store)[0][3] == "prix 5€ [promo]"


# --- multipart -------------------------------------------------------------------------------


def test_long_sms_is_assembled_across_polls_in_any_order(store, clock):
    first, second, third = long_sms("+33612345678", ["un ", "deux ", "trois"])
    store.inbound.ingest([third, first], clock(), REGION)
    assert messages(store) == []
    store.inbound.ingest([second], clock.advance(seconds=5), REGION)
    assert messages(store) == [(1, "sms", "+33612345678", "un deux trois", 3, 3)]


def test_parts_of_different_senders_with_the_same_reference_stay_apart(store, clock):
    a = long_sms("+33612345678", ["a1", "a2"], reference=9)
    b = long_sms("+33698765432", ["b1", "b2"], reference=9)
    store.inbound.ingest([a[0], b[0], b[1], a[1]], clock(), REGION)
    assert sorted(m[3] for m in messages(store)) == ["a1a2", "b1b2"]


def test_eight_and_sixteen_bit_references_are_different_keys(store, clock):
    a = long_sms("+33612345678", ["a1", "a2"], reference=9, bits=8)
    b = long_sms("+33612345678", ["b1", "b2"], reference=9, bits=16)
    store.inbound.ingest([a[0], b[1], b[0], a[1]], clock(), REGION)
    assert sorted(m[3] for m in messages(store)) == ["a1a2", "b1b2"]


def test_a_repeated_long_sms_with_the_same_reference_makes_two_messages(store, clock):
    once = long_sms("+33612345678", ["x1", "x2"], reference=3)
    again = long_sms("+33612345678", ["x1", "x2"], reference=3)
    store.inbound.ingest([once[0], again[0], once[1], again[1]], clock(), REGION)
    assert [m[3] for m in messages(store)] == ["x1x2", "x1x2"]


def test_incomplete_long_sms_is_released_after_the_timeout_never_dropped(store, clock):
    first, _, third = long_sms("+33612345678", ["un ", "deux ", "trois"])
    store.inbound.ingest([first, third], clock(), REGION)
    timeout = timedelta(hours=1)
    assert store.inbound.release_incomplete(clock.advance(minutes=59), timeout, REGION) == 0
    assert store.inbound.release_incomplete(clock.advance(minutes=2), timeout, REGION) == 1
    assert messages(store) == [
        (1, "incomplete", "+33612345678", "un [part 2/3 missing]trois", 2, 3)
    ]
    (message,) = store.inbound.undecided()
    assert not message.complete


def test_part_arriving_after_release_starts_a_new_group(store, clock):
    first, second = long_sms("+33612345678", ["un ", "deux"])
    store.inbound.ingest([first], clock(), REGION)
    store.inbound.release_incomplete(clock.advance(hours=2), timedelta(hours=1), REGION)
    store.inbound.ingest([second], clock(), REGION)
    assert [m[1] for m in messages(store)] == ["incomplete"]
    assert store.inbound.release_incomplete(clock.advance(hours=2), timedelta(hours=1), REGION)
    assert [m[1] for m in messages(store)] == ["incomplete", "incomplete"]


# --- failures --------------------------------------------------------------------------------


def test_full_database_raises_store_full_and_commits_nothing(store, clock):
    conn = store.db.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    big = [part(text="x" * 4000) for _ in range(30)]
    with pytest.raises(StoreFull, match=r"disk holding .* is full"):
        store.inbound.ingest(big, clock(), REGION)
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert part_count(store) == 0 and store.inbound.pending_slots() == 0


# --- outbox ----------------------------------------------------------------------------------


def test_outbox_moves_queued_sending_sent(store, clock):
    item_id = store.outbox.enqueue(clock(), "manual", "+33612345678", "coucou", 1)
    item = store.outbox.next_due(clock())
    assert (item.id, item.state) == (item_id, "queued")
    store.outbox.mark_sending(item_id, clock())
    assert store.outbox.next_due(clock()) is None
    store.outbox.mark_sent(item_id, clock(), [17])
    (sent,) = store.outbox.items()
    assert (sent.state, sent.message_refs, sent.attempts) == ("sent", (17,), 1)


def test_sending_row_found_after_a_crash_becomes_unknown_and_is_not_resent(db_path, clock):
    with Store.open(db_path) as first:
        item_id = first.outbox.enqueue(clock(), "manual", "+33612345678", "coucou", 1)
        first.outbox.mark_sending(item_id, clock())
    with Store.open(db_path) as restarted:
        assert restarted.outbox.recover_sending(clock()) == 1
        assert restarted.outbox.next_due(clock()) is None
        assert restarted.outbox.items()[0].state == "unknown"


def test_retry_waits_for_its_time(store, clock):
    item_id = store.outbox.enqueue(clock(), "manual", "+33612345678", "coucou", 1)
    store.outbox.mark_sending(item_id, clock())
    store.outbox.retry_later(item_id, clock(), clock.now + timedelta(seconds=30), "CMS 42")
    assert store.outbox.next_due(clock.advance(seconds=29)) is None
    assert store.outbox.next_due(clock.advance(seconds=2)).last_error == "CMS 42"


def test_queued_replies_wait_while_the_line_is_paused_and_leave_after_resume(store, clock):
    item_id = store.outbox.enqueue(clock(), "reply", "+33612345678", "réponse", 1)
    store.line.pause(clock(), None, "media coverage")
    assert store.outbox.next_due(clock()) is None
    store.line.resume(clock())
    assert store.outbox.next_due(clock()).id == item_id


def test_a_pause_that_has_expired_holds_nothing(store, clock):
    item_id = store.outbox.enqueue(clock(), "reply", "+33612345678", "réponse", 1)
    store.line.pause(clock(), clock.now + timedelta(minutes=5), None)
    assert store.outbox.next_due(clock.advance(minutes=6)).id == item_id


def test_alerts_and_manual_sms_still_leave_while_paused(store, clock):
    store.outbox.enqueue(clock(), "reply", "+33612345678", "réponse", 1)
    alert = store.outbox.enqueue(clock(), "alert", "+33611223344", "flood", 1)
    manual = store.outbox.enqueue(clock(), "manual", "+33699887766", "test", 1)
    store.line.pause(clock(), None, None)
    sent = send_order(store, clock)
    assert sent == [alert, manual]


@pytest.mark.parametrize(("kind", "text"), [("alert", "flood"), ("admin", "Ligne active.")])
def test_alerts_and_admin_confirmations_leave_before_manual_sms_and_replies_queued_earlier(
    store, clock, kind, text
):
    replies = [
        store.outbox.enqueue(clock(), "reply", f"+3361234567{i}", "réponse", 1) for i in range(3)
    ]
    manual = store.outbox.enqueue(clock(), "manual", "+33699887766", "test", 1)
    urgent = store.outbox.enqueue(clock(), kind, "+33611223344", text, 1)
    assert send_order(store, clock) == [urgent, manual, *replies]


def test_a_pause_set_by_sms_does_not_hold_its_own_confirmation(store, clock):
    store.outbox.enqueue(clock(), "reply", "+33612345678", "réponse", 1)
    store.line.pause(clock(), None, "par SMS")
    admin = store.outbox.enqueue(clock(), "admin", "+33611223344", "Ligne en pause.", 1)
    assert store.outbox.next_due(clock()).id == admin


def test_a_reply_to_a_number_blocked_after_it_was_queued_is_dropped_not_sent(store, clock):
    blocked = store.outbox.enqueue(clock(), "reply", "+33612345678", "réponse", 1)
    other = store.outbox.enqueue(clock(), "reply", "+33698765432", "réponse", 1)
    store.line.block(clock(), "+33612345678", is_prefix=False, until=None, reason="spoofed")
    assert store.outbox.next_due(clock()).id == other
    (row,) = [i for i in store.outbox.items() if i.id == blocked]
    assert row.state == "failed" and "blocked" in row.last_error and "spoofed" in row.last_error


def test_a_failed_sms_no_longer_counts_against_the_caps(store, clock):
    """Nothing of it left the modem: the caps count what was queued and did not fail."""
    item_id = store.outbox.enqueue(clock(), "manual", "+33612345678", "bonjour", 1)
    store.outbox.enqueue(clock(), "reply", "+33698765432", "réponse", 1)
    assert store.outbox.caps(clock()).last_hour == 2
    store.outbox.mark_sending(item_id, clock())
    store.outbox.mark_failed(item_id, clock(), "+CMS ERROR 38")
    caps = store.outbox.caps(clock())
    assert (caps.last_hour, caps.last_day, caps.this_month) == (1, 1, 1)


def test_a_reply_under_a_prefix_blocked_after_it_was_queued_is_dropped(store, clock):
    store.outbox.enqueue(clock(), "reply", "+33899123456", "réponse", 1)
    store.line.block(clock(), "+33899", is_prefix=True, until=None, reason="premium")
    assert store.outbox.next_due(clock()) is None
    assert store.outbox.items()[0].state == "failed"


def test_held_replies_are_counted_for_pause(store, clock):
    for i in range(3):
        store.outbox.enqueue(clock(), "reply", f"+3361234567{i}", "réponse", 1)
    store.outbox.enqueue(clock(), "alert", "+33611223344", "flood", 1)
    assert store.outbox.queued_replies() == 3
    assert store.outbox.queued_replies(to="+33612345671") == 1
    assert store.outbox.queued_replies(to="+336123", prefix=True) == 3


@pytest.mark.parametrize(
    "change",
    [
        lambda store, now: store.line.pause(now, now + timedelta(hours=2), "concert"),
        lambda store, now: store.line.block(
            now, "+33612345678", is_prefix=False, until=now + timedelta(days=7), reason="bot"
        ),
    ],
    ids=["pause", "block"],
)
def test_event_details_give_times_to_the_second_with_their_offset(store, clock, change):
    change(store, clock.now.replace(microsecond=123456))
    (event,) = store.line.events()
    assert not re.search(r"\d\.\d{6}", event.detail), event.detail
    until = re.search(r"until (\S+ \S+?):? ", event.detail).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", until)


def test_marking_sending_twice_is_refused(store, clock):
    item_id = store.outbox.enqueue(clock(), "manual", "+33612345678", "coucou", 1)
    store.outbox.mark_sending(item_id, clock())
    with pytest.raises(ValueError, match="not queued"):
        store.outbox.mark_sending(item_id, clock())


# --- line state ------------------------------------------------------------------------------


def test_pause_with_an_end_and_resume(store, clock):
    store.line.pause(clock(), clock.now + timedelta(hours=2), "manif")
    state = store.line.state()
    assert state.is_paused(clock.advance(hours=1)) and state.pause_reason == "manif"
    assert not state.is_paused(clock.advance(hours=2))
    assert store.line.resume(clock()) is False  # the pause had already ended
    assert not store.line.state().paused


def test_blocks_match_exact_numbers_and_prefixes_until_they_expire(store, clock):
    from anti_relous.store.line import active_block

    store.line.block(clock(), "+33612345678", is_prefix=False, until=None, reason="menaces")
    store.line.block(
        clock(), "+33899", is_prefix=True, until=clock.now + timedelta(days=1), reason="surtaxe"
    )
    conn = store.db.conn
    assert active_block(conn, "+33612345678", clock()).reason == "menaces"
    assert active_block(conn, "+33899123456", clock()).is_prefix
    assert active_block(conn, "+33698765432", clock()) is None
    assert active_block(conn, "+33899123456", clock.advance(days=2)) is None
    assert store.line.unblock(clock(), "+33612345678") == 1
    assert active_block(conn, "+33612345678", clock()) is None


def test_every_change_of_the_line_is_an_event(store, clock):
    store.line.pause(clock(), None, "test")
    store.line.resume(clock.advance(minutes=1))
    assert [e.kind for e in store.line.events()] == ["resumed", "paused"]


def test_daemon_state_is_published_with_its_time(store, clock):
    store.line.put_daemon_state(clock(), "modem", {"signal_dbm": -71})
    value, at = store.line.daemon_state("modem")
    assert value == {"signal_dbm": -71} and at == clock.now
    assert store.line.daemon_state("absent") is None


def test_a_lone_part_of_a_long_sms_counts_its_missing_parts_in_one_short_marker(store, clock):
    store.inbound.ingest([long_sms("+33612345678", ["seul "] + ["x"] * 254)[0]], clock(), REGION)
    store.inbound.release_incomplete(clock.advance(hours=2), timedelta(hours=1), REGION)
    assert messages(store) == [
        (1, "incomplete", "+33612345678", "seul [parts 2-255/255 missing]", 1, 255)
    ]
    assert store.evidence.verify().ok


def test_each_run_of_missing_parts_gets_its_own_marker(store, clock):
    parts = long_sms("+33612345678", ["a", "b", "c", "d", "e", "f"])
    store.inbound.ingest([parts[0], parts[3]], clock(), REGION)
    store.inbound.release_incomplete(clock.advance(hours=2), timedelta(hours=1), REGION)
    assert messages(store)[0][3] == "a[parts 2-3/6 missing]d[parts 5-6/6 missing]"
