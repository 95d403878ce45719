"""What a texter wrote never drives the operator's terminal, end to end.

Hostile texts (UCS-2 carrying ESC sequences, C0 and C1 controls, bidi overrides, zero-width
characters) and hostile alphanumeric senders (a terminal reset, spreadsheet formulas) reach
`anti-relous run` through the simulated dongle as an attacker's modem would send them. Then every
command that prints runs on a real pseudo-terminal, where click does not strip ESC as it does on a
pipe, and the bytes it wrote are read back: no control but LF, no C1, bidi or zero-width character
comes through raw, and the JSON outputs parse back to the exact texts.
"""

from __future__ import annotations

import json

import pytest
from cli_helpers import Line
from daemon_helpers import Daemon, eventually, write_config
from hostile_helpers import Screen, on_pty, plus_sender_deliver, raw_dangers, ucs2_deliver

from anti_relous.simulator.device import ModemSimulator

pytestmark = pytest.mark.slow

TEXTER = "+33612345678"
#: UCS-2 texts, sent as is (the simulator's gammu encoder would cut them at U+0000).
HOSTILE_TEXTS = [
    "je vais te tuer\x1b[15D\x1b[Kbonjour !",  # shows as "bonjour !" on a terminal
    "\x1b]0;pwned\x07salut",  # sets the window title
    "\x1b[2J\x1b[Hcoucou",  # clears the screen
    "je te retrouverai" + "\x08" * 17 + "ok",  # backspaces over the threat
    "bip\x07nul\x00vt\x0bff\x0cfin",
    "\x0eshift out\x0fshift in\x7fdel",
    "\x9b2J\x9b31mrouge \x85nel \x9d0;titre\x9c",  # C1: U+009B is CSI on some terminals
    "\u202aa\u202bb\u202cc\u202dd\u202egpj.exe",  # bidi embeddings and overrides
    "\u2066a\u2067b\u2068c\u2069 isolats",
    "pay\u200bpal\u200c\u200d\u2060\ufeff",  # zero-width
]
#: Alphanumeric senders as a network delivers them, packed in the GSM 03.38 alphabet: it holds
#: CR (back to the start of the row, to write over it) and, through its extension table, FF
#: (a new page, or a cleared screen); ESC is not a character there. The rest are formulas.
HOSTILE_SENDERS = ["\x0cpage", "tuer\rok", "=1+1", "@SUM(A1)"]
PLUS_SENDER = "+1+1"
#: Typed by an operator who copied it from a hostile sender or text.
HOSTILE_REASON = "menaces \x1b[2J\u202eeton"
HOSTILE_ARGUMENT = "\x1b[2J06\u202e12"


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """A daemon that received every hostile text and sender, then a block and a pause whose
    reasons an operator pasted from them."""
    directory = tmp_path_factory.mktemp("hostile")
    with ModemSimulator(link=directory / "modem") as sim:
        daemon = Daemon(write_config(directory, sim), directory / "line.db").start().wait_ready()
        try:
            for text in HOSTILE_TEXTS:
                sim.deliver_pdu(ucs2_deliver(TEXTER, text))
            for sender in HOSTILE_SENDERS:
                sim.deliver(sender, f"de {sender}")
            sim.deliver_pdu(plus_sender_deliver("de +1+1"))
            expected = len(HOSTILE_TEXTS) + len(HOSTILE_SENDERS) + 1
            assert eventually(lambda: daemon.count("SELECT count(*) FROM decisions") == expected), (
                daemon.log
            )
            run(daemon, "block", "0698765432", "--reason", HOSTILE_REASON)
            run(daemon, "pause", "--reason", HOSTILE_REASON)
            yield daemon
        finally:
            daemon.stop()


def run(daemon: Daemon, *args: str) -> Screen:
    return on_pty(["--config", str(daemon.config_path), *args])


def message_id(daemon: Daemon, text: str) -> int:
    return int(daemon.query("SELECT id FROM messages WHERE text = ?", (text,))[0][0])


PRINTING_COMMANDS = {
    "inbox": ["inbox", "--last", "100"],
    "inbox --full": ["inbox", "--full", "--last", "100"],
    "inbox --json": ["inbox", "--json", "--last", "100"],
    "inbox --from an alphanumeric sender": ["inbox", "--from", "\x0cpage"],
    "outbox": ["outbox"],
    "outbox --json": ["outbox", "--json"],
    "blocks": ["blocks"],
    "blocks --json": ["blocks", "--json"],
    "status": ["status"],
    "status --json": ["status", "--json"],
    "stats": ["stats"],
    "stats --json": ["stats", "--json"],
    "doctor": ["doctor", "--no-modem"],
    "doctor --json": ["doctor", "--no-modem", "--json"],
    "verify": ["verify"],
    "export to the terminal": ["export"],
    "export --format csv to the terminal": ["export", "--format", "csv"],
    "send to a hostile number": ["send", HOSTILE_ARGUMENT, "test"],
    "block a hostile number": ["block", HOSTILE_ARGUMENT],
    "inbox --from a hostile number": ["inbox", "--from", HOSTILE_ARGUMENT],
}


@pytest.mark.parametrize("args", PRINTING_COMMANDS.values(), ids=PRINTING_COMMANDS.keys())
def test_no_command_lets_a_raw_control_reach_the_terminal(line, args):
    screen = run(line, *args)
    assert screen.data, "the command printed nothing"
    assert raw_dangers(screen.text) == [], screen.text


def test_inbox_on_a_terminal_shows_the_hidden_threat_and_the_escapes(line):
    shown = run(line, "inbox", "--last", "100").text
    assert "je vais te tuer\\x1b[15D\\x1b[Kbonjour !" in shown
    assert "\\x0cpage" in shown  # the sender that would have cleared the screen


def test_inbox_id_shows_a_text_in_full_with_its_line_breaks(line):
    text = "je vais te tuer\x1b[15D\x1b[Kbonjour !"
    shown = run(line, "inbox", "--id", str(message_id(line, text))).text
    assert "je vais te tuer\\x1b[15D\\x1b[Kbonjour !" in shown
    assert raw_dangers(shown) == []


def test_inbox_json_on_a_terminal_parses_back_to_the_exact_texts_and_senders(line):
    screen = run(line, "inbox", "--json", "--last", "100")
    rows = json.loads(screen.text)
    assert {row["text"] for row in rows} >= set(HOSTILE_TEXTS)
    assert {row["sender_raw"] for row in rows} >= {*HOSTILE_SENDERS, PLUS_SENDER}


def test_json_export_on_a_terminal_parses_back_to_the_exact_texts_and_senders(line):
    screen = run(line, "export")
    records = [json.loads(record) for record in screen.text.split("\n")[:-1]]
    assert [r["text"] for r in records[: len(HOSTILE_TEXTS)]] == HOSTILE_TEXTS
    assert [r["sender_raw"] for r in records[len(HOSTILE_TEXTS) :]] == [
        *HOSTILE_SENDERS,
        PLUS_SENDER,
    ]


def test_blocks_and_status_json_keep_the_pasted_reason_exact(line):
    (block,) = json.loads(run(line, "blocks", "--json").text)
    assert block["reason"] == HOSTILE_REASON
    assert json.loads(run(line, "status", "--json").text)["pause_reason"] == HOSTILE_REASON


def test_csv_export_to_a_terminal_is_refused_with_what_to_do(line):
    screen = run(line, "export", "--format", "csv")
    assert screen.exit_code == 2
    assert "--output" in screen.text


def test_verify_shows_a_tampered_hostile_row_escaped(tmp_path):
    line = Line(tmp_path)
    line.receive("\x1bc", HOSTILE_TEXTS[0])
    with line.store() as store:
        store.db.conn.execute("UPDATE messages SET text = text || '\x1b[2J' WHERE id = 1")
    screen = on_pty(["--config", str(line.config_path), "verify"])
    assert screen.exit_code == 1
    assert "BROKEN at message 1" in screen.text
    assert "je vais te tuer\\x1b[15D" in screen.text
    assert raw_dangers(screen.text) == []
