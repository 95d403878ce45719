"""Pure AT builders and response parsers: real dialects in, value types or typed errors out."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anti_relous.modem import MessageStatus, commands, pdu
from anti_relous.modem.at import AtParser, Final, Response, ResultKind
from anti_relous.modem.errors import (
    AtError,
    CmeError,
    CmsError,
    MalformedResponse,
    ModemError,
    SimNotInserted,
    SimPinRequired,
    SimPukRequired,
    StorageFull,
)

DELIVER_HEX = (
    "07913306091093F0000B913316325476F800006230411250000013D330BB4E6781DE6ED0BC0CB2BFD374D00F"
)


def lines(*texts: str) -> list[Response]:
    return [Response(text) for text in texts]


def test_cmgl_entries_become_stored_messages_with_their_pdu_bytes():
    listing = [
        Response("+CMGL: 0,1,,36", DELIVER_HEX),
        Response('+CMGL: 7,0,"Bob, Jr",36', DELIVER_HEX.lower()),
    ]
    messages = commands.parse_stored_list(listing, "SM")
    assert [(m.storage, m.index, m.status) for m in messages] == [
        ("SM", 0, MessageStatus.REC_READ),
        ("SM", 7, MessageStatus.REC_UNREAD),
    ]
    assert messages[0].pdu == messages[1].pdu == bytes.fromhex(DELIVER_HEX)
    assert pdu.decode_deliver(messages[0].pdu).sender == "+33612345678"


def test_cmgl_without_alpha_field_is_accepted():
    (message,) = commands.parse_stored_list([Response("+CMGL: 4,1,36", DELIVER_HEX)], "SM")
    assert (message.index, message.status) == (4, MessageStatus.REC_READ)


def test_cmgl_ignores_lines_that_are_not_entries():
    listing = [Response("^RSSI:9"), Response("+CMGL: 1,1,,36", DELIVER_HEX)]
    assert [m.index for m in commands.parse_stored_list(listing, "SM")] == [1]


@pytest.mark.parametrize(
    "entry",
    [
        Response("+CMGL: 1,1,,36"),  # no PDU line
        Response("+CMGL: x,1,,36", DELIVER_HEX),
        Response("+CMGL: 1,9,,36", DELIVER_HEX),
        Response("+CMGL: 1", DELIVER_HEX),
        Response('+CMGL: 1,1,"unterminated,36', DELIVER_HEX),
        Response("+CMGL: 1,1,,36", DELIVER_HEX[:-1]),
    ],
)
def test_malformed_cmgl_entry_raises_a_typed_error(entry):
    with pytest.raises(MalformedResponse):
        commands.parse_stored_list([entry], "SM")


def test_cmgr_gives_the_message_at_the_index_asked():
    message = commands.parse_read([Response("+CMGR: 1,,36", DELIVER_HEX)], "SM", 12)
    assert message is not None
    assert (message.index, message.status, message.pdu) == (
        12,
        MessageStatus.REC_READ,
        bytes.fromhex(DELIVER_HEX),
    )


@pytest.mark.parametrize("answer", [[], [Response("+CMGR: 0,,0")]])
def test_cmgr_of_an_empty_slot_is_none(answer):
    assert commands.parse_read(answer, "SM", 3) is None


@pytest.mark.parametrize(("line", "reference"), [("+CMGS: 45", 45), ('+CMGS: 0,"26/03/14"', 0)])
def test_cmgs_gives_the_message_reference(line, reference):
    assert commands.parse_message_reference(lines(line)) == reference


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("+CSQ: 0,99", (0, -113)),
        ("+CSQ: 15,99", (15, -83)),
        ("+CSQ: 31,0", (31, -51)),
        ("+CSQ: 99,99", (None, None)),
        ("+CSQ: 120,99", (None, None)),
    ],
)
def test_csq_gives_rssi_and_dbm(line, expected):
    assert commands.parse_signal(lines(line)) == expected


@pytest.mark.parametrize(
    ("line", "state"),
    [
        ("+CREG: 0,1", "home"),
        ('+CREG: 2,5,"1A2B","00C3D4E5",2', "roaming"),
        ("+CREG: 0,2", "searching"),
        ("+CREG: 0,3", "denied"),
        ("+CREG: 0,0", "not registered"),
        ("+CREG: 0,4", "unknown"),
        ("+CREG: 1", "home"),  # a firmware answering with the unsolicited form
        ('+CREG: 5,"1A2B","00C3D4E5"', "roaming"),
        ("+CREG: 0,42", "unknown"),
    ],
)
def test_creg_maps_stat_to_a_registration_word(line, state):
    assert commands.parse_registration(lines(line)) == state


@pytest.mark.parametrize(
    ("line", "operator"),
    [('+COPS: 0,0,"Orange F",7', "Orange F"), ("+COPS: 0", None), ('+COPS: 0,2,"20801"', "20801")],
)
def test_cops_gives_the_operator_name(line, operator):
    assert commands.parse_operator(lines(line)) == operator


def test_cpms_query_names_each_memory():
    uses = commands.parse_storage(lines('+CPMS: "SM",3,30,"SM",3,30,"ME",0,255'))
    assert uses == [
        commands.StorageUse("SM", 3, 30),
        commands.StorageUse("SM", 3, 30),
        commands.StorageUse("ME", 0, 255),
    ]


def test_cpms_set_answer_has_no_names():
    assert commands.parse_storage(lines("+CPMS: 14,50,14,50"))[0] == commands.StorageUse(
        None, 14, 50
    )


@pytest.mark.parametrize(
    ("line", "smsc"),
    [
        ('+CSCA: "+33689004000",145', "+33689004000"),
        ('+CSCA: "",129', None),
        ('+CSCA: "002B00330033003600380039003000300034003000300030",145', "+33689004000"),
    ],
)
def test_csca_gives_the_service_centre(line, smsc):
    assert commands.parse_smsc(lines(line)) == smsc


@pytest.mark.parametrize(
    ("line", "state"),
    [("+CPIN: READY", "READY"), ("+CPIN: SIM PIN", "SIM PIN"), ('+CPIN: "SIM PUK"', "SIM PUK")],
)
def test_cpin_gives_the_sim_state(line, state):
    assert commands.parse_pin_state(lines(line)) == state


@pytest.mark.parametrize(
    ("answer", "command", "value"),
    [
        (["huawei"], commands.MANUFACTURER, "huawei"),
        (["+CGMI: Quectel"], commands.MANUFACTURER, "Quectel"),
        (['+CGSN: "866191037345012"'], commands.IMEI, "866191037345012"),
        (
            ["V ICPR72_08w44.1", "24-11-08", "RM-348"],
            commands.FIRMWARE,
            "V ICPR72_08w44.1 24-11-08 RM-348",
        ),
        ([], commands.MODEL, ""),
    ],
)
def test_identity_lines_lose_their_optional_prefix(answer, command, value):
    assert commands.parse_text(lines(*answer), command) == value


def test_ati_answer_gives_the_identity_keys_it_has():
    answer = lines(
        "Manufacturer: huawei",
        "Model: E173",
        "Revision: 11.126.85.00.209",
        "IMEI: 354",
        "+GCAP: +CGSM",
    )
    assert commands.parse_info(answer) == {
        "manufacturer": "huawei",
        "model": "E173",
        "firmware": "11.126.85.00.209",
        "imei": "354",
    }


def test_ati_single_line_is_the_model():
    assert commands.parse_info(lines("SIM800 R14.18")) == {"model": "SIM800 R14.18"}


#: The parsers of a one-line answer (``+CSQ: ...``) to a command that takes no argument.
ONE_LINE_PARSERS = (
    commands.parse_signal,
    commands.parse_registration,
    commands.parse_operator,
    commands.parse_storage,
    commands.parse_smsc,
    commands.parse_pin_state,
    commands.parse_message_reference,
)


@pytest.mark.parametrize("parse", ONE_LINE_PARSERS)
def test_missing_answer_line_raises_a_typed_error(parse):
    with pytest.raises(MalformedResponse, match="no \\+C"):
        parse(lines("^RSSI:3"))


@settings(max_examples=300)
@given(text=st.text(max_size=60), pdu_hex=st.none() | st.text("0123456789ABCDEFx", max_size=20))
def test_any_line_parses_or_raises_a_modem_error(text, pdu_hex):
    for prefix in (
        "+CMGL: ",
        "+CSQ: ",
        "+CREG: ",
        "+COPS: ",
        "+CPMS: ",
        "+CSCA: ",
        "+CPIN: ",
        "+CMGS: ",
    ):
        answer = [Response(prefix + text, pdu_hex)]
        for parse in (
            lambda a: commands.parse_stored_list(a, "SM"),
            lambda a: commands.parse_read(a, "SM", 1),
            *ONE_LINE_PARSERS,
        ):
            with contextlib.suppress(ModemError):
                parse(answer)


def test_builders_write_the_ts_27005_syntax():
    assert commands.list_messages().text == "AT+CMGL=4"
    assert commands.read_message(3).text == "AT+CMGR=3"
    assert commands.delete_message(17).text == "AT+CMGD=17"
    assert commands.DELETE_READ.text == "AT+CMGD=1,1"
    assert commands.send_message(19).text == "AT+CMGS=19"
    assert commands.select_storage("SM", "SM", "SM").text == 'AT+CPMS="SM","SM","SM"'


def test_pin_is_masked_when_the_command_is_printed():
    command = commands.enter_pin("1234")
    assert command.text == 'AT+CPIN="1234"'
    assert "1234" not in str(command)


@pytest.mark.parametrize(
    ("kind", "code", "error"),
    [
        (ResultKind.CME_ERROR, 10, SimNotInserted),
        (ResultKind.CME_ERROR, 11, SimPinRequired),
        (ResultKind.CMS_ERROR, 311, SimPinRequired),
        (ResultKind.CMS_ERROR, 316, SimPukRequired),
        (ResultKind.CMS_ERROR, 322, StorageFull),
        (ResultKind.CME_ERROR, 20, StorageFull),
        (ResultKind.CMS_ERROR, 512, CmsError),
        (ResultKind.CME_ERROR, 3, CmeError),
        (ResultKind.ERROR, None, AtError),
    ],
)
def test_final_results_become_the_error_a_person_can_act_on(kind, code, error):
    assert type(commands.error_for(commands.AT, Final(kind, code, "x"))) is error


def test_storage_full_keeps_the_cms_code_as_its_cause():
    error = commands.error_for(commands.AT, Final(ResultKind.CMS_ERROR, 322, "+CMS ERROR: 322"))
    assert isinstance(error.__cause__, CmsError) and error.__cause__.code == 322


def test_busy_codes_are_retryable():
    error = commands.error_for(commands.AT, Final(ResultKind.CMS_ERROR, 512, "+CMS ERROR: 512"))
    assert isinstance(error, CmsError) and error.retryable


def test_unknown_verbose_error_keeps_the_modem_words():
    final = Final(ResultKind.CME_ERROR, None, "+CME ERROR: operation not allowed in this state")
    error = commands.error_for(commands.AT, final)
    assert isinstance(error, CmeError)
    assert (error.code, error.meaning) == (100, "operation not allowed in this state")


def test_pin_never_appears_in_an_error_message():
    error = commands.error_for(commands.enter_pin("4321"), Final(ResultKind.CME_ERROR, 16, "x"))
    assert "4321" not in str(error)


def _listing_from_bytes(stream: bytes) -> list[Response]:
    """What the parser makes of an AT+CMGL=4 answer, as at_modem hands it to the command parser."""
    parser = AtParser()
    parser.begin("AT+CMGL=4", ("+CMGL",))
    return [event for event in parser.feed(stream) if isinstance(event, Response)]


@pytest.mark.parametrize("noise_first", [True, False], ids=["noise-before-pdu", "noise-after-pdu"])
def test_a_hex_looking_noise_line_is_not_taken_for_the_pdu(noise_first):
    """Noise of hex digits must not stand for the PDU: the slot would be quarantined and lost."""
    noise = b"0A1B2C3D"
    pdu_lines = [noise, DELIVER_HEX.encode()] if noise_first else [DELIVER_HEX.encode(), noise]
    stream = b"\r\n".join([b"+CMGL: 3,0,,36", *pdu_lines, b"+CMGL: 4,1,,36", DELIVER_HEX.encode()])
    listing = _listing_from_bytes(stream + b"\r\n\r\nOK\r\n")
    messages = commands.parse_stored_list(listing, "SM")
    assert [(m.index, m.pdu) for m in messages] == [
        (3, bytes.fromhex(DELIVER_HEX)),
        (4, bytes.fromhex(DELIVER_HEX)),
    ]


def test_a_read_slot_keeps_its_pdu_past_a_hex_noise_line():
    parser = AtParser()
    parser.begin("AT+CMGR=3", ("+CMGR",))
    stream = f"+CMGR: 0,,36\r\nABCD\r\n{DELIVER_HEX}\r\n\r\nOK\r\n".encode()
    answer = [event for event in parser.feed(stream) if isinstance(event, Response)]
    message = commands.parse_read(answer, "SM", 3)
    assert message is not None and message.pdu == bytes.fromhex(DELIVER_HEX)


def test_a_pdu_whose_size_disagrees_with_its_header_is_kept_when_nothing_fits_better():
    """Firmwares that misreport <length> still get their PDU read (and decoded, or quarantined)."""
    (message,) = commands.parse_stored_list([Response("+CMGL: 2,1,,99", DELIVER_HEX)], "SM")
    assert message.pdu == bytes.fromhex(DELIVER_HEX)


@pytest.mark.parametrize(
    ("indications", "silent"),
    [
        ("AT+CNMI=2,1,0,0,0", "AT+CNMI=2,0,0,0,0"),
        ("AT+CNMI=2,1", "AT+CNMI=2,0"),
        ("AT+CNMI=1,1,0,0,0", "AT+CNMI=1,0,0,0,0"),
    ],
)
def test_new_message_indications_without_cmti_keep_every_other_setting(indications, silent):
    assert commands.without_indications(commands.Command(indications)).text == silent
