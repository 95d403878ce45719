"""The python-gammu codec adapter, with both verified gammu text traps pinned."""

import datetime as dt

import gammu
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
