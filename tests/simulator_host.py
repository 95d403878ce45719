"""A bare AT host for simulator tests: raw bytes over pyserial, no driver (it stays independent)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import serial

# V.250 5.7: a final result code ends the response; "> " is the AT+CMGS prompt.
FINAL = re.compile(rb"\r\n(OK|ERROR|\+CM[ES] ERROR: [^\r]*)\r\n|\r\n> $")


class Host:
    """Writes command lines to the simulator's pty and reads what comes back."""

    def __init__(self, path: Path, *, baudrate: int = 115200):
        self.port = serial.Serial(str(path), baudrate, timeout=0.02, exclusive=True)
        self.chunks: list[int] = []
        self.buffer = b""

    def close(self) -> None:
        self.port.close()

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def command(self, line: str, timeout: float = 5.0) -> str:
        """Send ``line`` + CR; return everything up to and including the final result code."""
        self.write(line.encode("latin-1") + b"\r")
        return self.read_final(timeout)

    def read_final(self, timeout: float = 5.0) -> str:
        """Up to the first final result code; what follows it stays for the next read."""
        self._fill(lambda data: FINAL.search(data) is not None, timeout)
        end = FINAL.search(self.buffer).end()
        answer, self.buffer = self.buffer[:end], self.buffer[end:]
        return answer.decode("latin-1")

    def read_until(self, done, timeout: float = 5.0) -> str:
        """Everything received once ``done(bytes so far)`` holds."""
        self._fill(done, timeout)
        answer, self.buffer = self.buffer, b""
        return answer.decode("latin-1")

    def read_for(self, seconds: float) -> str:
        """Everything that arrives within ``seconds`` (for URCs and silence)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.buffer += self.port.read(self.port.in_waiting or 1)
        answer, self.buffer = self.buffer, b""
        return answer.decode("latin-1")

    def _fill(self, done, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done(self.buffer):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no end of response after {timeout} s: {self.buffer!r}")
            chunk = self.port.read(self.port.in_waiting or 1)
            if chunk:
                self.chunks.append(len(chunk))
            self.buffer += chunk

    def lines(self, line: str) -> list[str]:
        """The non-empty lines of the answer to ``line``."""
        return [part for part in self.command(line).split("\r\n") if part]
