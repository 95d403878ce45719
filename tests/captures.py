"""Answers and PDUs other people recorded from real devices (tests/data/captures/), as vectors.

Each file names its source at its top. A dump is a command and the answer that followed it, as
stored there; ``Dump.wire`` frames the answer the way a modem sends it (CR LF after each line).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

CAPTURES = Path(__file__).parent / "data" / "captures"


@dataclass(frozen=True)
class Dump:
    """One recorded exchange: the command typed and the answer's lines."""

    name: str
    command: str
    lines: tuple[str, ...]

    @property
    def wire(self) -> bytes:
        """The answer as the modem writes it: every line ended by CR LF."""
        return b"".join(b"\r\n" + line.encode("latin-1") + b"\r\n" for line in self.lines)

    @property
    def pdu(self) -> bytes:
        """The first all-hex line of the answer, as bytes (the stored SMS of an AT+CMGR)."""
        for line in self.lines:
            if line and all(c in "0123456789abcdefABCDEF" for c in line) and len(line) % 2 == 0:
                return bytes.fromhex(line)
        raise ValueError(f"no PDU line in dump {self.name}")


@cache
def dumps(file: str) -> dict[str, Dump]:
    """The dumps of ``file`` by name (``"39"``, ``"at-creg/huawei.dump"``)."""
    found: dict[str, Dump] = {}
    name: str | None = None
    lines: list[str] = []
    for line in (CAPTURES / file).read_text(encoding="utf-8").split("\n"):
        if line.startswith("== ") and line.endswith(" =="):
            if name is not None:
                found[name] = _dump(name, lines)
            name, lines = line[3:-3], []
        elif name is not None:
            lines.append(line)
    if name is not None:
        found[name] = _dump(name, lines)
    return found


def _dump(name: str, lines: list[str]) -> Dump:
    command, *answer = lines
    while answer and not answer[-1]:
        answer.pop()
    return Dump(name, command, tuple(answer))


def records(file: str, kind: str) -> list[list[str]]:
    """The " | "-separated fields of the lines of ``file`` whose first field is ``kind``."""
    found = []
    for line in (CAPTURES / file).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split(" | ")
        if fields[0] == kind:
            found.append(fields[1:])
    return found
