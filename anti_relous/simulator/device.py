"""A Huawei-style USB dongle on a pseudo-terminal, with a SIM, a network and faults to inject.

The host (the AT driver, the gammu CLI, a test with pyserial) opens ``path``, a stable symlink to
the pty slave, and talks AT. One serving thread owns the pty master: it reads what the host
wrote, feeds the firmware (``firmware``), and writes the answers, paced like a serial line
when ``baudrate`` is set. The Python API injects inbound SMS and faults from any thread;
``control`` serves that API to other processes.
"""

from __future__ import annotations

import array
import contextlib
import datetime as dt
import fcntl
import logging
import os
import random
import select
import shutil
import tempfile
import termios
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from anti_relous.modem import MessageStatus
from anti_relous.modem.pdu import encode_deliver
from anti_relous.simulator.card import PinLock, SimStats, SimStorage
from anti_relous.simulator.equipment import ModemIdentity, SentPart
from anti_relous.simulator.firmware import Firmware

__all__ = ["ModemIdentity", "ModemSimulator", "SentPart", "SimStats"]

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


class ModemSimulator:
    """A simulated dongle: ``start()`` it, point a driver at ``path``, inject traffic and faults.

    Thread-safe: tests call ``deliver`` while the host is reading.
    """

    def __init__(
        self,
        *,
        link: Path | None = None,
        slots: int = 30,
        baudrate: int | None = None,
        pin: str | None = None,
        echo: bool = True,
        chunking: str | None = None,
        smsc: str = "+33609001390",
        first_index: int = 0,
        network_retry_s: float = 0.0,
        identity: ModemIdentity | None = None,
        seed: int | None = None,
    ) -> None:
        """Configure, without opening anything yet.

        ``first_index``: the number of the first SIM location (Huawei 0, many others 1).
        ``network_retry_s``: how long the network waits before retrying parts the full SIM
        refused (0: as soon as a slot frees). ``seed`` makes ``chunking="random"`` repeatable.
        """
        if chunking not in CHUNKING_MODES:
            raise ValueError(f"chunking must be one of {CHUNKING_MODES}, not {chunking!r}")
        if baudrate is not None and baudrate < BITS_PER_BYTE:
            raise ValueError("baudrate must be at least 10 bit/s")
        self._own_dir: Path | None = None
        if link is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="anti-relous-sim-"))
            link = self._own_dir / "modem"
        self.path: Path = Path(link)
        self._smsc = smsc
        self._chunking = chunking
        self._random = random.Random(seed)
        self._byte_rate = baudrate / BITS_PER_BYTE if baudrate else None
        self._storage = SimStorage(slots, first_index=first_index, retry_s=network_retry_s)
        self._firmware = Firmware(
            self._storage, PinLock(pin), echo=echo, smsc=smsc, identity=identity
        )
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._master: int | None = None
        self._slave: int | None = None
        #: Bumped whenever the pty is replaced, so a select() on an old fd is ignored.
        self._generation = 0
        self._hung = False
        # (bytes, written whole) segments waiting for the host.
        self._out: deque[tuple[bytes, bool]] = deque()
        self._out_free_at = 0.0
        # When the output queue last went from empty to non-empty.
        self._out_since = 0.0
        self._in_pending = b""
        self._in_ready_at = 0.0
        # Chunked output: the host let a chunk sit unread past _DRAIN_WAIT_S.
        self._host_idle = False
        self._next_reference = 1
        #: fail_next_sends(after=n): (sends to see first, count, code) until armed.
        self._send_failures: tuple[int, int, int] | None = None
        # Bytes that crossed the line each way, for line-rate figures (benchmarks).
        self._bytes_from_host = 0
        self._bytes_to_host = 0
        # A self-pipe that wakes the serving thread's select(); opened by start().
        self._wake_r = self._wake_w = -1
        # stray_results(): what to slip into the answers, how often, and when next.
        self._stray_interval_s: float | None = None
        self._stray_data = b""
        self._next_stray_at = 0.0
        #: How many times stray_results() slipped its data in.
        self.strays_written = 0

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Open the pty pair, point ``path`` at its slave, and start serving."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("simulator already started")
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._open_pty()
            self._thread = threading.Thread(target=self._serve, name="modem-simulator", daemon=True)
            self._thread.start()
        log.info("modem simulator on %s", self.path)

    def stop(self) -> None:
        """Stop serving and remove the pty and the symlink; safe to call twice."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self._lock:
            self._close_pty()
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._wake_r = self._wake_w = -1
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    def __enter__(self) -> ModemSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- traffic from the network --------------------------------------------------------

    def deliver(
        self,
        sender: str,
        text: str,
        *,
        ucs2: bool | None = None,
        smsc_time: dt.datetime | None = None,
        reference: int | None = None,
    ) -> int:
        """An SMS from ``sender`` reaches the network; returns how many parts it took."""
        if smsc_time is None:
            smsc_time = dt.datetime.now().astimezone().replace(microsecond=0)
        with self._lock:
            if reference is None:
                reference = self._next_reference
                self._next_reference = self._next_reference % 255 + 1
        pdus = encode_deliver(
            sender, text, smsc_time, smsc=self._smsc, reference=reference, ucs2=ucs2
        )
        with self._lock:
            for raw in pdus:
                self._storage.from_network(raw)
            self._deliver_due()
        self._wake()
        return len(pdus)

    def deliver_pdu(self, pdu: bytes) -> None:
        """One raw part (with its SMSC field) reaches the network as is, malformed or not."""
        with self._lock:
            self._storage.from_network(bytes(pdu))
            self._deliver_due()
        self._wake()

    # ---- what the host sent ----------------------------------------------------------------

    @property
    def sent(self) -> list[SentPart]:
        """Every part the host sent successfully, in order."""
        with self._lock:
            return list(self._firmware.sent)

    def sent_messages(self) -> list[tuple[str, str]]:
        """(number, text) per message sent, concatenated parts joined in sequence order."""
        messages: list[tuple[str, dict[int, str]]] = []
        open_sets: dict[tuple[str, int, int, int], dict[int, str]] = {}
        for part in self.sent:
            if part.concat is None:
                messages.append((part.number, {1: part.text}))
                continue
            concat = part.concat
            key = (part.number, concat.reference_bits, concat.reference, concat.total)
            texts = open_sets.get(key)
            if texts is None or concat.sequence in texts:
                texts = {}
                open_sets[key] = texts
                messages.append((part.number, texts))
            texts[concat.sequence] = part.text
        return [(number, "".join(texts[k] for k in sorted(texts))) for number, texts in messages]

    # ---- observation -----------------------------------------------------------------------

    def stats(self) -> SimStats:
        """Counters of the SIM, the network queue and sends."""
        with self._lock:
            return self._storage.stats(sends=len(self._firmware.sent))

    def stored(self) -> list[tuple[int, MessageStatus, bytes]]:
        """What the SIM holds now: (index, status, PDU with its SMSC field), by index."""
        with self._lock:
            return [(index, slot.status, slot.pdu) for index, slot in self._storage.contents()]

    def line_bytes(self) -> tuple[int, int]:
        """Bytes read from the host and written to it so far, on every pty generation."""
        with self._lock:
            return self._bytes_from_host, self._bytes_to_host

    def wait_until(self, predicate: Callable[[ModemSimulator], bool], timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds; False if ``timeout`` seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.05))
        return True

    @property
    def plugged(self) -> bool:
        """False between ``unplug()`` and ``replug()``."""
        with self._lock:
            return self._master is not None

    @property
    def wrong_pin_attempts(self) -> int:
        """Wrong PINs entered since the SIM was last unlocked (the third locks it, PUK needed)."""
        with self._lock:
            return self._firmware.pin.wrong_attempts

    @property
    def echo(self) -> bool:
        """The current ATE state."""
        with self._lock:
            return self._firmware.echo

    # ---- faults ----------------------------------------------------------------------------

    def unplug(self) -> None:
        """The dongle vanishes: pty closed (the host gets I/O errors), symlink removed."""
        with self._lock:
            self._close_pty()
            self._changed.notify_all()
        self._wake()
        log.info("modem simulator unplugged")

    def replug(self) -> None:
        """The dongle comes back at the same ``path``, freshly powered (PIN asked again)."""
        with self._lock:
            if self._master is not None:
                return
            self._open_pty()
            self._firmware.power_on()
            self._deliver_due()
        self._wake()
        log.info("modem simulator replugged at %s", self.path)

    def hang(self) -> None:
        """Stop answering: input is read and dropped, nothing is written, until ``unhang``."""
        with self._lock:
            self._hung = True
            self._out.clear()
        self._wake()

    def unhang(self) -> None:
        """Answer again (what was typed while hung is lost)."""
        with self._lock:
            self._hung = False
            self._deliver_due()
        self._wake()

    def inject_garbage(self, data: bytes) -> None:
        """Write ``data`` to the host at once, as line noise or a confused firmware would."""
        with self._lock:
            if not self._hung:
                self._queue_out(bytes(data), whole=True)
        self._wake()

    def fail_next_sends(self, count: int, code: int = 500, *, after: int = 0) -> None:
        """The next ``count`` AT+CMGS answer ``+CMS ERROR: code``, once ``after`` more succeeded.

        ``after=1`` fails the second part of a long SMS after its first part has left.
        """
        with self._lock:
            self._send_failures = (len(self._firmware.sent) + after, count, code)
            self._arm_send_failures()

    def intrude_in_next_listing(self, after_entries: int, line: str = "OK") -> None:
        """Slip ``line`` into the next AT+CMGL answer not yet written, after that many entries.

        Each call affects one listing, in order. A stray final result there ends the listing
        early for a driver that trusts it, while the rest of the entries still follow.
        """
        with self._lock:
            self._firmware.listing_intrusions.append((after_entries, line))

    def stray_results(self, interval_s: float | None, data: bytes = b"\r\nOK\r\n") -> None:
        """While answers are being written, slip ``data`` into them every ``interval_s`` seconds
        (None stops it): line noise or a confused firmware, wherever the stream happens to be."""
        with self._lock:
            self._stray_interval_s = interval_s
            self._stray_data = bytes(data)
            self._next_stray_at = time.monotonic() + (interval_s or 0.0)
            self.strays_written = 0

    def garble(self, pdu: bytes) -> None:
        """From now on, show ``pdu`` (when listed or read) with its last hex digit missing."""
        with self._lock:
            self._firmware.garbled.add(bytes(pdu))

    def emit_urc(self, line: str) -> None:
        """Write an unsolicited result code, e.g. ``"^RSSI:17"``, ``"RING"``."""
        with self._lock:
            self._firmware.urc(line)
            self._flush_firmware()
        self._wake()

    @property
    def interleave_urcs(self) -> bool:
        """When True, a ``^RSSI:n`` URC lands in the middle of multi-line responses."""
        with self._lock:
            return self._firmware.interleave_urcs

    @interleave_urcs.setter
    def interleave_urcs(self, value: bool) -> None:
        with self._lock:
            self._firmware.interleave_urcs = value

    @property
    def registered(self) -> bool:
        """Network registration; when False, +CREG says searching and sends fail (CMS 331)."""
        with self._lock:
            return self._firmware.registered

    @registered.setter
    def registered(self, value: bool) -> None:
        with self._lock:
            self._firmware.registered = value

    # ---- the pty ---------------------------------------------------------------------------

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        slave_name = os.ttyname(slave)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        staging.symlink_to(slave_name)
        staging.replace(self.path)
        self._master, self._slave = master, slave
        self._generation += 1
        self._out.clear()
        self._in_pending = b""
        log.debug("simulator pty %s (generation %d)", slave_name, self._generation)

    def _close_pty(self) -> None:
        # The slave is held open by us so that a host closing and reopening the port (as the
        # gammu CLI does per command) does not hang the pty up; closing both is the unplug.
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self._master is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self._master = self._slave = None
        self._generation += 1
        self._out.clear()
        self._in_pending = b""

    def _wake(self) -> None:
        if self._wake_w < 0:
            return
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")

    # ---- the serving thread ----------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            try:
                if not self._serve_once():
                    return
            except Exception:
                # Nothing the host writes may kill the modem: log and keep serving.
                log.exception("modem simulator: unexpected error, still serving")
                time.sleep(0.01)

    def _serve_once(self) -> bool:
        with self._lock:
            if self._stopping:
                return False
            now = time.monotonic()
            master = self._master
            generation = self._generation
            read_fds = [self._wake_r]
            write_fds = []
            if master is not None:
                if not self._in_pending:
                    read_fds.append(master)
                if self._out and now >= self._out_free_at:
                    write_fds.append(master)
            timeout = self._select_timeout(now)
        readable, writable, _ = select.select(read_fds, write_fds, [], timeout)
        if self._wake_r in readable:
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 4096)
        drain_fd = None
        with self._lock:
            if self._stopping:
                return False
            if self._generation != generation or self._master is None:
                return True
            master = self._master
            if master in readable:
                self._read_input(master)
            self._process_input()
            self._deliver_due()
            if master in writable or (self._out and not write_fds):
                drain_fd = self._write_output(master)
            self._changed.notify_all()
        if drain_fd is not None:
            self._wait_drained(drain_fd)
        return True

    def _select_timeout(self, now: float) -> float | None:
        deadlines = []
        if self._in_pending:
            deadlines.append(self._in_ready_at)
        if self._out:
            deadlines.append(self._out_free_at)
        attempt = self._storage.next_attempt_at()
        if attempt is not None and not self._hung:
            deadlines.append(attempt)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    def _read_input(self, master: int) -> None:
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
        self._bytes_from_host += len(data)
        if self._hung:
            log.debug("simulator hung: dropped %d bytes", len(data))
            return
        self._in_pending = data
        if self._byte_rate is not None:
            now = time.monotonic()
            self._in_ready_at = max(self._in_ready_at, now) + len(data) / self._byte_rate
        else:
            self._in_ready_at = 0.0

    def _process_input(self) -> None:
        if not self._in_pending or time.monotonic() < self._in_ready_at:
            return
        data, self._in_pending = self._in_pending, b""
        self._firmware.feed(data)
        self._flush_firmware()
        self._arm_send_failures()

    def _arm_send_failures(self) -> None:
        # Between two feeds: a host sends a part only after reading the previous one's answer.
        pending = self._send_failures
        if pending is not None and len(self._firmware.sent) >= pending[0]:
            self._send_failures = None
            self._firmware.fail_sends, self._firmware.fail_code = pending[1], pending[2]

    def _deliver_due(self) -> None:
        if self._master is None or self._hung:
            return
        stored = self._storage.deliver_due()
        if stored:
            log.debug("network stored %d part(s) at %s", len(stored), stored)
            self._firmware.messages_stored(stored)
            self._flush_firmware()
            self._changed.notify_all()

    def _flush_firmware(self) -> None:
        firmware_out = self._firmware.out
        if not firmware_out:
            return
        data = bytes(firmware_out)
        firmware_out.clear()
        if self._hung or self._master is None:
            return
        self._queue_out(data, whole=False)

    def _queue_out(self, data: bytes, *, whole: bool) -> None:
        if not self._out:
            self._out_since = time.monotonic()
        elif not whole and not self._out[-1][1]:
            previous, _ = self._out.pop()
            data = previous + data
        self._out.append((data, whole))

    def _write_output(self, master: int) -> int | None:
        """Write the next chunk; returns the slave fd to wait on when chunks must arrive apart."""
        now = time.monotonic()
        if not self._out or now < self._out_free_at:
            return None
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
        self._bytes_to_host += written
        if written < len(data):
            self._out.appendleft((data[written:], whole))
        if self._byte_rate is not None and written:
            self._out_free_at = start + written / self._byte_rate
        if self._chunking is not None and written and self._out:
            return self._slave
        return None

    def _wait_drained(self, slave: int) -> None:
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
