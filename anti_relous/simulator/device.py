"""A Huawei-style USB dongle on a pseudo-terminal, with a SIM, a network and faults to inject.

The host (the AT driver, the gammu CLI, a test with pyserial) opens ``path``, a stable symlink to
the pty slave, and talks AT. One serving thread owns the pty master: it reads what the host
wrote, feeds the firmware (``firmware``), and writes the answers over the line (``wire``: paced
like a serial line when ``baudrate`` is set); between commands it lets the network (``network``)
hand the SIM its parts, and tells it when a refused SIM has room again. The Python API injects
inbound SMS and faults from any thread; ``control`` serves that API to other processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import select
import shutil
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from anti_relous.modem import MessageStatus
from anti_relous.modem.pdu import encode_deliver
from anti_relous.simulator.card import PinLock, SimStats, SimStorage
from anti_relous.simulator.equipment import ModemIdentity, SentPart, join_sent
from anti_relous.simulator.firmware import Firmware
from anti_relous.simulator.network import REDELIVERY_S, Network
from anti_relous.simulator.wire import Wire

__all__ = ["ModemIdentity", "ModemSimulator", "SentPart", "SimStats"]

log = logging.getLogger(__name__)


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
        delivery_gap_s: float = 0.0,
        redelivery_s: float = REDELIVERY_S,
        identity: ModemIdentity | None = None,
        seed: int | None = None,
    ) -> None:
        """Configure, without opening anything yet.

        ``first_index``: the number of the first SIM location (Huawei 0, many others 1).
        ``delivery_gap_s``: the network hands parts over this far apart (0: a backlog as fast as
        slots free). ``redelivery_s``: once a delivery found the SIM full, how long the network
        waits after the phone's "memory available" before it delivers again (see ``network``).
        ``seed`` makes ``chunking="random"`` repeatable.
        """
        self._wire = Wire(baudrate=baudrate, chunking=chunking, seed=seed)
        self._own_dir: Path | None = None
        if link is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="anti-relous-sim-"))
            link = self._own_dir / "modem"
        self.path: Path = Path(link)
        self._smsc = smsc
        self._storage = SimStorage(slots, first_index=first_index)
        self._network = Network(gap_s=delivery_gap_s, redelivery_s=redelivery_s)
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
        self._next_reference = 1
        #: fail_next_sends(after=n): (sends to see first, count, code) until armed.
        self._send_failures: tuple[int, int, int] | None = None
        # A self-pipe that wakes the serving thread's select(); opened by start().
        self._wake_r = self._wake_w = -1

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
        pdus = self._encode(sender, text, ucs2=ucs2, smsc_time=smsc_time, reference=reference)
        self._submit(pdus)
        return len(pdus)

    def deliver_many(self, messages: Iterable[tuple[str, str]]) -> int:
        """SMS ``(sender, text)`` reach the network at the same instant (a flood sent all at
        once, as a bot farm's gateway does): all are encoded first, then handed over together,
        in order. Returns how many parts they took."""
        pdus = [raw for sender, text in messages for raw in self._encode(sender, text)]
        self._submit(pdus)
        return len(pdus)

    def _encode(
        self,
        sender: str,
        text: str,
        *,
        ucs2: bool | None = None,
        smsc_time: dt.datetime | None = None,
        reference: int | None = None,
    ) -> list[bytes]:
        if smsc_time is None:
            smsc_time = dt.datetime.now().astimezone().replace(microsecond=0)
        with self._lock:
            if reference is None:
                reference = self._next_reference
                self._next_reference = self._next_reference % 255 + 1
        return encode_deliver(
            sender, text, smsc_time, smsc=self._smsc, reference=reference, ucs2=ucs2
        )

    def _submit(self, pdus: list[bytes]) -> None:
        """Parts reach the network together; those the SIM has room for are stored at once."""
        with self._lock:
            for raw in pdus:
                self._network.submit(raw)
            self._deliver_due()
        self._wake()

    def deliver_pdu(self, pdu: bytes) -> None:
        """One raw part (with its SMSC field) reaches the network as is, malformed or not."""
        self._submit([bytes(pdu)])

    # ---- what the host sent ----------------------------------------------------------------

    @property
    def sent(self) -> list[SentPart]:
        """Every part the host sent successfully, in order."""
        with self._lock:
            return list(self._firmware.sent)

    def sent_messages(self) -> list[tuple[str, str]]:
        """(number, text) per message sent, concatenated parts joined in sequence order."""
        return join_sent(self.sent)

    # ---- observation -----------------------------------------------------------------------

    def stats(self) -> SimStats:
        """Counters of the SIM, the network queue and sends."""
        with self._lock:
            storage, network = self._storage, self._network
            full_s, longest_full_s = network.full_seconds()
            return SimStats(
                delivered_parts=network.delivered,
                queued=network.queued,
                stored=storage.used,
                high_water=storage.high_water,
                deleted_parts=storage.deleted,
                full_events=network.full_events,
                full_s=full_s,
                longest_full_s=longest_full_s,
                memory_available_signals=network.memory_available_signals,
                announced_parts=self._firmware.announced,
                sends=len(self._firmware.sent),
            )

    def stored(self) -> list[tuple[int, MessageStatus, bytes]]:
        """What the SIM holds now: (index, status, PDU with its SMSC field), by index."""
        with self._lock:
            return [(index, slot.status, slot.pdu) for index, slot in self._storage.contents()]

    def line_bytes(self) -> tuple[int, int]:
        """Bytes read from the host and written to it so far, on every pty generation."""
        with self._lock:
            return self._wire.bytes_from_host, self._wire.bytes_to_host

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
            self._wire.clear_output()
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
                self._wire.queue(bytes(data), whole=True)
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
            self._wire.stray_results(interval_s, bytes(data))

    @property
    def strays_written(self) -> int:
        """How many times ``stray_results()`` slipped its data in."""
        with self._lock:
            return self._wire.strays_written

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
        self._wire.clear()
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
        self._wire.clear()

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
                if self._wire.reading:
                    read_fds.append(master)
                if self._wire.may_write(now):
                    write_fds.append(master)
            timeout = self._select_timeout(now)
        readable, writable, _ = select.select(read_fds, write_fds, [], timeout)
        if self._wake_r in readable:
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 4096)
        with self._lock:
            if self._stopping:
                return False
            if self._generation != generation or self._master is None:
                return True
            master = self._master
            if master in readable:
                self._wire.read(master, drop=self._hung)
            self._process_input()
            self._deliver_due()
            chunked = False
            if master in writable or (self._wire.sending and not write_fds):
                chunked = self._wire.write(master)
            drain_fd = self._slave if chunked else None
            self._changed.notify_all()
        if drain_fd is not None:
            self._wire.wait_drained(drain_fd)
        return True

    def _select_timeout(self, now: float) -> float | None:
        deadlines = self._wire.deadlines()
        attempt = self._network.next_attempt_at()
        if attempt is not None and not self._hung:
            deadlines.append(attempt)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    def _process_input(self) -> None:
        data = self._wire.arrived()
        if not data:
            return
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
        if self._storage.take_memory_available():
            # RP-SMMA: the phone tells the network as soon as a delete makes room again.
            log.debug("phone -> network: memory available")
            self._network.memory_available()
        handover = self._network.deliver_due(self._storage)
        if handover.stored:
            log.debug("network stored %d part(s) at %s", len(handover.stored), handover.stored)
            self._firmware.messages_stored(handover.stored)
        if handover.refused:
            log.debug("network: the SIM is full, holding %d part(s)", self._network.queued)
            self._firmware.storage_overflowed()
        if handover.stored or handover.refused:
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
        self._wire.queue(data, whole=False)
