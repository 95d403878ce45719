"""The AT backend: what the AT commands mean, over an ``AtChannel`` (``at_channel``).

Opening unlocks the SIM first (some firmwares refuse everything else until then), then
prepares the modem (echo off, numeric errors, PDU mode, storage, +CMTI); the Modem protocol is
spelled in AT+CMGL/CMGR/CMGD/CMGS and friends (``commands`` builds and parses them). The
channel owns the port, the reader thread and the exchange; URCs reach ``_on_urc`` on its
reader thread, which only updates state here (a new-message event, the last signal report).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from anti_relous.modem import Health, Identity, Listing, MessageStatus, StoredMessage, commands
from anti_relous.modem.at import Final, Response, Urc
from anti_relous.modem.at_channel import AtChannel
from anti_relous.modem.commands import Command
from anti_relous.modem.errors import (
    AtError,
    LastPinTry,
    MalformedResponse,
    ModemError,
    NoSmsStorage,
    PduError,
    PortLost,
    SendFailed,
    SimError,
    SimNotInserted,
    SimPinRequired,
    SimPukRequired,
    WrongPin,
)
from anti_relous.modem.pdu import encode_submit
from anti_relous.numbers import mask

if TYPE_CHECKING:
    from anti_relous.config import ModemConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

#: AT+CMGR attempts on one slot before it is declared unreadable (noise rarely repeats).
SLOT_READ_ATTEMPTS = 3
#: PIN tries anti-relous never spends: with this many left, a wrong PIN would lock the SIM.
PIN_TRIES_KEPT = 1

# URCs announcing a new message or status report (TS 27.005 3.4.1).
_NEW_MESSAGE_URCS = frozenset({"+CMTI", "+CMT", "+CDSI", "+CDS"})
# Storage selections tried in order (TS 27.005 3.2.2): some firmwares take fewer memories.
_STORAGE_CHOICES = (
    commands.select_storage("SM", "SM", "SM"),
    commands.select_storage("SM", "SM"),
    commands.select_storage("SM"),
)


class AtModem:
    """A dongle spoken to in AT commands over a serial port (``modem.backend = "at"``).

    ``with AtModem(config) as modem:`` opens it and closes it whatever happens.
    """

    def __init__(self, config: ModemConfig) -> None:
        self._config = config
        self._new_message = threading.Event()
        self._channel = AtChannel(
            config.port,
            config.baudrate,
            config.command_timeout.total_seconds(),
            on_urc=self._on_urc,
            on_lost=self._new_message.set,
            error_for=self._error,
        )
        self._storage = commands.PREFERRED_STORAGE
        #: Slots of that storage, from the AT+CPMS answer at open (None when it gave none).
        self._capacity: int | None = None
        #: The AT+CNMI variant the modem took at open (None: it sends no +CMTI), and whether
        #: +CMTI is on now.
        self._indications: Command | None = None
        self._notifying = False
        #: The last ^RSSI report (0-31), None before the first.
        self.last_rssi: int | None = None

    @property
    def port(self) -> str:
        """The device path, for messages."""
        return self._config.port

    @property
    def bytes_in(self) -> int:
        """Bytes read from the port since open, for throughput figures."""
        return self._channel.bytes_in

    @property
    def bytes_out(self) -> int:
        """Bytes written to the port since open."""
        return self._channel.bytes_out

    # ---- lifecycle --------------------------------------------------------------------------

    def open(self) -> None:
        """Open the port exclusively and prepare the modem: echo off, PIN, PDU mode, storage."""
        channel = self._channel
        with channel.lock:
            if channel.is_open:
                if channel.vanished is None:
                    return
                channel.close()
            self._new_message.clear()
            channel.open()
            try:
                self._initialise()
            except BaseException:
                channel.close()
                raise

    def close(self) -> None:
        """Stop the reader thread and release the port; safe to call twice or after PortLost.

        Does not wait for a command in flight: that command raises PortLost.
        """
        self._channel.close()

    def __enter__(self) -> AtModem:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _initialise(self) -> None:
        # The PIN first: a ZTE K3565-Z or a Qualcomm M6280 refuses every other command, ATZ
        # included, with +CME ERROR 11 until it is entered. A SIM that asks for it during the
        # set-up although AT+CPIN? said READY (too soon) is unlocked and the set-up redone;
        # one that asks again after the PIN went in did not take it, and gets no second try.
        entered = self._unlock_sim()
        try:
            self._prepare()
        except SimPinRequired:
            if entered:
                raise WrongPin(self._pin_tries()) from None
            log.info("%s: the SIM asks for its PIN during the set-up", self.port)
            self._unlock_sim()
            self._prepare()
        log.debug("modem ready on %s", self.port)  # ModemLink logs it with the identity

    def _prepare(self) -> None:
        self._run(commands.RESET)
        self._run(commands.ECHO_OFF)
        try:
            self._run(commands.NUMERIC_ERRORS)
        except AtError:
            log.warning("%s: the modem refuses AT+CMEE=1; errors will carry no code", self.port)
        self._run(commands.PDU_MODE)
        self._select_storage()
        self._enable_new_message_indications()

    def _unlock_sim(self) -> bool:
        """Unlock the SIM if it asks for its PIN; True when the PIN was entered (and taken)."""
        state = self._pin_state()
        if state == "READY":
            return False
        if state == "SIM PUK":
            raise SimPukRequired()
        if state != "SIM PIN":
            raise SimError(
                f"the SIM asks for {state!r}: unlock it in a phone, then plug it back into the "
                "dongle"
            )
        if not self._config.pin:
            raise SimPinRequired()
        tries = self._pin_tries()
        if tries is not None and tries <= PIN_TRIES_KEPT:
            raise LastPinTry(tries)
        log.info("%s: entering the SIM PIN", self.port)
        try:
            self._run(commands.enter_pin(self._config.pin))
        except (AtError, SimPinRequired):
            # Never try again: three wrong PINs lock the SIM behind its PUK.
            raise WrongPin(self._pin_tries()) from None
        state = self._pin_state()
        if state == "SIM PUK":
            raise SimPukRequired()
        if state == "SIM PIN":
            raise WrongPin(self._pin_tries())  # some firmwares answer OK to a wrong PIN
        return True

    def _pin_tries(self) -> int | None:
        """The PIN tries left, from the first dialect that tells; None if none does."""
        for command in commands.PIN_TRIES:
            tries = self._optional(command, commands.parse_pin_tries, None)
            if tries is not None:
                return tries
        return None

    def _pin_state(self) -> str:
        return commands.parse_pin_state(self._run(commands.PIN_STATE))

    def _select_storage(self) -> None:
        for choice in _STORAGE_CHOICES:
            try:
                lines = self._run(choice)
            except AtError as error:
                log.debug("%s: %s refused: %s", self.port, choice, error)
                continue
            self._storage = commands.PREFERRED_STORAGE
            self._capacity = self._storage_size(lines)
            return
        no_uses: list[commands.StorageUse] = []
        uses = self._optional(commands.STORAGE_STATE, commands.parse_storage, no_uses)
        if not uses:
            raise NoSmsStorage(self.port)
        self._storage = uses[0].name or commands.PREFERRED_STORAGE
        self._capacity = uses[0].total
        log.warning("%s: cannot select SIM storage; reading %s", self.port, self._storage)

    def _storage_size(self, lines: list[Response]) -> int | None:
        """Slots of the selected storage, from the AT+CPMS set answer; None when it has none."""
        try:
            uses = commands.parse_storage(lines)
        except MalformedResponse as error:
            log.debug("%s: no storage size: %s", self.port, error)
            return None
        return uses[0].total if uses else None

    def _enable_new_message_indications(self) -> None:
        self._indications, self._notifying = None, False
        for choice in commands.NEW_MESSAGE_INDICATIONS:
            try:
                self._run(choice)
            except AtError as error:
                log.debug("%s: %s refused: %s", self.port, choice, error)
                continue
            self._indications, self._notifying = choice, True
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

    def list_stored(self, meanwhile: Callable[[], object] | None = None) -> Listing:
        """Every stored message (AT+CMGL=4); the modem marks the unread ones read.

        ``meanwhile`` runs while the listing crosses the line (see ``AtChannel.run``).

        A listing that cannot be read (a firmware mangling one slot, or line noise) falls back
        to reading slot by slot, so one bad slot can never stop the line from draining.
        Whether nothing can be missing is proved after the listing (``_proved_whole``); in a
        listing not proved whole, an entry whose PDU is not the size announced may be a line
        cut short: it is left on the SIM for the next listing rather than taken as it came.
        """
        lines = self._channel.run(commands.list_messages(commands.LIST_ALL), meanwhile=meanwhile)
        try:
            messages = commands.parse_stored_list(lines, self._storage)
        except MalformedResponse as error:
            log.warning("%s: unreadable listing, reading slot by slot: %s", self.port, error)
            messages = self._list_slot_by_slot()
        whole = self._proved_whole(messages)
        if not whole:
            cut = [message.index for message in messages if message.misfit]
            if cut:
                log.info(
                    "%s: slots %s left for the next listing (size not as announced)", self.port, cut
                )
                messages = [message for message in messages if not message.misfit]
        return Listing(tuple(messages), whole)

    def _proved_whole(self, messages: Sequence[StoredMessage]) -> bool:
        """True when no stored message can be missing from ``messages``, nor cut short.

        A final result inside a listing (line noise, a late answer, a firmware quirk) ends it
        early, and the rest arrives after it: nothing in the listing itself tells. A listing
        that fills the storage, every PDU of the size announced, is whole; otherwise the
        modem's own count (AT+CPMS? used) must match. Were the listing cut, its rest and its
        real final result reach the driver before the AT+CPMS? answer, so that answer has no
        +CPMS line: the line is then out of step, and brought back before the next command.
        """
        shown = len({message.index for message in messages})
        intact = not any(message.misfit for message in messages)
        if self._capacity is not None and shown >= self._capacity and intact:
            return True
        try:
            uses = commands.parse_storage(self._run(commands.STORAGE_STATE))
        except MalformedResponse as error:
            log.warning("%s: the listing was cut short (%s); resynchronising", self.port, error)
            self._channel.resync()
            return False
        except AtError as error:
            log.debug("%s: no storage count to check the listing against: %s", self.port, error)
            return False
        if not uses or uses[0].used != shown:
            log.debug("%s: listed %d, storage holds %s", self.port, shown, uses[:1])
            return False
        return True

    def _list_slot_by_slot(self) -> list[StoredMessage]:
        total = self._capacity
        if total is None:
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
        """AT+CMGR, tried a few times, each time with the line first brought in step: a stray
        result that cut the previous answer short must not let its rest pass for this slot's.

        Line noise rarely repeats. A slot shown malformed the same way every time is the
        firmware's doing: it is returned as unreadable (its raw line kept) so that it can be
        quarantined and deleted; a PDU not of the announced size, the same every time, is
        returned as it is. A slot shown differently each time is left for the next listing.
        """
        shown: set[str] = set()
        last: StoredMessage | MalformedResponse | None = None
        for _ in range(SLOT_READ_ATTEMPTS):
            self._channel.resync()
            try:
                message = self.read(index)
            except MalformedResponse as malformed:
                shown.add(malformed.line)
                last = malformed
                continue
            except AtError as refused:
                if commands.is_invalid_index(refused):
                    return None  # past the end of this firmware's numbering
                raise
            if message is None or not message.misfit:
                return message
            shown.add(message.pdu.hex())
            last = message
        if len(shown) > 1:
            log.info("%s: slot %d read differently each time: left for later", self.port, index)
            return None
        if isinstance(last, StoredMessage):
            return last
        assert last is not None
        log.warning("%s: slot %d stays unreadable, quarantining it: %s", self.port, index, last)
        return StoredMessage(
            self._storage,
            index,
            MessageStatus.REC_READ,  # AT+CMGR marked it read, whatever it showed
            last.line.encode("utf-8", "replace"),
            unreadable=str(last),
        )

    def read(self, index: int) -> StoredMessage | None:
        """The message at ``index`` (AT+CMGR), None for an empty slot."""
        lines = self._run(commands.read_message(index))
        return commands.parse_read(lines, self._storage, index)

    def delete(self, index: int) -> None:
        """Delete the message at ``index`` (AT+CMGD=<index>)."""
        self._run(commands.delete_message(index))

    def delete_read(self) -> None:
        """Delete every message marked read, keeping unread ones (AT+CMGD=1,1).

        Only after a ``complete`` listing whose messages are all committed. Raises AtError
        where the modem refuses the flag; callers fall back to ``delete``.
        """
        self._run(commands.DELETE_READ)

    def send(self, number: str, text: str, *, reference: int = 0) -> list[int]:
        """Send ``text`` to ``number`` (one AT+CMGS per part); the message references.

        Every failure raises SendFailed with the number of parts that had left; its ``cause``
        tells whether the part in flight may have left too (see ``errors.send_outcome``).
        """
        try:
            parts = encode_submit(number, text, reference=reference)
        except PduError as error:
            raise SendFailed(error, 0, 0) from error
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
        # The service logs the SMS it sent; the references are for troubleshooting.
        log.debug("sent %d part(s) to %s, references %s", len(parts), mask(number), references)
        return references

    def notify_new_messages(self, enabled: bool) -> None:
        """AT+CNMI with <mt> 1 (+CMTI for each message stored) or 0 (stored, not announced).

        A +CMTI is about 19 bytes: under a flood, 10% of what the line carries per SMS, spent
        telling a poller what its next listing shows anyway. A refusal leaves things as they are.
        """
        indications = self._indications
        if indications is None or enabled == self._notifying:
            return
        command = indications if enabled else commands.without_indications(indications)
        try:
            self._run(command)
        except AtError as error:
            log.debug("%s: %s refused: %s", self.port, command, error)
            return
        self._notifying = enabled

    def wait_for_new_message(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` for +CMTI (or ^SMMEMFULL); True if one came.

        Safe from any thread. Raises PortLost once the device has vanished.
        """
        came = self._new_message.wait(timeout_s)
        if came:
            self._new_message.clear()
        vanished = self._channel.vanished
        if vanished is not None:
            raise PortLost(self.port, vanished)
        return came

    # ---- commands ---------------------------------------------------------------------------

    def _run(self, command: Command, *, body: str | None = None) -> list[Response]:
        return self._channel.run(command, body=body)

    def _optional(
        self, command: Command, parse: Callable[[Sequence[Response]], T], default: T
    ) -> T:
        """``parse`` of the answer, or ``default`` when the modem refuses to give it."""
        try:
            return parse(self._run(command))
        except (AtError, SimError, MalformedResponse) as error:
            log.debug("%s: %s gave nothing usable: %s", self.port, command, error)
            return default

    def _error(self, command: Command, final: Final) -> ModemError:
        return commands.error_for(command, final, storage=self._storage)

    # ---- what the reader thread reports ----------------------------------------------------

    def _on_urc(self, urc: Urc) -> None:
        if urc.name in _NEW_MESSAGE_URCS:
            if urc.name == "+CMT":
                log.warning(
                    "%s: a message was handed over directly (+CMT) instead of stored: "
                    "it is not on the SIM; check AT+CNMI",
                    self.port,
                )
            self._new_message.set()
        elif urc.name == "^SMMEMFULL":
            # DEBUG only: under a flood the SIM fills at every drain. Draining is the answer:
            # wake the poller.
            log.debug("%s: SIM message storage full (%s)", self.port, urc.text)
            self._new_message.set()
        elif urc.name == "^RSSI":
            value = urc.text.partition(":")[2].strip()
            if value.isascii() and value.isdigit():
                self.last_rssi = int(value)
