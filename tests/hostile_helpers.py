"""Hostile SMS as an attacker's modem sends them, and a real terminal to print them on.

Click strips ESC sequences when stdout is a pipe, so what a command shows an operator can only
be checked on a pseudo-terminal: ``on_pty`` runs a command with its stdout and stderr on one,
in raw mode (no LF -> CRLF translation), and returns the exact bytes it wrote.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tty
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from daemon_helpers import CLI_ARGV

from anti_relous.modem import pdu

SMSC_TIME = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)

#: What must never reach a terminal raw: bidi embeddings, overrides and isolates, marks...
BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
#: ...and zero-width characters (a joiner is legitimate only inside an emoji sequence).
ZERO_WIDTH = {0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF}


def ucs2_deliver(sender: str, text: str) -> bytes:
    """An SMS-DELIVER carrying ``text`` in UCS-2 as is, control characters included.

    Built by hand: gammu's encoder (which the simulator uses) cuts a text at U+0000.
    """
    placeholder = "x" * len(text)  # same length, so the same user data length
    (raw,) = pdu.encode_deliver(sender, placeholder, SMSC_TIME, ucs2=True)
    return raw[: -2 * len(text)] + text.encode("utf-16-be")


def plus_sender_deliver(text: str) -> bytes:
    """An SMS-DELIVER from the alphanumeric sender ``+1+1``, a formula to a spreadsheet.

    gammu encodes any sender starting with ``+`` as an international number (``+11``), so the
    PDU is encoded from ``a1+1`` and its first GSM 7-bit character is turned into ``+``: it sits
    in the low 7 bits of the first octet of the packed address (3GPP TS 23.040 9.1.2.5).
    """
    (raw,) = pdu.encode_deliver("a1+1", text, SMSC_TIME)
    address = 1 + raw[0] + 3  # SMSC field, then first octet, address length, type of address
    patched = bytearray(raw)
    patched[address] = (raw[address] & 0x80) | 0x2B  # "+" in the GSM 7-bit default alphabet
    assert pdu.decode_deliver(bytes(patched)).sender == "+1+1"
    return bytes(patched)


def raw_dangers(shown: str) -> list[str]:
    """The characters of ``shown`` a terminal would obey or that hide text: every C0 control
    but LF, DEL, C1 controls, bidi and zero-width characters, line/paragraph separators."""
    bad = []
    for position, char in enumerate(shown):
        code = ord(char)
        if char == "\n":
            continue
        category = unicodedata.category(char)
        if (
            category in ("Cc", "Cs", "Zl", "Zp")
            or code in BIDI
            or (code in ZERO_WIDTH and not _joins_emoji(shown, position))
        ):
            bad.append(char)
    return bad


def _joins_emoji(shown: str, position: int) -> bool:
    if shown[position] != "\u200d":
        return False
    before, after = shown[position - 1 : position], shown[position + 1 : position + 2]
    return all(c and unicodedata.category(c) in ("So", "Sk", "Mn") for c in (before, after))


@dataclass(frozen=True)
class Screen:
    """What a command wrote to its terminal (stdout and stderr together) and its exit code."""

    data: bytes
    exit_code: int

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


def on_pty(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 60
) -> Screen:
    """Run ``anti-relous ARGS`` with stdout and stderr on a raw pseudo-terminal."""
    master, slave = os.openpty()
    tty.setraw(slave)  # no output processing: a CR in the data was written by the command
    try:
        process = subprocess.Popen(
            [*CLI_ARGV, *args],
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
        )
    finally:
        os.close(slave)
    data = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every copy of the slave end is closed
                break
            if not chunk:
                break
            data += chunk
        exit_code = process.wait(timeout)
    finally:
        with contextlib.suppress(OSError):
            os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    return Screen(bytes(data), exit_code)
