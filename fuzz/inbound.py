"""Coverage-guided fuzzing of the inbound path with atheris (a manual tool, not run in CI).

    pip install atheris          # next to anti-relous, e.g. pip install --target DIR atheris
    python fuzz/inbound.py -max_total_time=300 [-jobs=N] [CORPUS_DIR ...]

One input drives, in turn: the AT parser (as the bytes a modem answers to AT+CMGL=4, cut in
two), the listing parser over the responses, the PDU decoder over every listed PDU and over the
input itself, and the store's ingest of all those parts into a database in a temporary
directory. An exception other than the typed ones, or a broken invariant, stops the run with the
input that caused it. Without a corpus directory, the run starts from the dialect transcripts
and real PDUs in tests/data, plus a few made here.
"""

from __future__ import annotations

import codecs
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from anti_relous.modem import commands, pdu
    from anti_relous.modem.at import AtParser, Discarded, Echo, Final, Prompt, Response, Urc
    from anti_relous.modem.errors import ModemError
    from anti_relous.store import Store

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
TYPED_EVENTS = (Echo, Response, Final, Urc, Prompt, Discarded)

_workdir = tempfile.TemporaryDirectory(prefix="anti-relous-fuzz-")
_store = Store.open(Path(_workdir.name) / "fuzz.db")
_next_index = 0


def one_input(data: bytes) -> None:
    """The fuzz target: see the module docstring."""
    global _next_index
    cut = data[0] % (len(data) + 1) if data else 0
    parser = AtParser(max_line=512)
    parser.begin("AT+CMGL=4", ("+CMGL",))
    events = parser.feed(data[:cut]) + parser.feed(data[cut:]) + parser.end()
    if not all(isinstance(event, TYPED_EVENTS) for event in events):
        raise AssertionError(f"untyped event in {events!r}")
    if parser.buffered_bytes > 512:
        raise AssertionError("the parser buffers past max_line")
    try:
        listed = commands.parse_stored_list([e for e in events if isinstance(e, Response)], "SM")
    except ModemError:
        listed = []
    raws = [message.pdu for message in listed] + [data]
    parts = []
    for raw in raws:
        _next_index += 1
        parts.append(pdu.decode_stored("SM", _next_index, raw, unread=True))
    result = _store.inbound.ingest(parts, NOW, "FR")
    if result.new_parts != len(parts):
        raise AssertionError(f"{len(parts)} parts in, {result.new_parts} stored")


def seeds(directory: Path) -> None:
    """Write starting inputs: transcript answers and real PDUs."""
    for number, path in enumerate(sorted((DATA / "transcripts").glob("*.txt"))):
        received = [
            codecs.escape_decode(line[5:].encode())[0]
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("recv ")
        ]
        (directory / f"transcript-{number}").write_bytes(b"".join(received))
    real = [
        *pdu.encode_deliver("+33612345678", "salut, ça va ?", NOW),
        *pdu.encode_deliver("SFR Info", "prix: 5€ [promo] " * 12, NOW, reference=5),
        *(bytes.fromhex(line) for line in (DATA / "deliver_concat16.hex").read_text().split()),
        bytes.fromhex((DATA / "status_report.hex").read_text().strip()),
    ]
    for number, raw in enumerate(real):
        (directory / f"pdu-{number}").write_bytes(raw)
        listing = f"\r\n+CMGL: {number},0,,{len(raw) - 1 - raw[0]}\r\n{raw.hex().upper()}\r\n"
        (directory / f"listing-{number}").write_bytes(listing.encode() + b"\r\nOK\r\n")


def main() -> None:
    """Run libFuzzer; with no corpus directory given, seed a temporary one."""
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        corpus = Path(_workdir.name) / "corpus"
        corpus.mkdir()
        seeds(corpus)
        argv.append(str(corpus))
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
