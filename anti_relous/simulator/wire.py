"""The serial line between the simulated dongle and its host: pacing, chunking, stray results.

``Wire`` holds what crosses the pty each way and when it may cross: paced like an 8N1 line at
a baud rate (or not at all), the output cut into chunks the host must read one by one, with
line noise slipped in on demand, and the bytes counted for line-rate figures. The device's
serving thread calls it under the simulator's lock, with the pty's file descriptors.
"""

from __future__ import annotations

import array
import fcntl
import logging
import os
import random
import termios
import time
from collections import deque

log = logging.getLogger(__name__)

CHUNKING_MODES = (None, "bytewise", "random")
# A serial line in 8N1 carries 10 bits per byte (start bit, 8 data bits, stop bit).
BITS_PER_BYTE = 10
# Throttled I/O moves this much of a second's worth of bytes at a time.
_THROTTLE_SLICE_S = 0.005
# A UART's transmit FIFO keeps shifting bytes out while its CPU is busy: output this thread was
# late for, up to this long, is written at once rather than lost as line idle time.
_MAKE_UP_S = 4 * _THROTTLE_SLICE_S
# Unthrottled reads take what is there, up to this.
_READ_SIZE = 65536
# With chunking, wait at most this long for the host to read a chunk before writing the next;
# a host that let it pass is not reading, and is not waited for again until it catches up.
_DRAIN_WAIT_S = 0.2
_RANDOM_CHUNK_MAX = 16


class Wire:
    """Both directions of the line; ``baudrate`` None leaves it unpaced."""

    def __init__(self, *, baudrate: int | None, chunking: str | None, seed: int | None) -> None:
        if chunking not in CHUNKING_MODES:
            raise ValueError(f"chunking must be one of {CHUNKING_MODES}, not {chunking!r}")
        if baudrate is not None and baudrate < BITS_PER_BYTE:
            raise ValueError("baudrate must be at least 10 bit/s")
        self._chunking = chunking
        self._random = random.Random(seed)
        self._byte_rate = baudrate / BITS_PER_BYTE if baudrate else None
        # (bytes, written whole) segments waiting for the host.
        self._out: deque[tuple[bytes, bool]] = deque()
        self._out_free_at = 0.0
        # When the output queue last went from empty to non-empty.
        self._out_since = 0.0
        self._in_pending = b""
        self._in_ready_at = 0.0
        # Chunked output: the host let a chunk sit unread past _DRAIN_WAIT_S.
        self._host_idle = False
        #: Bytes that crossed the line each way, for line-rate figures (benchmarks).
        self.bytes_from_host = 0
        self.bytes_to_host = 0
        # stray_results(): what to slip into the answers, how often, and when next.
        self._stray_interval_s: float | None = None
        self._stray_data = b""
        self._next_stray_at = 0.0
        #: How many times the stray data was slipped in.
        self.strays_written = 0

    def clear(self) -> None:
        """Forget what is in flight either way (a new pty, a hung modem)."""
        self._out.clear()
        self._in_pending = b""

    def clear_output(self) -> None:
        """Drop what waits for the host."""
        self._out.clear()

    def stray_results(self, interval_s: float | None, data: bytes) -> None:
        """Slip ``data`` into the answers every ``interval_s`` seconds (None stops it)."""
        self._stray_interval_s = interval_s
        self._stray_data = data
        self._next_stray_at = time.monotonic() + (interval_s or 0.0)
        self.strays_written = 0

    # ---- from the host ---------------------------------------------------------------------

    @property
    def reading(self) -> bool:
        """True when the host's next bytes can be taken (the last ones were handed on)."""
        return not self._in_pending

    def read(self, master: int, *, drop: bool) -> None:
        """Take what the host wrote (one slice of a second's worth when paced); ``drop`` it when
        the modem is hung."""
        size = _READ_SIZE
        if self._byte_rate is not None:
            size = max(1, int(self._byte_rate * _THROTTLE_SLICE_S))
        try:
            data = os.read(master, size)
        except BlockingIOError:
            return
        except OSError as error:
            # EIO while no host holds the slave is normal on some kernels; try again later.
            log.debug("simulator read: %s", error)
            return
        self.bytes_from_host += len(data)
        if drop:
            log.debug("simulator hung: dropped %d bytes", len(data))
            return
        self._in_pending = data
        if self._byte_rate is not None:
            now = time.monotonic()
            self._in_ready_at = max(self._in_ready_at, now) + len(data) / self._byte_rate
        else:
            self._in_ready_at = 0.0

    def arrived(self) -> bytes:
        """What the host wrote that has crossed the line by now ("" if nothing has)."""
        if not self._in_pending or time.monotonic() < self._in_ready_at:
            return b""
        data, self._in_pending = self._in_pending, b""
        return data

    # ---- to the host -----------------------------------------------------------------------

    @property
    def sending(self) -> bool:
        """True while output waits for the host."""
        return bool(self._out)

    def may_write(self, now: float) -> bool:
        """True when output waits and the line is free for it."""
        return bool(self._out) and now >= self._out_free_at

    def deadlines(self) -> list[float]:
        """When input will have crossed, and when the line frees for output."""
        deadlines = []
        if self._in_pending:
            deadlines.append(self._in_ready_at)
        if self._out:
            deadlines.append(self._out_free_at)
        return deadlines

    def queue(self, data: bytes, *, whole: bool) -> None:
        """Output for the host; ``whole`` keeps it in one write (noise), else it is chunked."""
        if not self._out:
            self._out_since = time.monotonic()
        elif not whole and not self._out[-1][1]:
            previous, _ = self._out.pop()
            data = previous + data
        self._out.append((data, whole))

    def write(self, master: int) -> bool:
        """Write the next chunk; True when the host must read it before the next one."""
        now = time.monotonic()
        if not self._out or now < self._out_free_at:
            return False
        data, whole = self._out.popleft()
        if self._stray_interval_s is not None and now >= self._next_stray_at and not whole:
            self._next_stray_at = now + self._stray_interval_s
            self.strays_written += 1
            data = self._stray_data + data
        size = len(data)
        # When the line could have started on these bytes had this thread woken on time.
        start = max(self._out_free_at, self._out_since, now - _MAKE_UP_S)
        if not whole:
            if self._chunking == "bytewise":
                size = 1
            elif self._chunking == "random":
                size = self._random.randint(1, _RANDOM_CHUNK_MAX)
            if self._byte_rate is not None:
                budget = int(self._byte_rate * (now - start + _THROTTLE_SLICE_S))
                size = min(size, max(1, budget))
        try:
            written = os.write(master, data[:size])
        except BlockingIOError:
            written = 0
        except OSError as error:
            log.debug("simulator write: %s", error)
            written = 0
        self.bytes_to_host += written
        if written < len(data):
            self._out.appendleft((data[written:], whole))
        if self._byte_rate is not None and written:
            self._out_free_at = start + written / self._byte_rate
        return self._chunking is not None and bool(written) and bool(self._out)

    def wait_drained(self, slave: int) -> None:
        """Give the host time to read a chunk, so chunks reach it one by one."""
        pending = array.array("i", [0])
        deadline = time.monotonic() + (0.0 if self._host_idle else _DRAIN_WAIT_S)
        while True:
            try:
                fcntl.ioctl(slave, termios.FIONREAD, pending, True)
            except OSError:
                return
            if pending[0] == 0:
                self._host_idle = False
                return
            if time.monotonic() >= deadline:
                # Nobody reads (port closed, host busy): stop waiting until it catches up.
                self._host_idle = True
                return
            time.sleep(0.0001)
