"""The driver's parsers and codec against answers and PDUs other people recorded from devices.

The vectors live in tests/data/captures/, each file naming its source: gammu's collection of
real AT+CMGR answers and reply-parser cases, python-gsmmodem's PDU tests. Each answer is fed to
the real AT parser, then to the real response parsers and the codec. Every vector here failed
before its fix (issue 12, points 2 to 5).
"""

from __future__ import annotations

import datetime as dt

import pytest
from captures import Dump, dumps, records

from anti_relous.modem import MessageStatus, commands, pdu
from anti_relous.modem.at import AtParser, Response
from anti_relous.sms import PartKind

SMS = dumps("gammu-at-sms.txt")
MISC = dumps("gammu-at-misc.txt")


def answer(dump: Dump, *prefixes: str) -> list[Response]:
    """The response lines the AT parser makes of the dump's answer."""
    parser = AtParser()
    parser.begin(dump.command, prefixes)
    return [event for event in parser.feed(dump.wire) if isinstance(event, Response)]


def read(dump: Dump) -> tuple[MessageStatus, bytes]:
    message = commands.parse_read(answer(dump, "+CMGR"), "SM", 1)
    assert message is not None
    return message.status, message.pdu


# ---- +CMGR forms real firmwares answer (issue 12, point 2) -------------------------------------


@pytest.mark.parametrize(
    ("dump", "status"),
    [
        pytest.param(SMS["39"], MessageStatus.REC_UNREAD, id="empty-stat"),
        pytest.param(SMS["26"], MessageStatus.REC_READ, id="index-first"),
        pytest.param(SMS["27"], MessageStatus.REC_READ, id="index-first-2"),
        pytest.param(SMS["38"], MessageStatus.REC_UNREAD, id="length-only"),
    ],
)
def test_real_cmgr_header_forms_give_the_stored_pdu(dump, status):
    assert read(dump) == (status, dump.pdu)


def test_an_empty_status_is_read_as_a_received_sms_that_decodes():
    """gammu's dump 39 (a ZTE): a missed-call notice, no longer quarantined as unreadable."""
    status, raw = read(SMS["39"])
    part = pdu.decode_stored("SM", 91, raw, unread=status is MessageStatus.REC_UNREAD)
    assert part.kind is PartKind.DELIVER and part.unread
    assert part.decoded.sender == "9494"
    assert part.decoded.text.startswith("llamada perdida de: +34617653167")


def test_a_length_only_header_carries_a_status_report():
    _, raw = read(SMS["38"])
    assert pdu.decode_stored("SM", 1, raw).kind is PartKind.STATUS_REPORT


# ---- PDUs libgammu misreads (issue 12, points 3 to 5) -------------------------------------------


def test_a_real_alphanumeric_sender_decodes_through_the_gsm_alphabet():
    """gammu's dump 04: O2's own sender, "O2_" (septet 0x11 is "_" in GSM 03.38)."""
    raw = bytes.fromhex(SMS["04"].lines[1].rstrip('"'))  # the dump ends the line with a quote
    decoded = pdu.decode_deliver(raw)
    assert decoded.sender == "O2_"
    assert decoded.text.startswith("O2: You now have your Text Anytime")


@pytest.mark.parametrize(
    ("address", "sender"), records("python-gsmmodem-pdu.txt", "address"), ids=lambda v: v
)
def test_recorded_address_fields_decode_as_recorded(address, sender):
    stand_in = f"0004{address}0000{'00101000000000'}0141"  # the address in an SMS-DELIVER "A"
    assert pdu.decode_deliver(bytes.fromhex(stand_in)).sender == sender


def test_a_data_coding_with_its_reserved_bit_set_still_decodes_as_text():
    """gammu's dump 42: DCS 0xFB (group 1111, GSM-7, class 3, reserved bit 3 set)."""
    decoded = pdu.decode_deliver(SMS["42"].pdu)
    assert decoded.coding == "gsm7"
    assert decoded.text.split() == ["1917812300", "22:30", "RATTHI"]


def test_a_time_stamp_of_1999_stays_in_1999():
    """gammu's dump 09: year digits 99."""
    stamp = pdu.decode_deliver(SMS["09"].pdu).smsc_time
    assert stamp == dt.datetime(1999, 3, 29, 15, 16, 59, tzinfo=dt.timezone(dt.timedelta(hours=2)))


# ---- registration, identity, SMS centre (issue 12, point 5) -------------------------------------


@pytest.mark.parametrize(
    ("name", "registration"),
    [
        ("at-creg-corner/single-quote.dump", "home"),
        ("at-creg-corner/mismatched-quotes.dump", "home"),
    ],
)
def test_recorded_registration_answers_give_the_registration(name, registration):
    assert commands.parse_registration(answer(MISC[name], "+CREG")) == registration


def test_a_samsung_ati_answer_loses_the_command_letter_before_each_value():
    """gammu's at-model/05: "Model: I: SCH-U706/99"."""
    info = commands.parse_info(answer(MISC["at-model/05.dump"]))
    assert info == {
        "manufacturer": "SAMSUNG ELECTRONICS CO., LTD.",
        "model": "SCH-U706/99",
        "firmware": "u706 ,  ver : BC04.1",
    }
