"""The Modem protocol every backend implements, its value types, and the backend factory.

The driver only: ``at`` (sans-I/O parser) and ``commands`` (pure builders and parsers) under
``at_channel`` (port, reader thread, exchange) and ``at_modem`` (AT semantics); ``pdu`` adapts
python-gammu's codec; ``gammu_modem`` is the libgammu backend. Imports: ``config``, ``sms``,
``coding``, ``numbers`` and ``errors``; never ``store``, ``policy``, ``service`` or the tools.
Only the AT channel touches pyserial; only ``pdu`` and ``gammu_modem`` touch gammu.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from anti_relous.config import ModemConfig


class MessageStatus(enum.IntEnum):
    """<stat> of a stored message in PDU mode (3GPP TS 27.005 3.1)."""

    REC_UNREAD = 0
    REC_READ = 1
    STO_UNSENT = 2
    STO_SENT = 3


@dataclass(frozen=True)
class StoredMessage:
    """One message slot of the SIM (or modem) storage, as listed."""

    storage: str
    index: int
    status: MessageStatus
    #: The PDU with its leading SMSC field, exactly as the modem returned it.
    pdu: bytes
    #: Set when the modem keeps showing this slot in a form that cannot be read: ``pdu`` then
    #: holds the raw line as received, kept as evidence, and this says what was wrong.
    unreadable: str | None = None
    #: True when the PDU is not the size its header announced (TS 27.005 <length>): a line cut
    #: by noise or by a stray final result, or a firmware that misreports the length.
    misfit: bool = False


@dataclass(frozen=True)
class Listing:
    """What one listing of the storage showed, and whether it provably showed all of it."""

    messages: tuple[StoredMessage, ...]
    #: True when nothing stored can be missing from ``messages`` (the modem's own count agreed,
    #: or the listing filled the storage): only then may ``delete_read`` follow, since it also
    #: deletes read messages a listing cut short by a stray final result never showed.
    complete: bool


@dataclass(frozen=True)
class Identity:
    """Who the dongle says it is."""

    manufacturer: str
    model: str
    firmware: str
    imei: str


@dataclass(frozen=True)
class Health:
    """What the dongle reports about the SIM, the network and its storage."""

    #: "READY", "SIM PIN", "SIM PUK", "NOT INSERTED"...
    sim_state: str
    #: +CSQ <rssi>: 0-31, None when unknown (99).
    signal_csq: int | None
    #: The same in dBm (TS 27.007 8.5: -113 + 2 * rssi).
    signal_dbm: int | None
    #: "home", "roaming", "searching", "denied", "not registered" or "unknown".
    registration: str
    operator: str | None
    storage_used: int | None
    storage_total: int | None
    smsc: str | None

    @property
    def registered(self) -> bool:
        """True when SMS can be sent."""
        return self.registration in ("home", "roaming")

    @property
    def storage_full(self) -> bool:
        """True when no new SMS fits on the SIM."""
        return (
            self.storage_used is not None
            and self.storage_total is not None
            and self.storage_used >= self.storage_total
        )


def csq_to_dbm(rssi: int) -> int | None:
    """TS 27.007 8.5: <rssi> 0 is -113 dBm or less, 31 is -51 dBm or more, 99 is unknown."""
    if not 0 <= rssi <= 31:
        return None
    return -113 + 2 * rssi


class Modem(Protocol):
    """A dongle the line reads SMS from and replies through. One thread at a time calls it."""

    @property
    def port(self) -> str:
        """The device path, for messages."""
        ...

    def open(self) -> None:
        """Open the device and prepare it (PIN, PDU mode, storage, notifications)."""
        ...

    def close(self) -> None:
        """Release the device; safe to call twice or after a failure."""
        ...

    def identity(self) -> Identity:
        """Manufacturer, model, firmware and IMEI."""
        ...

    def health(self) -> Health:
        """SIM state, signal, registration, operator, storage use and SMSC."""
        ...

    def list_stored(self, meanwhile: Callable[[], object] | None = None) -> Listing:
        """Every message in storage; unread ones become read (AT+CMGL=4).

        ``meanwhile``: work for the caller's thread while the modem answers (once, after the
        command left; it must not use the modem).
        """
        ...

    def delete(self, index: int) -> None:
        """Delete the message at ``index``."""
        ...

    def delete_read(self) -> None:
        """Delete every message marked read, keeping unread ones (AT+CMGD=1,1).

        Only after a listing that was ``complete`` and whose messages are all committed.
        Raises AtError where the modem refuses the flag; callers fall back to ``delete``.
        """
        ...

    def send(self, number: str, text: str, *, reference: int = 0) -> list[int]:
        """Send ``text`` (several linked parts if long); returns one message reference per part.

        Every failure raises ``errors.SendFailed``: its ``cause`` says why and ``parts_sent``
        how many parts had left. ``errors.send_outcome`` reads it for at-most-once delivery.
        """
        ...

    def notify_new_messages(self, enabled: bool) -> None:
        """Turn new-message notifications off (False) while the caller drains the storage
        anyway, and back on (True) once it found it empty: each one costs the line bytes a
        flood can ill afford. Best effort: a modem that refuses keeps notifying."""
        ...

    def wait_for_new_message(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` for a new-message notification; True if one came.

        Safe to call from another thread than the one issuing commands.
        """
        ...


def open_modem(config: ModemConfig) -> Modem:
    """Build the backend ``config.backend`` names (not yet opened: call ``open()``)."""
    if config.backend == "gammu":
        from anti_relous.modem.gammu_modem import GammuModem

        return GammuModem(config)
    from anti_relous.modem.at_modem import AtModem

    return AtModem(config)
