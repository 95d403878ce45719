"""The AT backend: a pyserial port, one reader thread feeding the parser, one command at a time.

The reader thread turns bytes into events (``at.AtParser``). Events of the command in flight go
to a queue the calling thread waits on; URCs only update state here (a new-message event, the
storage-full flag, the last signal report) and are logged: the reader never runs business code.
Commands are serialised by a lock, each with a timeout that raises ``CommandTimeout``; nothing is
retried behind the caller's back, except the "AT" handshake that brings the line in step at
open and after a timeout.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import serial

from anti_relous.modem import Health, Identity, MessageStatus, StoredMessage, commands
from anti_relous.modem.at import (
    AtParser,
    Discarded,
    Echo,
    Event,
    Final,
    Prompt,
    Response,
    Urc,
)
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
    SendFailed,
    SimError,
    SimNotInserted,
    SimPinRequired,
    SimPukRequired,
    StorageFull,
    WrongPin,
)
from anti_relous.modem.pdu import encode_submit
from anti_relous.numbers import mask

if TYPE_CHECKING:
    from anti_relous.config import ModemConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long one read waits for a first byte; close() interrupts it sooner with cancel_read().
READ_TIMEOUT_S = 0.2
#: The handshake at open and after a timeout: attempts, and the wait for each answer. A modem
#: answers AT within milliseconds; junk left in its input makes the first try fail.
SYNC_ATTEMPTS = 3
SYNC_TIMEOUT_S = 2.0
#: A command whose answer grows past this many lines is not a modem talking sense.
MAX_RESPONSE_LINES = 10_000
#: AT+CMGR attempts on one slot before it is declared unreadable (noise rarely repeats).
SLOT_READ_ATTEMPTS = 3
#: How long close() waits for the reader thread.
JOIN_TIMEOUT_S = 5.0
# TS 27.005 3.5.1: Ctrl-Z ends the PDU typed after the prompt, ESC abandons the send.
CTRL_Z = b"\x1a"
ESC = b"\x1b"

# URCs announcing a new message or status report (TS 27.005 3.4.1).
_NEW_MESSAGE_URCS = frozenset({"+CMTI", "+CMT", "+CDSI", "+CDS"})
# Vendor quirk: Wavecom Fastrack firmwares end their AT+CPIN? answer without OK; the answer
# line is taken once the command times out.
ANSWERS_WITHOUT_FINAL = frozenset({commands.PIN_STATE.text})
# Storage selections tried in order (TS 27.005 3.2.2): some firmwares take fewer memories.
_STORAGE_CHOICES = (
    commands.select_storage("SM", "SM", "SM"),
    commands.select_storage("SM", "SM"),
    commands.select_storage("SM"),
)


class _Unechoed(CommandTimeout):
    """The modem answered, but never echoed the command: the answer may be a late one."""


class _PortGone:
    """Queued to wake the waiting command when the port vanished or was closed."""


_PORT_GONE = _PortGone()


class AtModem:
    """A dongle spoken to in AT commands over a serial port (``modem.backend = "at"``)."""

    def __init__(self, config: ModemConfig) -> None:
        self._config = config
        self._timeout_s = config.command_timeout.total_seconds()
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
        self._command_lock = threading.RLock()
        self._port_lock = threading.Lock()
        self._lost: str | None = None
        self._needs_sync = False
        self._storage = commands.PREFERRED_STORAGE
        self._new_message = threading.Event()
        #: Set by ^SMMEMFULL or +CMS ERROR 322; cleared by a successful delete.
        self.storage_full_reported = False
        #: The last ^RSSI report (0-31), None before the first.
        self.last_rssi: int | None = None
        #: New-message URCs seen since open.
        self.new_message_urcs = 0
        #: Bytes read from and written to the port since open, for throughput figures.
        self.bytes_in = 0
        self.bytes_out = 0

    @property
    def port(self) -> str:
        """The device path, for messages."""
        return self._config.port

    # ---- lifecycle --------------------------------------------------------------------------

    def open(self) -> None:
        """Open the port exclusively and prepare the modem: echo off, PIN, PDU mode, storage."""
        with self._command_lock:
            if self._serial is not None:
                if self._lost is None:
                    return
                self._close_port()
            self._serial = self._open_port()
            self._lost = None
            self._needs_sync = False
            self._new_message.clear()
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
                self._initialise()
            except BaseException:
                self._close_port()
                raise

    def close(self) -> None:
        """Stop the reader thread and release the port; safe to call twice or after PortLost.

        Does not wait for a command in flight: that command raises PortLost.
        """
        self._close_port()

    def _open_port(self) -> Any:
        port = self._config.port
        try:
            device = serial.Serial(
                port,
                self._config.baudrate,
                timeout=READ_TIMEOUT_S,
                write_timeout=self._timeout_s,
                exclusive=True,
            )
        except (serial.SerialException, OSError) as error:
            raise _open_error(port, error) from None
        # A stick often holds junk from before we opened it.
        device.reset_input_buffer()
        log.debug("opened %s at %d bit/s", port, self._config.baudrate)
        return device

    def _close_port(self) -> None:
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
            log.debug("closing %s: %s", self._config.port, error)
        self._lost = self._lost or "port closed"
        log.debug("closed %s", self._config.port)

    def _initialise(self) -> None:
        self._sync()
        self._run(commands.RESET)
        self._run(commands.ECHO_OFF)
        try:
            self._run(commands.NUMERIC_ERRORS)
        except AtError:
            log.warning("%s: the modem refuses AT+CMEE=1; errors will carry no code", self.port)
        self._unlock_sim()
        self._run(commands.PDU_MODE)
        self._select_storage()
        self._enable_new_message_indications()
        log.info("modem ready on %s", self.port)

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
                self._exchange(commands.AT, timeout_s=timeout_s, require_echo=require_echo)
                self._exchange(commands.ECHO_OFF, timeout_s=timeout_s, require_echo=require_echo)
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

    def _unlock_sim(self) -> None:
        state = self._pin_state()
        if state == "READY":
            return
        if state == "SIM PIN":
            if not self._config.pin:
                raise SimPinRequired()
            log.info("%s: entering the SIM PIN", self.port)
            try:
                self._run(commands.enter_pin(self._config.pin))
            except (AtError, SimPinRequired):
                # Never try again: three wrong PINs lock the SIM behind its PUK.
                raise WrongPin() from None
            state = self._pin_state()
            if state == "READY":
                return
            if state == "SIM PUK":
                raise SimPukRequired()
            if state == "SIM PIN":
                raise WrongPin()  # some firmwares answer OK to a wrong PIN
            return
        if state == "SIM PUK":
            raise SimPukRequired()
        raise SimError(
            f"the SIM asks for {state!r}: unlock it in a phone, then plug it back into the dongle"
        )

    def _pin_state(self) -> str:
        return commands.parse_pin_state(self._run(commands.PIN_STATE))

    def _select_storage(self) -> None:
        for choice in _STORAGE_CHOICES:
            try:
                self._run(choice)
            except AtError as error:
                log.debug("%s: %s refused: %s", self.port, choice, error)
                continue
            self._storage = commands.PREFERRED_STORAGE
            return
        uses = commands.parse_storage(self._run(commands.STORAGE_STATE))
        self._storage = uses[0].name or commands.PREFERRED_STORAGE
        log.warning("%s: cannot select SIM storage; reading %s", self.port, self._storage)

    def _enable_new_message_indications(self) -> None:
        for choice in commands.NEW_MESSAGE_INDICATIONS:
            try:
                self._run(choice)
            except AtError as error:
                log.debug("%s: %s refused: %s", self.port, choice, error)
                continue
            return
        log.warning("%s: the modem sends no +CMTI; new messages are found by polling", self.port)

    # ---- the Modem protocol -----------------------------------------------------------------

    def identity(self) -> Identity:
        """Manufacturer, model, firmware and IMEI (AT+CGMI/CGMM/CGMR/CGSN, else ATI)."""
        values = {}
        for key, command in (
            ("manufacturer", commands.MANUFACTURER),
            ("model", commands.MODEL),
            ("firmware", commands.FIRMWARE),
            ("imei", commands.IMEI),
        ):
            try:
                values[key] = commands.parse_text(self._run(command), command)
            except AtError:
                values[key] = ""
        if not all(values.values()):
            try:
                info = commands.parse_info(self._run(commands.INFO))
            except AtError:
                info = {}
            values = {key: value or info.get(key, "") for key, value in values.items()}
        return Identity(**values)

    def health(self) -> Health:
        """SIM state, signal, registration, operator, storage use and SMSC.

        A field the modem refuses to report is None (or "unknown"); a lost or hung port raises.
        """
        try:
            sim_state = self._pin_state()
        except SimNotInserted:
            sim_state = "NOT INSERTED"
        except (AtError, MalformedResponse) as error:
            log.debug("%s: no SIM state: %s", self.port, error)
            sim_state = "UNKNOWN"
        no_signal: tuple[int | None, int | None] = (None, None)
        signal_csq, signal_dbm = self._optional(commands.SIGNAL, commands.parse_signal, no_signal)
        registration = self._optional(commands.REGISTRATION, commands.parse_registration, "unknown")
        no_text: str | None = None
        operator = self._optional(commands.OPERATOR, commands.parse_operator, no_text)
        no_uses: list[commands.StorageUse] = []
        uses = self._optional(commands.STORAGE_STATE, commands.parse_storage, no_uses)
        smsc = self._optional(commands.SMSC, commands.parse_smsc, no_text)
        return Health(
            sim_state=sim_state,
            signal_csq=signal_csq,
            signal_dbm=signal_dbm,
            registration=registration,
            operator=operator,
            storage_used=uses[0].used if uses else None,
            storage_total=uses[0].total if uses else None,
            smsc=smsc,
        )

    def list_stored(self) -> list[StoredMessage]:
        """Every stored message (AT+CMGL=4); the modem marks the unread ones read.

        A listing that cannot be read (a firmware mangling one slot, or line noise) falls back
        to reading slot by slot, so one bad slot can never stop the line from draining.
        """
        lines = self._run(commands.list_messages(4))
        try:
            return commands.parse_stored_list(lines, self._storage)
        except MalformedResponse as error:
            log.warning("%s: unreadable listing, reading slot by slot: %s", self.port, error)
            return self._list_slot_by_slot()

    def _list_slot_by_slot(self) -> list[StoredMessage]:
        uses = commands.parse_storage(self._run(commands.STORAGE_STATE))
        total = uses[0].total if uses else 0
        stored = []
        # Locations start at 0 on some firmwares and at 1 on others: try both ends.
        for index in range(total + 1):
            message = self._read_slot(index)
            if message is not None:
                stored.append(message)
        return stored

    def _read_slot(self, index: int) -> StoredMessage | None:
        """AT+CMGR, tried a few times: line noise passes, a slot the modem always mangles is
        returned as unreadable (its raw line kept) so that it can be quarantined and deleted."""
        error: MalformedResponse | None = None
        for _ in range(SLOT_READ_ATTEMPTS):
            try:
                return self.read(index)
            except MalformedResponse as malformed:
                error = malformed
            except AtError as refused:
                if commands.is_invalid_index(refused):
                    return None  # past the end of this firmware's numbering
                raise
        assert error is not None
        log.warning("%s: slot %d stays unreadable, quarantining it: %s", self.port, index, error)
        return StoredMessage(
            self._storage,
            index,
            MessageStatus.REC_READ,  # AT+CMGR marked it read, whatever it showed
            error.line.encode("utf-8", "replace"),
            unreadable=str(error),
        )

    def read(self, index: int) -> StoredMessage | None:
        """The message at ``index`` (AT+CMGR), None for an empty slot."""
        lines = self._run(commands.read_message(index))
        return commands.parse_read(lines, self._storage, index)

    def delete(self, index: int) -> None:
        """Delete the message at ``index`` (AT+CMGD=<index>)."""
        self._run(commands.delete_message(index))
        self.storage_full_reported = False

    def delete_read(self) -> None:
        """Delete every message marked read, keeping unread ones (AT+CMGD=1,1).

        Raises AtError where the modem refuses the flag; callers fall back to ``delete``.
        """
        self._run(commands.DELETE_READ)
        self.storage_full_reported = False

    def send(self, number: str, text: str, *, reference: int = 0) -> list[int]:
        """Send ``text`` to ``number`` (one AT+CMGS per part); the message references.

        A part the modem refuses (or any failure) raises SendFailed with the number of parts
        that had left. Its ``cause`` tells whether the part in flight may have left too: a
        CmsError means the modem refused it, a CommandTimeout or PortLost means nobody knows.
        """
        parts = encode_submit(number, text, reference=reference)
        references: list[int] = []
        sent = 0
        try:
            for part in parts:
                lines = self._run(commands.send_message(part.tpdu_length), body=part.hex)
                sent += 1  # OK came back: the part left, even if its reference is unreadable
                references.append(commands.parse_message_reference(lines))
                log.debug("sent part %d/%d to %s", sent, len(parts), mask(number))
        except ModemError as error:
            raise SendFailed(error, sent, len(parts)) from error
        log.info("sent %d part(s) to %s, references %s", len(parts), mask(number), references)
        return references

    def wait_for_new_message(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` for +CMTI (or ^SMMEMFULL); True if one came.

        Safe from any thread. Raises PortLost once the device has vanished.
        """
        came = self._new_message.wait(timeout_s)
        if came:
            self._new_message.clear()
        if self._lost is not None and self._serial is not None:
            raise PortLost(self.port, self._lost)
        return came

    # ---- commands ---------------------------------------------------------------------------

    def _optional(
        self, command: Command, parse: Callable[[Sequence[Response]], T], default: T
    ) -> T:
        """``parse`` of the answer, or ``default`` when the modem refuses to give it."""
        try:
            return parse(self._run(command))
        except (AtError, SimError, MalformedResponse) as error:
            log.debug("%s: %s gave nothing usable: %s", self.port, command, error)
            return default

    def _run(self, command: Command, *, body: str | None = None) -> list[Response]:
        with self._command_lock:
            if self._serial is None:
                raise PortLost(self.port, "the port is not open")
            if self._needs_sync:
                self._sync()
            return self._exchange(
                command, body=body, final_optional=command.text in ANSWERS_WITHOUT_FINAL
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
                    raise self._error(command, event)
                deadline = time.monotonic() + timeout_s
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

    def _error(self, command: Command, final: Final) -> ModemError:
        error = commands.error_for(command, final, storage=self._storage)
        if isinstance(error, StorageFull):
            self._storage_full(f"{final.text} after {command}")
        return error

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

    def _on_urc(self, urc: Urc) -> None:
        log.debug("<- URC %s", urc.text)
        if urc.name in _NEW_MESSAGE_URCS:
            self.new_message_urcs += 1
            if urc.name == "+CMT":
                log.warning(
                    "%s: a message was handed over directly (+CMT) instead of stored: "
                    "it is not on the SIM; check AT+CNMI",
                    self.port,
                )
            self._new_message.set()
        elif urc.name == "^SMMEMFULL":
            self._storage_full(urc.text)
            self._new_message.set()  # draining is the answer: wake the poller
        elif urc.name == "^RSSI":
            value = urc.text.partition(":")[2].strip()
            if value.isascii() and value.isdigit():
                self.last_rssi = int(value)

    def _storage_full(self, reason: str) -> None:
        # DEBUG only: under a flood the SIM fills at every drain, and the caller, who knows
        # whether it is draining, reads the flag and reports.
        if not self.storage_full_reported:
            log.debug("%s: SIM message storage full (%s)", self.port, reason)
        self.storage_full_reported = True

    def _port_lost(self, detail: str) -> None:
        with self._parser_lock:
            if self._lost is None:
                self._lost = detail
                log.warning("lost the modem on %s: %s", self.port, detail)
            self._events.put(_PORT_GONE)
        self._new_message.set()


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
