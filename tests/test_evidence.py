"""The evidence chain: verification pinpoints tampering; retention purge keeps it verifiable."""

from datetime import timedelta

import pytest
from store_helpers import long_sms, part

from anti_relous.store import Store
from anti_relous.store.evidence import GENESIS_HASH

REGION = "FR"


@pytest.fixture
def filled(store, clock):
    """Five messages, one of them a two-part SMS, received an hour apart."""
    for text in ("un", "deux", "trois"):
        store.inbound.ingest([part(text=text)], clock.advance(hours=1), REGION)
    store.inbound.ingest(long_sms("+33698765432", ["long ", "message"]), clock(), REGION)
    store.inbound.ingest([part(text="cinq")], clock.advance(hours=1), REGION)
    return store


def test_untouched_chain_verifies_and_reports_its_head(filled):
    result = filled.evidence.verify()
    last = filled.db.conn.execute("SELECT chain_hash FROM messages ORDER BY id DESC").fetchone()
    assert (result.ok, result.checked, result.head_hash) == (True, 5, last[0])


def test_empty_chain_verifies(store):
    result = store.evidence.verify()
    assert (result.ok, result.checked, result.head_hash) == (True, 0, GENESIS_HASH)


def test_altered_text_is_reported_at_its_row(filled):
    filled.db.conn.execute("UPDATE messages SET text = 'rien' WHERE id = 3")
    result = filled.evidence.verify()
    assert (result.ok, result.broken_id, result.checked) == (False, 3, 2)
    assert "text" in result.problem


def test_altered_sender_is_reported_at_its_row(filled):
    filled.db.conn.execute("UPDATE messages SET sender = '+33600000000' WHERE id = 2")
    result = filled.evidence.verify()
    assert (result.ok, result.broken_id) == (False, 2)
    assert "chain hash" in result.problem


def test_altered_raw_pdu_is_reported_at_its_message(filled):
    filled.db.conn.execute(
        "UPDATE inbound_parts SET pdu = x'00' WHERE id = (SELECT min(id) FROM inbound_parts"
        " WHERE message_id = 4)"
    )
    result = filled.evidence.verify()
    assert (result.ok, result.broken_id) == (False, 4)
    assert "PDU" in result.problem


def test_removed_message_is_reported_at_the_next_row(filled):
    filled.db.conn.execute("DELETE FROM undecided WHERE message_id = 2")
    filled.db.conn.execute("UPDATE inbound_parts SET message_id = NULL WHERE message_id = 2")
    filled.db.conn.execute("DELETE FROM messages WHERE id = 2")
    result = filled.evidence.verify()
    assert (result.ok, result.broken_id) == (False, 3)
    assert "removed" in result.problem


def test_purge_erases_old_texts_and_pdus_and_the_chain_still_verifies(filled, clock):
    purged = filled.evidence.purge(clock.advance(hours=1), retention=timedelta(minutes=150))
    assert purged == 2  # received 4 h and 3 h before; the cut-off is 2 h 30 ago
    rows = filled.db.conn.execute("SELECT text, purged_at IS NOT NULL FROM messages ORDER BY id")
    assert list(rows) == [(None, 1), (None, 1), ("trois", 0), ("long message", 0), ("cinq", 0)]
    assert filled.db.conn.execute(
        "SELECT count(*) FROM inbound_parts WHERE pdu IS NULL"
    ).fetchone() == (2,)
    assert filled.evidence.verify().ok


def test_zero_retention_keeps_everything(filled, clock):
    assert filled.evidence.purge(clock.advance(days=3650), retention=timedelta(0)) == 0


def test_export_carries_every_field_and_the_chain(filled):
    records = list(filled.evidence.export())
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    long = records[3]
    assert long["text"] == "long message" and long["parts"] == 2 and len(long["pdus"]) == 2
    assert long["sender"] == "+33698765432" and long["decision"] is None
    assert records[1]["prev_hash"] == records[0]["chain_hash"]
    assert set(records[0]) >= {"id", "received_at", "sender", "text", "parts", "decision",
                               "chain_hash", "pdu_sha256", "smsc_time"}  # fmt: skip


def test_export_filters_by_time_and_sender(filled, clock):
    by_sender = list(filled.evidence.export(sender="+33698765432"))
    assert [r["id"] for r in by_sender] == [4]
    recent = list(filled.evidence.export(since=clock.now - timedelta(minutes=30)))
    assert [r["id"] for r in recent] == [5]


def test_purge_leaves_no_trace_of_the_erased_texts_in_the_database_file(db_path, clock):
    with Store.open(db_path) as store:
        for i in range(30):  # enough rows that freed cells are not all defragmented away
            store.inbound.ingest(
                [part(text=f"menace {i:02d}: je sais où tu habites")], clock(), REGION
            )
        store.inbound.ingest([part(text="récent")], clock.advance(days=100), REGION)
        # As on an SQLite built with secure_delete off by default (this one may have it on).
        store.db.conn.execute("PRAGMA secure_delete = OFF")
        assert store.evidence.purge(clock(), retention=timedelta(days=90)) == 30
        assert store.db.conn.execute("PRAGMA secure_delete").fetchone() == (0,)
    # Closing checkpointed the write-ahead log into the file and removed it.
    assert "je sais où tu habites".encode() not in db_path.read_bytes()
