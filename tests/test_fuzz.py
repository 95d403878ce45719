"""Fuzzing the inbound path: random and mutated bytes from the modem, random and mutated PDUs.

What test_at_parser.py and test_pdu.py already hold (random streams and mutated transcripts never
raise; random bytes decode to some part) is not repeated. Here: only typed events come out of
mutated transcripts and the parser's memory stays bounded; garbage between two commands never
changes the next answer; mutated listings give stored messages or a ModemError, nothing else;
mutated real PDUs always decode to a well-formed part; and any mix of them, ingested into a real
database, is stored whole, once, as messages with a verifiable evidence chain.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_at_parser import TRANSCRIPT_FILES, load

from anti_relous.config import Config
from anti_relous.deciding import Texts, decide_pending
from anti_relous.modem import StoredMessage, commands, pdu
from anti_relous.modem.at import AtParser, Discarded, Echo, Event, Final, Prompt, Response, Urc
from anti_relous.modem.errors import ModemError
from anti_relous.policy import Rules
from anti_relous.sms import PartKind
from anti_relous.store import Store

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
TYPED_EVENTS = (Echo, Response, Final, Urc, Prompt, Discarded)
MAX_LINE = 256

EXCHANGES = [
    exchange
    for path in TRANSCRIPT_FILES
    for exchange in load(path)
    if exchange.begin is not None and not exchange.end_first
]
LISTINGS = [exchange for exchange in EXCHANGES if exchange.begin[0].startswith("AT+CMGL")]

REAL_PDUS = [
    *pdu.encode_deliver("+33612345678", "salut, ça va ?", NOW),
    *pdu.encode_deliver("+33612345678", "Être ou ne pas être 😀", NOW),
    *pdu.encode_deliver("SFR Info", "Votre code : 1234", NOW),
    *pdu.encode_deliver("36179", "prix: 5€ [promo] " * 12, NOW, reference=5),
    *(bytes.fromhex(line) for line in (DATA / "deliver_concat16.hex").read_text().split()),
    bytes.fromhex((DATA / "status_report.hex").read_text().strip()),
]


def begin(parser: AtParser, exchange) -> None:
    command, prefixes, prompt, body = exchange.begin
    parser.begin(command, prefixes, prompt=prompt, body=body)


def answer(parser: AtParser, exchange, received: bytes) -> list[Event]:
    begin(parser, exchange)
    return parser.feed(received)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few bytes flipped, replaced, inserted, deleted, or its end cut off."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 5))):
        position = draw(st.integers(0, max(0, len(data) - 1)))
        operation = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        if operation == "insert" or not data:
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif operation == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif operation == "set":
            data[position] = draw(st.integers(0, 255))
        elif operation == "delete":
            del data[position]
        else:
            del data[position:]
    return bytes(data)


@st.composite
def received_bytes(draw: st.DrawFn, exchanges: list) -> tuple[object, bytes]:
    exchange = draw(st.sampled_from(exchanges))
    return exchange, draw(mutated(b"".join(exchange.received)))


# ---- the AT parser and the command parsers ---------------------------------------------------


@settings(max_examples=300)
@given(exchanges=st.lists(received_bytes(EXCHANGES), min_size=1, max_size=6), data=st.data())
def test_mutated_transcripts_give_only_typed_events_and_bounded_memory(exchanges, data):
    parser = AtParser(max_line=MAX_LINE)
    for exchange, received in exchanges:
        begin(parser, exchange)
        cut = data.draw(st.integers(0, len(received)))
        for piece in (received[:cut], received[cut:]):
            events = parser.feed(piece)
            assert all(isinstance(event, TYPED_EVENTS) for event in events)
            assert parser.buffered_bytes <= MAX_LINE
        if data.draw(st.booleans()):
            assert all(isinstance(event, TYPED_EVENTS) for event in parser.end())


NOISE = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from([b"\r", b"\n", b"\xff", b"\x00", b"OK", b"+CMGL: 1,0,,5", b"> "])).map(
        b"".join
    ),
)


@settings(max_examples=300)
@given(exchange=st.sampled_from(EXCHANGES), noise=NOISE)
def test_garbage_between_two_commands_never_changes_the_next_answer(exchange, noise):
    # Except a URC header announcing a PDU line (+CMT, +CDS, +CBM): by TS 27.005 3.4.1 the next
    # hex line is its PDU, so noise that looks exactly like one takes a hex answer line with it.
    assume(not any(name in noise for name in (b"+CMT", b"+CDS", b"+CBM")))
    received = b"".join(exchange.received)
    clean = answer(AtParser(), exchange, received)
    parser = AtParser()
    parser.feed(noise + b"\r\n")  # noise on an idle line, ended by the answer's line break
    noisy = answer(parser, exchange, received)
    extra = len(noisy) - len(clean)
    assert extra >= 0 and noisy[extra:] == clean
    assert all(isinstance(event, Urc | Discarded) for event in noisy[:extra])


@settings(max_examples=300)
@given(listing=received_bytes(LISTINGS))
def test_a_mutated_listing_gives_stored_messages_or_a_modem_error(listing):
    exchange, received = listing
    parser = AtParser()
    events = answer(parser, exchange, received) + parser.end()
    lines = [event for event in events if isinstance(event, Response)]
    try:
        stored = commands.parse_stored_list(lines, "SM")
    except ModemError:
        return
    for message in stored:
        assert isinstance(message, StoredMessage) and isinstance(message.pdu, bytes)
        part = pdu.decode_stored(message.storage, message.index, message.pdu)
        assert part.kind in PartKind


# ---- the PDU decode path and the store -------------------------------------------------------

PDUS = st.one_of(
    st.sampled_from(REAL_PDUS),
    st.sampled_from(REAL_PDUS).flatmap(mutated),
    st.binary(max_size=180),
)


@settings(max_examples=1000)
@given(raw=st.sampled_from(REAL_PDUS).flatmap(mutated))
def test_a_mutated_real_pdu_always_decodes_to_a_well_formed_part(raw):
    part = pdu.decode_stored("SM", 3, raw, unread=True)
    assert (part.storage, part.index, part.pdu, part.unread) == ("SM", 3, raw, True)
    if part.kind is PartKind.UNDECODABLE:
        assert part.error and part.decoded is None
    elif part.kind is PartKind.DELIVER:
        decoded = part.decoded
        assert isinstance(decoded.sender, str) and isinstance(decoded.text, str)
        assert decoded.coding in ("gsm7", "ucs2", "8bit")
        if decoded.concat is not None:
            assert 1 <= decoded.concat.sequence <= decoded.concat.total


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(listing=st.lists(PDUS, min_size=1, max_size=12))
def test_any_mix_of_pdus_is_stored_whole_once_and_decided(listing):
    config = Config()
    with tempfile.TemporaryDirectory() as directory, Store.open(Path(directory) / "l.db") as store:
        parts = [pdu.decode_stored("SM", i, raw, unread=True) for i, raw in enumerate(listing)]
        result = store.inbound.ingest(parts, NOW, "FR")
        assert sorted(result.committed) == [("SM", i) for i in range(len(listing))]
        # Read again before the delete (a crash in between): nothing new.
        reread = [pdu.decode_stored("SM", i, raw) for i, raw in enumerate(listing)]
        assert store.inbound.ingest(reread, NOW, "FR").new_parts == 0
        store.inbound.release_incomplete(NOW + timedelta(days=1), timedelta(hours=1), "FR")
        decide_pending(store, Rules.from_config(config), Texts.from_config(config), NOW)
        conn = store.db.conn
        stored = [
            bytes(row[0]) for row in conn.execute("SELECT pdu FROM inbound_parts ORDER BY id")
        ]
        assert stored == listing
        loose = conn.execute(
            "SELECT count(*) FROM inbound_parts"
            " WHERE message_id IS NULL AND kind != 'status_report'"
        ).fetchone()[0]
        assert loose == 0, "every part but status reports ends up in a message"
        undecodable = sum(p.kind is PartKind.UNDECODABLE for p in parts)
        assert (
            conn.execute("SELECT count(*) FROM messages WHERE kind = 'undecodable'").fetchone()[0]
            == undecodable
        )
        assert conn.execute("SELECT count(*) FROM undecided").fetchone()[0] == 0
        assert store.evidence.verify().ok
