"""The AT channel: a pyserial port, one reader thread feeding the parser, one command at a time.

The line pyserial draws between ``ReaderThread`` and ``ATProtocol``, and bellows between
``uart`` and ``ash``: this module moves bytes and frames exchanges; what the commands mean
(init, PIN, storage, listing, sending) is ``at_modem``'s.

The reader thread turns bytes into events (``at.AtParser``). Events of the command in flight go
to a queue the calling thread waits on; URCs are handed to ``on_urc``, which may only update
state: the reader never runs business code. Commands are serialised by ``lock``, each with a
timeout that raises ``CommandTimeout``; nothing is retried behind the caller's back, except the
"AT" handshake that brings the line in step at open and after a timeout.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from anti_relous.modem import commands
from anti_relous.modem.at import AtParser, Discarded, Echo, Event, Final, Prompt, Response, Urc
from anti_relous.modem.commands import Command
from anti_relous.modem.errors import (
    AtError,
    CommandTimeout,
    MalformedResponse,
    ModemError,
    PortBusy,
    PortLost,
    PortNotFound,
    PortPermissionDenied,
    SimError,
)

log = logging.getLogger(__name__)

#: How long one read waits for a first byte; close() interrupts it sooner with cancel_read().
READ_TIMEOUT_S = 0.2
#: The handshake at open and after a timeout: attempts, and the wait for each answer. A modem
#: answers AT within milliseconds; junk left in its input makes the first try fail.
SYNC_ATTEMPTS = 3
SYNC_TIMEOUT_S = 2.0
#: A command whose answer grows past this many lines is not a modem talking sense.
MAX_RESPONSE_LINES = 10_000
#: How long close() waits for the reader thread.
JOIN_TIMEOUT_S = 5.0
# TS 27.005 3.5.1: Ctrl-Z ends the PDU typed after the prompt, ESC abandons the send.
CTRL_Z = b"\x1a"
ESC = b"\x1b"
# Vendor quirk: Wavecom firmwares end their AT+CPIN? answer without OK (python-gsmmodem's
# recorded Wavecom profile). Its answer line is taken once no final result followed it for
# FINAL_GRACE_S: a modem writes its OK right after the line, and waiting the whole command
# timeout would cost every health check that long.
ANSWERS_WITHOUT_FINAL = frozenset({commands.PIN_STATE.text})
FINAL_GRACE_S = 0.5


class _Unechoed(CommandTimeout):
    """The modem answered, but never echoed the command: the answer may be a late one."""


class _PortGone:
    """Queued to wake the waiting command when the port vanished or was closed."""


_PORT_GONE = _PortGone()


class AtChannel:
    """One serial port to an AT modem: open it, exchange commands, close it.

    ``on_urc(urc)`` runs on the reader thread for every unsolicited result; ``on_lost()`` when
    the port vanishes; ``error_for(command, final)`` turns a failed final result into the
    exception ``run`` raises. Thread-safe: commands from several threads take turns.
    """

    def __init__(
        self,
        port: str,
        baudrate: int,
        timeout_s: float,
        *,
        on_urc: Callable[[Urc], None],
        on_lost: Callable[[], None],
        error_for: Callable[[Command, Final], ModemError],
    ) -> None:
        self.port = port
        self._baudrate = baudrate
        self._timeout_s = timeout_s
        self._on_urc = on_urc
        self._on_lost = on_lost
        self._error_for = error_for
        self._serial: Any = None
        self._reader: threading.Thread | None = None
        # One per reader thread, so that a reader of an earlier opening can never stop or
        # report on a later one.
        self._stop = threading.Event()
        # Guards the parser, the command awaited and the queue hand-off, so that an event is
        # queued only for the command it was parsed for.
        self._parser_lock = threading.Lock()
        self._parser = AtParser()
        self._awaiting: str | None = None
        self._events: queue.SimpleQueue[Event | _PortGone] = queue.SimpleQueue()
        #: Held for one command; a caller holds it across a sequence that must not interleave.
        self.lock = threading.RLock()
        self._port_lock = threading.Lock()
        self._lost: str | None = None
        self._needs_sync = False
        #: Bytes read from and written to the port since open, for throughput figures.
        self.bytes_in = 0
        self.bytes_out = 0

    @property
    def is_open(self) -> bool:
        """True from ``open`` to ``close``, even once the port vanished (see ``vanished``)."""
        return self._serial is not None

    @property
    def vanished(self) -> str | None:
        """Why an open port stopped working (unplugged, I/O error); None while it works."""
        return self._lost if self._serial is not None else None

    # ---- lifecycle --------------------------------------------------------------------------

    def open(self) -> None:
        """Open the port exclusively, start the reader and bring the line in step."""
        with self.lock:
            self._serial = self._open_port()
            self._lost = None
            self._needs_sync = False
            self.bytes_in = self.bytes_out = 0
            with self._parser_lock:
                self._parser.reset()
            self._stop = threading.Event()
            self._reader = threading.Thread(
                target=self._read_loop,
                args=(self._serial, self._stop),
                name="modem-reader",
                daemon=True,
            )
            self._reader.start()
            try:
                self._sync()
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        """Stop the reader thread and release the port; safe to call twice or after PortLost.

        Does not wait for a command in flight: that command raises PortLost.
        """
        with self._port_lock:
            device, self._serial = self._serial, None
        if device is None:
            return
        self._stop.set()
        with self._parser_lock:
            self._events.put(_PORT_GONE)
        # If the port is already gone, the reader stops on its own.
        with contextlib.suppress(serial.SerialException, OSError):
            device.cancel_read()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(JOIN_TIMEOUT_S)
        self._reader = None
        try:
            device.close()
        except (serial.SerialException, OSError) as error:
            log.debug("closing %s: %s", self.port, error)
        self._lost = self._lost or "port closed"
        log.debug("closed %s", self.port)

    def _open_port(self) -> Any:
        try:
            device = serial.Serial(
                self.port,
                self._baudrate,
                timeout=READ_TIMEOUT_S,
                write_timeout=self._timeout_s,
                exclusive=True,
            )
        except (serial.SerialException, OSError) as error:
            raise _open_error(self.port, error) from None
        # A stick often holds junk from before we opened it.
        device.reset_input_buffer()
        log.debug("opened %s at %d bit/s", self.port, self._baudrate)
        return device

    def _sync(self) -> None:
        """Bring commands and answers in step, telling our answer from a late one by its echo."""
        timeout_s = min(self._timeout_s, SYNC_TIMEOUT_S)
        failure: ModemError | None = None
        # A process killed between AT+CMGS and its PDU leaves the modem at the "> " prompt,
        # taking every later command as PDU text: ESC abandons that send (a modem at its
        # command line drops the stray byte, or the first attempt below fails on it).
        self._write(ESC)
        for attempt in range(1, SYNC_ATTEMPTS + 1):
            # The last attempt settles for a plain OK: a firmware that never echoes must open.
            require_echo = attempt < SYNC_ATTEMPTS
            try:
                if require_echo:
                    # Its answer may be a late one: only the echoed AT below proves the line.
                    self._exchange(commands.ECHO_ON, timeout_s=timeout_s, ignore_errors=True)
                self._answered(commands.AT, timeout_s, require_echo)
                self._answered(commands.ECHO_OFF, timeout_s, require_echo)
            except (AtError, _Unechoed) as error:
                # Junk in the modem's input garbles a command; a modem may ignore ATE1.
                log.debug("%s: handshake attempt %d failed: %s", self.port, attempt, error)
                failure = error
                continue
            # A CommandTimeout (silence) goes up at once: a hung modem stays hung, and each
            # try would keep the caller waiting.
            self._needs_sync = False
            return
        assert failure is not None
        raise failure

    def _answered(self, command: Command, timeout_s: float, require_echo: bool) -> None:
        """A handshake exchange; a refusal that names the SIM's state is an answer too.

        With the SIM waiting for its PIN, a ZTE K3565-Z or a Qualcomm M6280 answers every
        command but AT+CPIN with +CME ERROR 11 (python-gsmmodem's recorded profiles): the line
        is in step all the same, and the PIN is the driver's next step.
        """
        try:
            self._exchange(command, timeout_s=timeout_s, require_echo=require_echo)
        except SimError as refusal:
            log.debug("%s: %s refused (%s): in step", self.port, command, refusal)

    def resync(self) -> None:
        """Bring the line back in step before the next command: an answer just read belonged
        to an earlier command (a stray final result cut that one short)."""
        self._needs_sync = True

    # ---- commands ---------------------------------------------------------------------------

    def run(
        self,
        command: Command,
        *,
        body: str | None = None,
        meanwhile: Callable[[], object] | None = None,
    ) -> list[Response]:
        """Send ``command`` (and ``body`` at its "> " prompt); its information lines.

        ``meanwhile`` runs on this thread once the command has left, while the answer crosses
        the line (it must not use the port). Raises PortLost, CommandTimeout,
        MalformedResponse, or ``error_for``'s error (or what ``meanwhile`` raised).
        """
        with self.lock:
            if self._serial is None:
                raise PortLost(self.port, "the port is not open")
            if self._needs_sync:
                self._sync()
            return self._exchange(
                command,
                body=body,
                final_optional=command.text in ANSWERS_WITHOUT_FINAL,
                meanwhile=meanwhile,
            )

    def _exchange(
        self,
        command: Command,
        *,
        body: str | None = None,
        timeout_s: float | None = None,
        require_echo: bool = False,
        ignore_errors: bool = False,
        final_optional: bool = False,
        meanwhile: Callable[[], object] | None = None,
    ) -> list[Response]:
        """Write one command and collect its answer; errors become typed exceptions.

        The timeout counts from the last sign of life, so a long listing is not cut short.
        With ``require_echo``, answers before the command's echo are late ones and ignored.
        """
        if self._lost is not None:
            raise PortLost(self.port, self._lost)
        timeout_s = self._timeout_s if timeout_s is None else timeout_s
        with self._parser_lock:
            while not self._events.empty():
                log.debug("%s: dropping stale %s", self.port, _shown(self._events.get_nowait()))
            self._parser.begin(command.text, command.prefixes, prompt=body is not None, body=body)
            self._awaiting = command.text
        log.debug("-> %s", command)
        lines: list[Response] = []
        echoed = not require_echo
        heard_before_echo = False
        prompted = False
        deadline = time.monotonic() + timeout_s
        try:
            self._write(command.text.encode("ascii") + b"\r")
            if meanwhile is not None:
                try:
                    meanwhile()
                except BaseException:
                    self._needs_sync = True  # the answer is still coming: skip it next time
                    raise
                deadline = time.monotonic() + timeout_s
            while True:
                event = self._next_event(deadline)
                if event is None:
                    self._needs_sync = True
                    if final_optional and lines:
                        log.debug("%s: %s answered without a final result", self.port, command)
                        return lines
                    if body is not None and not prompted:
                        self._write(ESC)
                    if heard_before_echo:
                        raise _Unechoed(str(command), timeout_s)
                    raise CommandTimeout(str(command), timeout_s)
                if isinstance(event, Echo):
                    echoed = True
                elif not echoed:
                    heard_before_echo = True
                    log.debug("%s: %s before the echo: a late answer", self.port, _shown(event))
                elif isinstance(event, Prompt):
                    if body is not None and not prompted:
                        prompted = True
                        log.debug("-> %s <Ctrl-Z>", body)
                        self._write(body.encode("ascii") + CTRL_Z)
                elif isinstance(event, Response):
                    lines.append(event)
                    if len(lines) > MAX_RESPONSE_LINES:
                        self._needs_sync = True  # the rest of it is still coming
                        raise MalformedResponse(str(command), event.text, "endless answer")
                elif isinstance(event, Final):
                    if event.ok or ignore_errors:
                        return lines
                    raise self._error_for(command, event)
                wait_s = min(timeout_s, FINAL_GRACE_S) if final_optional and lines else timeout_s
                deadline = time.monotonic() + wait_s
        finally:
            with self._parser_lock:
                self._awaiting = None
                self._parser.end()

    def _next_event(self, deadline: float) -> Event | None:
        """The next event of the command in flight; None at the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            event = self._events.get(timeout=remaining)
        except queue.Empty:
            return None
        if isinstance(event, _PortGone):
            raise PortLost(self.port, self._lost or "port closed")
        return event

    def _write(self, data: bytes) -> None:
        device = self._serial
        if device is None:
            raise PortLost(self.port, "the port is not open")
        try:
            device.write(data)
        except serial.SerialTimeoutException:
            return  # the modem stopped reading; the command's timeout reports it
        except (serial.SerialException, OSError) as error:
            if self._serial is device:  # not closed meanwhile by close()
                self._port_lost(str(error))
            raise PortLost(self.port, self._lost or str(error)) from None
        self.bytes_out += len(data)

    # ---- the reader thread ------------------------------------------------------------------

    def _read_loop(self, device: Any, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                data = device.read(device.in_waiting or 1)
                if data and not stop.is_set():
                    self.bytes_in += len(data)
                    self._received(data)
        except (serial.SerialException, OSError) as error:
            if not stop.is_set():
                self._port_lost(str(error))
        except Exception:  # the thread's loop boundary: log it, and let the caller see PortLost
            log.exception("%s: the modem reader failed", self.port)
            if not stop.is_set():
                self._port_lost("the reader thread failed")

    def _received(self, data: bytes) -> None:
        with self._parser_lock:
            for event in self._parser.feed(data):
                if isinstance(event, Urc):
                    log.debug("<- URC %s", event.text)
                    self._on_urc(event)
                elif isinstance(event, Discarded):
                    log.debug("%s: dropped %r: %s", self.port, event.data, event.reason)
                elif self._awaiting is not None and (
                    not isinstance(event, Final) or event.command == self._awaiting
                ):
                    log.debug("<- %s", _shown(event))
                    self._events.put(event)
                else:
                    log.debug("%s: stray %s", self.port, _shown(event))

    def _port_lost(self, detail: str) -> None:
        with self._parser_lock:
            if self._lost is None:
                self._lost = detail
                log.warning("lost the modem on %s: %s", self.port, detail)
            self._events.put(_PORT_GONE)
        self._on_lost()


def _shown(event: Event | _PortGone) -> str:
    """An event for the DEBUG log; echoes are not repeated (one may hold the PIN)."""
    if isinstance(event, Echo):
        return "(echo)"
    if isinstance(event, Response):
        return event.text if event.pdu is None else f"{event.text} | {event.pdu}"
    if isinstance(event, Final):
        return event.text
    if isinstance(event, Prompt):
        return "> (prompt)"
    return type(event).__name__


def _open_error(port: str, error: BaseException) -> ModemError:
    code = getattr(error, "errno", None)
    text = str(error)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return PortNotFound(port)
    if code in (errno.EACCES, errno.EPERM):
        return PortPermissionDenied(port)
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text:
        return PortBusy(port, text)
    return ModemError(f"cannot open the modem port {port}: {text}; run `anti-relous doctor`")
