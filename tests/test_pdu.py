"""The python-gammu codec adapter, with each gammu trap it works around pinned."""

import datetime as dt

import gammu
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdu_helpers import (
    BOTH_CONCATENATIONS,
    COMPRESSED,
    CUT_BODY,
    FROM_SENDER,
    HEADER_TOO_LONG,
    HI_UCS2,
    NOW_STAMP,
    ODD_UCS2,
    PART_0_OF_2,
    SENDER,
    SMSC,
    crafted,
    deliver,
)

from anti_relous.coding import text_info
from anti_relous.modem import pdu
from anti_relous.modem.errors import PduError
from anti_relous.sms import Concat, PartKind

NOW = dt.datetime(2026, 11, 28, 14, 0, tzinfo=dt.UTC)
EXTENSION_TEXT = "prix: 5€ [promo] {x} ~ ^ | \\ fin"


def _round_trip_deliver(text, **kwargs):
    parts = [pdu.decode_deliver(p) for p in pdu.encode_deliver("+33612345678", text, NOW, **kwargs)]
    return "".join(p.text for p in parts), parts


def _round_trip_submit(text):
    pdus = pdu.encode_submit("+33612345678", text, reference=42)
    return [pdu.decode_submit(bytes.fromhex(p.hex)) for p in pdus]


def test_gammu_still_returns_junk_after_extension_characters():
    """The defect the workaround exists for; if this fails, gammu was fixed: drop the workaround."""
    (raw,) = pdu.encode_deliver("+33612345678", "abc€", NOW)
    assert gammu.DecodePDU(raw, True)["Text"] != "abc€"


def test_extension_characters_decode_without_trailing_junk():
    text, _ = _round_trip_deliver(EXTENSION_TEXT)
    assert text == EXTENSION_TEXT


def test_extension_characters_across_concatenated_parts():
    original = "x" * 150 + "€€€" + "[fin]"
    text, parts = _round_trip_deliver(original)
    assert text == original and len(parts) == 2


def test_gammu_still_transliterates_when_asked_for_gsm7():
    """The second trap: Unicode False silently turns ç into c."""
    (message,) = gammu.EncodeSMS(
        {"Class": -1, "Unicode": False, "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": "ça"}]}
    )
    assert message["Text"] != "ça" or message["Coding"] != "Unicode_No_Compression"
    (raw,) = pdu.encode_deliver("+33612345678", "ça", NOW, ucs2=False)
    assert pdu.decode_deliver(raw).text == "ca"


@pytest.mark.parametrize("text", ["être ça", "Ô â î û", "salut 😀", "ç"])
def test_text_outside_gsm7_goes_out_as_ucs2_intact(text):
    (decoded,) = _round_trip_submit(text)
    assert (decoded.text, decoded.coding) == (text, "ucs2")


@pytest.mark.parametrize("text", ["Ça va, où êtes-vous ?"[:8], "àéèù É Ç", EXTENSION_TEXT, "@£$¥"])
def test_gsm7_text_stays_gsm7(text):
    (decoded,) = _round_trip_submit(text)
    assert (decoded.text, decoded.coding) == (text, "gsm7")


def test_long_reply_is_linked_parts_with_our_reference_and_right_lengths():
    pdus = pdu.encode_submit("+33612345678", "é" * 200, reference=300)
    decoded = [pdu.decode_submit(bytes.fromhex(p.hex)) for p in pdus]
    assert [d.concat for d in decoded] == [Concat(44, 2, 1), Concat(44, 2, 2)]  # 300 mod 256
    for p in pdus:
        assert p.hex.startswith("00")  # the SIM's own SMSC
        assert p.tpdu_length == len(bytes.fromhex(p.hex)) - 1


def test_replies_ask_the_smsc_for_the_longest_validity():
    (decoded,) = _round_trip_submit("hello")
    assert decoded.validity == "Max"


def test_sixteen_bit_concatenation_references_are_read():
    raws = [bytes.fromhex(line) for line in (DATA / "deliver_concat16.hex").read_text().split()]
    parts = [pdu.decode_deliver(raw) for raw in raws]
    assert {p.concat.reference_bits for p in parts} == {16}
    assert [p.concat.sequence for p in parts] == [1, 2]


def test_alphanumeric_and_short_code_senders_decode():
    (alpha,) = pdu.encode_deliver("SFR Info", "code 1234", NOW)
    (short,) = pdu.encode_deliver("36179", "code 1234", NOW)
    assert pdu.decode_deliver(alpha).sender == "SFR Info"
    assert pdu.decode_deliver(short).sender == "36179"


def test_smsc_timestamp_keeps_its_offset():
    (raw,) = pdu.encode_deliver("+33612345678", "hi", NOW)
    assert pdu.decode_deliver(raw).smsc_time == NOW


@pytest.mark.parametrize(
    ("hex_pdu", "error"),
    [
        ("", "empty PDU"),
        ("07913306", "inside its SMSC field"),
        ("07913306091093f004", "before the sender address"),
        ("07913306091093f0040b913316325476f8000062118241", "before its user data length"),
        ("07913306091093f0040b913316325476f80000621182410071000509", "truncated"),
        ("07913306091093f0040b913316325476f800046211824100710095" + "00" * 149, "exceeds"),
        ("07913306091093f0010b913316325476f8000000", "not an SMS-DELIVER"),
    ],
)
def test_malformed_pdus_raise_pdu_error_naming_the_problem(hex_pdu, error):
    with pytest.raises(PduError, match=error):
        pdu.decode_deliver(bytes.fromhex(hex_pdu))


def test_decode_stored_quarantines_instead_of_raising():
    part = pdu.decode_stored("SM", 3, b"\xff" * 40)
    assert part.kind is PartKind.UNDECODABLE and part.error and part.decoded is None


def test_decode_stored_recognises_status_reports():
    raw = bytes.fromhex((DATA / "status_report.hex").read_text().strip())
    assert pdu.decode_stored("SM", 1, raw).kind is PartKind.STATUS_REPORT


def test_gammu_still_escapes_tildes_in_ucs2():
    """A fourth trap: in UCS-2, gammu's encoder sends a lone '~' as U+0001 and '~~' as '~'."""
    (message,) = gammu.EncodeSMS(
        {"Class": -1, "Unicode": True, "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": "ç~"}]}
    )
    message.update(Number="+33612345678", SMSC={"Location": 0, "Number": ""})
    assert bytes(gammu.EncodePDU(message, "Submit")).endswith(bytes.fromhex("00e70001"))


@pytest.mark.parametrize("text", ["ça ~ va", "ç~", "`~~", "~~~ ç"])
def test_tildes_in_a_ucs2_reply_go_out_as_tildes(text):
    (submit,) = pdu.encode_submit("+33612345678", text)
    user_data = bytes.fromhex(submit.hex)[-2 * len(text) :]
    assert user_data.decode("utf-16-be") == text
    (decoded,) = _round_trip_submit(text)
    assert (decoded.text, decoded.coding) == (text, "ucs2")


def test_gammu_still_cuts_ucs2_texts_with_tildes():
    """The decoding half of the trap: a tilde costs the text its last character."""
    raw = bytes.fromhex("07913306091093f0040b913316325476f8000862118241007100060061007e0062")
    assert gammu.DecodePDU(raw, True)["Text"] == "a~~"


def test_ucs2_texts_with_tildes_and_u0001_decode_intact():
    tilde = bytes.fromhex("07913306091093f0040b913316325476f8000862118241007100060061007e0062")
    control = bytes.fromhex("07913306091093f0040b913316325476f800086211824100710006006100010062")
    assert pdu.decode_deliver(tilde).text == "a~b"
    assert pdu.decode_deliver(control).text == "a\x01b"


def test_ucs2_tilde_in_a_long_sms_part_after_its_header():
    parts = pdu.encode_deliver("+33612345678", "ç~" * 60, NOW, reference=5)
    assert "".join(pdu.decode_deliver(p).text for p in parts) == "ç~" * 60


# Replies come from the config, which refuses control characters other than line breaks.
REPLY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("\n\r"),
    min_size=1,
    max_size=400,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(REPLY_TEXT)
def test_any_text_survives_encode_then_decode(text):
    pdus = pdu.encode_submit("+33612345678", text, reference=7)
    decoded = [pdu.decode_submit(bytes.fromhex(p.hex)) for p in pdus]
    assert "".join(d.text for d in decoded) == text
    assert {d.number for d in decoded} == {"+33612345678"}
    assert len(decoded) == text_info(text).parts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_never_escape_as_anything_but_pdu_error(data):
    part = pdu.decode_stored("SM", 1, data)
    assert part.kind in set(PartKind)


DATA = __import__("pathlib").Path(__file__).parent / "data"


# ---- libgammu and addresses, data codings, time stamps, headers (traps 5 to 8) ----------------

A_AT_B = "0004" + "06d0418010" + "0000" + NOW_STAMP + "0141"  # "A@B" packed in GSM 03.38


def test_gammu_still_cuts_an_alphanumeric_sender_at_its_at_sign():
    """The fifth trap: "@" is septet 0, a C string's end, and "_" (0x11) is not mapped."""
    assert gammu.DecodePDU(bytes.fromhex(A_AT_B), True)["Number"] == "A"


def test_an_at_sign_does_not_cut_an_alphanumeric_sender():
    assert pdu.decode_deliver(bytes.fromhex(A_AT_B)).sender == "A@B"


def test_gammu_still_packs_alphanumeric_senders_as_ascii():
    """The encoding half: gammu writes "@" as 0x40, which the GSM alphabet reads as "¡"."""
    info = {"Class": -1, "Unicode": False, "Entries": [{"ID": "Text", "Buffer": "x"}]}
    (message,) = gammu.EncodeSMS(info)
    message.update(Number="A@B", SMSC={"Location": 0, "Number": "+33609001390"}, Type="Deliver")
    message.update(DateTime=NOW, SMSCDateTime=NOW)
    assert bytes.fromhex("06d041a010") in bytes(gammu.EncodePDU(message, "Deliver"))
    (ours,) = pdu.encode_deliver("A@B", "x", NOW)
    assert bytes.fromhex("06d0418010") in ours


# Letters first: gammu takes a sender of digits for a phone number.
ALPHANUMERIC_SENDERS = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from("ABCOXabz"),
    st.text(alphabet="ABCOXYZabxyz0123456789 @_$£¥èÉ!?&+-€[", max_size=10),
)


@settings(max_examples=200, deadline=None)
@given(ALPHANUMERIC_SENDERS)
def test_alphanumeric_senders_survive_encode_then_decode(sender):
    (raw,) = pdu.encode_deliver(sender, "salut", NOW)
    assert pdu.decode_deliver(raw).sender == sender


def test_gammu_still_reads_a_data_coding_with_its_reserved_bit_as_8bit_data():
    """The sixth trap: DCS 0xFB is GSM-7 (bit 2 clear), class 3, reserved bit 3 set."""
    raw = deliver("e8329bfd06", udl=5, dcs=0xFB, header=False)  # "hello"
    assert gammu.DecodePDU(raw, True)["Coding"] == "8bit"
    assert pdu.decode_deliver(raw).text == "hello"


def test_gammu_still_puts_years_90_to_99_in_the_2080s():
    """The seventh trap: year digits 99 (TS 23.040 leaves the century out)."""
    raw = bytes.fromhex(f"{SMSC}04{FROM_SENDER}00{'99' + NOW_STAMP[2:]}05e8329bfd06")
    assert gammu.DecodePDU(raw, True)["DateTime"].year == 2089
    assert pdu.decode_deliver(raw).smsc_time.year == 1999


def test_gammu_still_reads_two_concatenation_elements_as_no_concatenation():
    """The eighth trap: such a part would pass for a whole SMS."""
    raw = crafted(BOTH_CONCATENATIONS)
    assert gammu.DecodePDU(raw, True)["UDH"]["Type"] == "UserUDH"


def test_a_header_with_an_8bit_and_a_16bit_concatenation_is_a_single_sms_with_its_defect():
    part = pdu.decode_stored("SM", 1, crafted(BOTH_CONCATENATIONS))
    assert part.kind is PartKind.DELIVER and part.decoded.concat is None
    assert part.decoded.text == "hi"
    assert "2 concatenation elements (8-bit and 16-bit)" in part.error


# ---- a readable TP header keeps its sender and time stamp (issue 13, point 2) -----------------


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param(crafted(PART_0_OF_2), "part 0 of 2", id="part-0-of-2"),
        pytest.param(deliver("050003070203" + HI_UCS2, udl=10), "part 3 of 2", id="part-3-of-2"),
        pytest.param(deliver("050003070001" + HI_UCS2, udl=10), "part 1 of 0", id="total-0"),
    ],
)
def test_an_impossible_concatenation_element_is_a_single_sms_with_its_defect(raw, error):
    part = pdu.decode_stored("SM", 1, raw)
    assert part.kind is PartKind.DELIVER
    assert (part.decoded.sender, part.decoded.smsc_time, part.decoded.text) == (SENDER, NOW, "hi")
    assert part.decoded.concat is None
    assert error in part.error and "read as a single SMS" in part.error


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param(crafted(ODD_UCS2), "odd number", id="odd-ucs2"),
        pytest.param(crafted(COMPRESSED), "compressed", id="zip"),
        pytest.param(crafted(HEADER_TOO_LONG), "header of 17 octets", id="udhl>udl"),
        pytest.param(crafted(CUT_BODY), "truncated", id="cut-body"),
        pytest.param(deliver("00" * 141, udl=141, dcs=0x04, header=False), "exceeds", id="udl>140"),
    ],
)
def test_an_undecodable_body_keeps_the_sender_and_time_stamp(raw, error):
    part = pdu.decode_stored("SM", 1, raw)
    assert part.kind is PartKind.UNDECODABLE and error in part.error
    assert (part.sender, part.smsc_time) == (SENDER, NOW)


def test_a_pdu_cut_inside_its_header_has_no_sender():
    part = pdu.decode_stored("SM", 1, bytes.fromhex(f"{SMSC}04{FROM_SENDER}00"))
    assert part.kind is PartKind.UNDECODABLE and part.sender is None
