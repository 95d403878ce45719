"""The sans-I/O AT parser against real-dialect transcripts and unpleasant byte streams."""

from __future__ import annotations

import codecs
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anti_relous.modem.at import (
    AtParser,
    Discarded,
    Echo,
    Final,
    Prompt,
    Response,
    ResultKind,
    Urc,
)

TRANSCRIPTS = Path(__file__).parent / "data" / "transcripts"
TRANSCRIPT_FILES = sorted(TRANSCRIPTS.glob("*.txt"))
CMGL_PDU = (
    "07913306091093F0000B913316325476F800006230411250000013D330BB4E6781DE6ED0BC0CB2BFD374D00F"
)


@dataclass
class Exchange:
    """What happens between two ``send`` lines of a transcript."""

    begin: tuple[str, tuple[str, ...], bool, str | None] | None = None
    end_first: bool = False
    received: list[bytes] = field(default_factory=list)
    expected: list[object] = field(default_factory=list)


def load(path: Path) -> list[Exchange]:
    exchanges = [Exchange()]
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith(("#", "device:")):
            continue
        word, _, rest = raw.partition(" ")
        try:
            _directive(exchanges, word, rest)
        except (ValueError, KeyError) as error:
            raise AssertionError(f"{path.name}:{number}: cannot read {raw!r}: {error}") from None
    return exchanges


def _directive(exchanges: list[Exchange], word: str, rest: str) -> None:
    current = exchanges[-1]
    if word == "send":
        command, *options = rest.split(" | ")
        prefixes: tuple[str, ...] = ()
        prompt, body = False, None
        for option in options:
            if option.startswith("prompt"):
                prompt, body = True, option.partition(" ")[2] or None
            else:
                prefixes = tuple(option.split())
        exchanges.append(Exchange(begin=(command, prefixes, prompt, body)))
    elif word == "end":
        exchanges.append(Exchange(end_first=True))
    elif word == "recv":
        current.received.append(codecs.escape_decode(rest.encode())[0])
    else:
        current.expected.append(_expected(word, rest))


def _expected(word: str, rest: str) -> object:
    text, _, pdu = rest.partition(" || ")
    if word == "echo":
        return Echo(rest)
    if word == "response":
        return Response(text, pdu or None)
    if word in ("urc", "urc?"):
        head, colon, _ = text.partition(":")
        name = head.strip() if colon else text.strip()
        return Urc(name, text, pdu or None, known=word == "urc")
    if word == "final":
        kind, _, code = rest.partition(" ")
        return ("final", ResultKind[kind], None if code in ("", "?") else int(code))
    if word == "prompt":
        return Prompt()
    if word == "discarded":
        return ("discarded", rest)
    raise ValueError(f"unknown directive {word!r}")


def comparable(event: object) -> object:
    """Finals compare by kind and code, discards by reason: the rest is for logs."""
    if isinstance(event, Final):
        return ("final", event.kind, event.code)
    if isinstance(event, Discarded):
        return ("discarded", event.reason)
    return event


def matches(actual: list[object], expected: list[object]) -> bool:
    if len(actual) != len(expected):
        return False
    for got, want in zip(actual, expected, strict=True):
        if isinstance(want, tuple) and want[0] == "discarded":
            if not (
                isinstance(got, tuple) and got[0] == "discarded" and got[1].startswith(want[1])
            ):
                return False
        elif got != want:
            return False
    return True


def run(exchanges: list[Exchange], split) -> list[list[object]]:
    """Feed every exchange, its bytes cut by ``split``; the events of each exchange."""
    parser = AtParser()
    results = []
    for exchange in exchanges:
        events: list[object] = []
        if exchange.end_first:
            events += parser.end()
        if exchange.begin is not None:
            command, prefixes, prompt, body = exchange.begin
            parser.begin(command, prefixes, prompt=prompt, body=body)
        for piece in split(b"".join(exchange.received)):
            events += parser.feed(piece)
        results.append([comparable(event) for event in events])
    return results


def whole(data: bytes) -> list[bytes]:
    return [data]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def expected_events(exchanges: list[Exchange]) -> list[list[object]]:
    return [exchange.expected for exchange in exchanges]


def assert_matches(results: list[list[object]], exchanges: list[Exchange]) -> None:
    for got, exchange in zip(results, exchanges, strict=True):
        assert matches(got, exchange.expected), (exchange.begin, got, exchange.expected)


@pytest.fixture(params=TRANSCRIPT_FILES, ids=lambda path: path.stem)
def transcript(request) -> list[Exchange]:
    return load(request.param)


def test_transcripts_cover_the_dialects():
    names = {path.stem for path in TRANSCRIPT_FILES}
    assert {"huawei_e173", "huawei_e3131_cmgl", "zte_mf190", "simcom_sim800"} <= names
    assert {"quectel_ec25", "wavecom"} <= names


def test_transcript_fed_whole_gives_the_expected_events(transcript):
    assert_matches(run(transcript, whole), transcript)


def test_transcript_fed_one_byte_at_a_time_gives_the_expected_events(transcript):
    assert_matches(run(transcript, bytewise), transcript)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(TRANSCRIPT_FILES), data=st.data())
def test_transcript_in_random_chunks_gives_the_expected_events(path, data):
    exchanges = load(path)

    def random_split(blob: bytes) -> list[bytes]:
        cuts = sorted(data.draw(st.sets(st.integers(0, len(blob)), max_size=12)))
        edges = [0, *cuts, len(blob)]
        return [blob[a:b] for a, b in itertools.pairwise(edges) if b > a]

    assert_matches(run(exchanges, random_split), exchanges)


@settings(max_examples=300)
@given(
    steps=st.lists(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from(["AT", "AT+CMGL=4", "AT+CMGS=19", "AT+CPIN?"]),
            st.just(None),
        ),
        max_size=20,
    )
)
def test_random_byte_streams_never_raise(steps):
    parser = AtParser(max_line=64)
    for step in steps:
        if step is None:
            parser.end()
        elif isinstance(step, str):
            parser.begin(step, ("+CMGL", "+CPIN", "+CMGS"), prompt=step.startswith("AT+CMGS"))
        else:
            for event in parser.feed(step):
                assert isinstance(event, Echo | Response | Final | Urc | Prompt | Discarded)


@settings(max_examples=100)
@given(path=st.sampled_from(TRANSCRIPT_FILES), data=st.data())
def test_mutated_transcripts_never_raise(path, data):
    parser = AtParser()
    for exchange in load(path):
        if exchange.begin is not None:
            command, prefixes, prompt, body = exchange.begin
            parser.begin(command, prefixes, prompt=prompt, body=body)
        blob = bytearray(b"".join(exchange.received))
        for _ in range(data.draw(st.integers(0, 5))):
            position = data.draw(st.integers(0, len(blob)))
            blob[position:position] = data.draw(st.binary(min_size=1, max_size=3))
            if blob and data.draw(st.booleans()):
                del blob[data.draw(st.integers(0, len(blob) - 1))]
        parser.feed(bytes(blob))


def test_urc_between_two_cmgl_entries_is_not_lost():
    parser = AtParser()
    parser.begin("AT+CMGL=4", ("+CMGL",))
    events = parser.feed(
        f'+CMGL: 0,1,,36\r\n{CMGL_PDU}\r\n+CMTI: "SM",5\r\n+CMGL: 1,1,,36\r\n{CMGL_PDU}\r\n'
        "OK\r\n".encode()
    )
    assert Urc("+CMTI", '+CMTI: "SM",5') in events
    assert [e for e in events if isinstance(e, Response)] == [
        Response("+CMGL: 0,1,,36", CMGL_PDU),
        Response("+CMGL: 1,1,,36", CMGL_PDU),
    ]


def test_urc_between_a_header_and_its_pdu_leaves_the_pdu_with_the_header():
    parser = AtParser()
    parser.begin("AT+CMGL=4", ("+CMGL",))
    events = parser.feed(f"+CMGL: 3,0,,36\r\n^RSSI:9\r\n{CMGL_PDU}\r\nOK\r\n".encode())
    assert events[:2] == [Urc("^RSSI", "^RSSI:9"), Response("+CMGL: 3,0,,36", CMGL_PDU)]


def test_header_without_pdu_comes_out_without_one():
    parser = AtParser()
    parser.begin("AT+CMGL=4", ("+CMGL",))
    events = parser.feed(b"+CMGL: 3,0,,36\r\nOK\r\n")
    assert events == [
        Response("+CMGL: 3,0,,36"),
        Final(ResultKind.OK, text="OK", command="AT+CMGL=4"),
    ]


def test_cpin_ready_is_a_urc_unless_the_command_asks_for_cpin():
    parser = AtParser()
    parser.begin("AT+CSQ", ("+CSQ",))
    assert parser.feed(b"+CPIN: READY\r\n") == [Urc("+CPIN", "+CPIN: READY")]
    parser.begin("AT+CPIN?", ("+CPIN",))
    assert parser.feed(b"+CPIN: READY\r\n") == [Response("+CPIN: READY")]


def test_no_carrier_is_final_only_while_a_command_runs():
    parser = AtParser()
    assert parser.feed(b"NO CARRIER\r\n") == [Urc("NO CARRIER", "NO CARRIER")]
    parser.begin("ATD123;")
    assert parser.feed(b"NO CARRIER\r\n") == [
        Final(ResultKind.NO_CARRIER, text="NO CARRIER", command="ATD123;")
    ]


def test_a_final_result_ends_the_command():
    parser = AtParser()
    parser.begin("AT+CGMI", ("+CGMI",))
    parser.feed(b"huawei\r\nOK\r\n")
    assert parser.command is None
    assert parser.feed(b"huawei\r\n") == [Urc("huawei", "huawei", known=False)]


def test_echo_is_recognised_once_per_command():
    parser = AtParser()
    parser.begin("AT", ())
    assert parser.feed(b"AT\r\rAT\r\n") == [Echo("AT"), Response("AT")]


def test_echo_is_recognised_with_echo_off_requested_but_ignored():
    """A modem that keeps echoing after ATE0 still parses."""
    parser = AtParser()
    parser.begin("AT+CMGF=0")
    assert parser.feed(b"AT+CMGF=0\r\r\nOK\r\n")[0] == Echo("AT+CMGF=0")


@pytest.mark.parametrize(
    ("line", "kind", "code"),
    [
        (b"+CMS ERROR: 322", ResultKind.CMS_ERROR, 322),
        (b"+CMS ERROR:515", ResultKind.CMS_ERROR, 515),
        (b"+CME ERROR: 11", ResultKind.CME_ERROR, 11),
        (b"+CME ERROR: incorrect password", ResultKind.CME_ERROR, 16),
        (b"+CMS ERROR: memory full", ResultKind.CMS_ERROR, 322),
        (b"TOO MANY PARAMETERS", ResultKind.ERROR, None),
    ],
)
def test_error_results_carry_their_code(line, kind, code):
    parser = AtParser()
    parser.begin("AT+CMGS=19", ("+CMGS",))
    (final,) = parser.feed(line + b"\r\n")
    assert (final.kind, final.code, final.ok) == (kind, code, False)


def test_prompt_arrives_without_a_line_terminator():
    parser = AtParser()
    parser.begin("AT+CMGS=19", ("+CMGS",), prompt=True, body="0011")
    assert parser.feed(b"\r\n> ") == [Prompt()]


def test_greater_than_sign_is_text_when_no_prompt_is_due():
    parser = AtParser()
    parser.begin("AT+CGMR", ("+CGMR",))
    assert parser.feed(b"> 1.0\r\n") == [Response("> 1.0")]


def test_pdu_line_after_cmt_belongs_to_the_urc_even_inside_a_response():
    parser = AtParser()
    parser.begin("AT+CSQ", ("+CSQ",))
    events = parser.feed(f'+CMT: "",36\r\n{CMGL_PDU}\r\n+CSQ: 9,99\r\nOK\r\n'.encode())
    assert events[:2] == [Urc("+CMT", '+CMT: "",36', CMGL_PDU), Response("+CSQ: 9,99")]


def test_line_longer_than_the_limit_is_dropped_and_the_next_line_survives():
    parser = AtParser(max_line=100)
    parser.begin("AT", ())
    events = parser.feed(b"A" * 500 + b"\r\nOK\r\n")
    assert [type(event) for event in events] == [Discarded, Final]
    assert events[0].reason == "line longer than 100 bytes"
    assert parser.discarded_bytes == 500


def test_endless_line_without_terminator_does_not_grow_memory():
    parser = AtParser(max_line=100)
    events = []
    for _ in range(1000):
        events += parser.feed(b"x" * 1000)
        assert parser.buffered_bytes <= 100
    assert len(events) == 1
    assert parser.feed(b"\r\nRING\r\n") == [Urc("RING", "RING")]


def test_garbage_before_a_line_is_counted_and_the_line_kept():
    parser = AtParser()
    parser.begin("AT", ())
    events = parser.feed(b"\x00\xff\x1bOK\r\n")
    assert events == [
        Discarded("non-text bytes before a line", b"\x00\xff\x1b"),
        Final(ResultKind.OK, text="OK", command="AT"),
    ]
    assert parser.discarded_bytes == 3


def test_final_result_names_its_command_and_a_stray_one_names_none():
    parser = AtParser()
    parser.begin("AT+CMGD=3")
    (answer,) = parser.feed(b"OK\r\n")
    (stray,) = parser.feed(b"OK\r\n")
    assert (answer.command, stray.command) == ("AT+CMGD=3", None)
