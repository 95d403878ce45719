"""The modem connection's life: open on demand, close on failure, reopen with growing backoff.

A PIN the SIM rejected is never entered again: not by this process (the link halts) and not
after a restart (``PinMemory`` keeps the rejection, with a salted hash of the PIN, in the
database), since three wrong PINs lock the SIM behind its PUK.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from anti_relous.clock import utc_now
from anti_relous.modem import Identity, Modem
from anti_relous.modem.errors import NEVER_RETRIED, ModemError, WrongPin
from anti_relous.store import StoreError

if TYPE_CHECKING:
    from anti_relous.store.line import Line

log = logging.getLogger(__name__)

#: First wait after a failure, doubled at each failed attempt up to the maximum (issue 4: 1 s to
#: 5 min). A success resets it, so a modem lost after days of service is retried at once.
INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 300.0


#: Where the rejection is kept: the daemon_state table, under this key.
PIN_REJECTED_KEY = "pin_rejected"
# The hash of the PIN: scrypt with a random salt per record. A PIN has few digits, so this is
# not secrecy (the configuration holds the PIN in clear anyway): it only lets a later start
# tell "the same PIN" without the database holding the PIN.
_SALT_BYTES = 16
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class PinRejections(Protocol):
    """Whether the SIM rejected the configured PIN, remembered across restarts."""

    def rejected(self) -> WrongPin | None:
        """The remembered rejection of the configured PIN, or None (never, or another PIN)."""
        ...

    def remember(self, error: WrongPin) -> None:
        """The SIM just rejected the configured PIN."""
        ...

    def forget(self) -> None:
        """The SIM accepted a PIN (or needs none): nothing to remember."""
        ...


class PinMemory:
    """``PinRejections`` kept in the database's daemon_state table, for one configured PIN."""

    def __init__(self, line: Line, pin: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._line = line
        self._pin = pin
        self._clock = clock
        # (salt, hash) last compared, and whether it was this PIN's: scrypt is slow on purpose,
        # and the daemon asks at every attempt to open the modem.
        self._compared: tuple[object, object, bool] | None = None

    def rejected(self) -> WrongPin | None:
        """The remembered rejection of this PIN, or None."""
        try:
            published = self._line.daemon_state(PIN_REJECTED_KEY)
        except StoreError as error:
            log.warning("cannot read whether the SIM rejected this PIN before: %s", error)
            return None
        if published is None:
            return None
        record, at = published
        if not isinstance(record, dict) or not self._same_pin(record):
            return None
        tries = record.get("tries_left")
        since = at.astimezone().strftime("%Y-%m-%d %H:%M")
        return WrongPin(tries if isinstance(tries, int) else None, since=since)

    def remember(self, error: WrongPin) -> None:
        """Keep the rejection, with a salted hash of the PIN and the tries the SIM had left."""
        salt = os.urandom(_SALT_BYTES)
        record = {
            "salt": salt.hex(),
            "pin_scrypt": _pin_hash(self._pin, salt),
            "tries_left": error.tries_left,
        }
        try:
            self._line.put_daemon_state(self._clock(), PIN_REJECTED_KEY, record)
        except StoreError as store_error:
            log.error("cannot remember that the SIM rejected the PIN: %s", store_error)

    def _same_pin(self, record: dict[str, object]) -> bool:
        key = (record.get("salt"), record.get("pin_scrypt"))
        if self._compared is None or self._compared[:2] != key:
            self._compared = (*key, _same_pin(record, self._pin))
        return self._compared[2]

    def forget(self) -> None:
        """Withdraw a remembered rejection."""
        try:
            self._line.clear_daemon_state(PIN_REJECTED_KEY)
        except StoreError as error:
            log.warning("cannot clear the remembered PIN rejection: %s", error)


def open_remembering(modem: Modem, pin_rejections: PinRejections | None) -> Identity:
    """Open ``modem`` and return its identity, unless the SIM rejected this PIN before.

    Raises that remembered rejection without touching the modem; a rejection now is
    remembered, an opening that gets past the SIM forgets any. The modem is closed on failure.
    """
    remembered = pin_rejections.rejected() if pin_rejections is not None else None
    if remembered is not None:
        raise remembered
    try:
        modem.open()
        identity = modem.identity()
    except WrongPin as error:
        modem.close()
        if pin_rejections is not None:
            pin_rejections.remember(error)
        raise
    except BaseException:
        modem.close()
        raise
    if pin_rejections is not None:
        pin_rejections.forget()
    return identity


def _pin_hash(pin: str, salt: bytes) -> str:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, **_SCRYPT).hex()


def _same_pin(record: dict[str, object], pin: str) -> bool:
    salt, stored = record.get("salt"), record.get("pin_scrypt")
    if not isinstance(salt, str) or not isinstance(stored, str):
        return False
    try:
        computed = _pin_hash(pin, bytes.fromhex(salt))
    except ValueError:
        return False
    return hmac.compare_digest(computed, stored)


class ModemLink:
    """Owns the modem object for the worker thread; the main thread only waits on its events.

    A failed command closes the port rather than retrying on a descriptor that may be dead (a
    Huawei stick that hung, or a USB re-enumeration): the next ``get()`` after the backoff opens
    the configured path again, which is how a re-plugged dongle is found.
    """

    def __init__(
        self,
        factory: Callable[[], Modem],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        pin_rejections: PinRejections | None = None,
    ) -> None:
        self._factory = factory
        self._monotonic = monotonic
        self._pin_rejections = pin_rejections
        self.modem: Modem | None = None
        self.identity: Identity | None = None
        self.last_error: ModemError | None = None
        #: Set after a wrong PIN (now or remembered), a last PIN try or a PUK lock: retrying
        #: would spend a PIN try, so nothing is retried until the configuration changes.
        self.halted = False
        self._backoff_s = INITIAL_BACKOFF_S
        self._next_attempt = 0.0
        self._idle = threading.Event()

    def get(self) -> Modem | None:
        """The open modem, opening it if the backoff allows; None while it is unavailable.

        The owner calls this at least once a second while the modem is closed (the daemon's
        ``reconnect`` job), so the next attempt comes when the logged backoff says.
        """
        if self.modem is not None:
            return self.modem
        if self.halted or self._monotonic() < self._next_attempt:
            return None
        modem = self._factory()
        try:
            identity = open_remembering(modem, self._pin_rejections)
        except NEVER_RETRIED as error:
            self._halt(error)
            return None
        except ModemError as error:
            self._retry_later(error)
            return None
        self.modem, self.identity, self.last_error = modem, identity, None
        self._backoff_s = INITIAL_BACKOFF_S
        log.info(
            "modem ready on %s: %s %s (firmware %s)",
            modem.port,
            identity.manufacturer,
            identity.model,
            identity.firmware,
        )
        return modem

    def failed(self, error: ModemError) -> None:
        """A command failed: close the port and reopen it after the backoff."""
        log.warning("modem error, closing the port: %s", error)
        self.close()
        self._retry_later(error)

    def close(self) -> None:
        """Release the port (idempotent). Safe from another thread: aborts a command in flight."""
        modem, self.modem = self.modem, None
        if modem is not None:
            modem.close()

    def reconfigure(
        self, factory: Callable[[], Modem], pin_rejections: PinRejections | None = None
    ) -> None:
        """Use a new modem configuration: close, forget the halt and the backoff, reopen soon.

        A rejection remembered for the new configuration's PIN still holds.
        """
        self.close()
        self._factory = factory
        self._pin_rejections = pin_rejections
        self.halted = False
        self._backoff_s = INITIAL_BACKOFF_S
        self._next_attempt = 0.0

    def retry_in_s(self) -> float | None:
        """Seconds until the next attempt to open the modem; None when open or halted."""
        if self.modem is not None or self.halted:
            return None
        return max(0.0, self._next_attempt - self._monotonic())

    def wait_for_new_message(self, timeout_s: float) -> bool:
        """For the main thread: wait up to ``timeout_s`` for a new-message notification."""
        modem = self.modem
        if modem is None:
            self._idle.wait(timeout_s)
            return False
        try:
            return modem.wait_for_new_message(timeout_s)
        except ModemError:
            # The worker notices the loss on its next command and handles it; just pace the loop.
            self._idle.wait(timeout_s)
            return False

    def _halt(self, error: ModemError) -> None:
        self.halted = True
        self.last_error = error
        log.error("modem halted, not retrying: %s", error)

    def _retry_later(self, error: ModemError) -> None:
        self.last_error = error
        self._next_attempt = self._monotonic() + self._backoff_s
        log.warning("modem unavailable (%s); next attempt in %.0f s", error, self._backoff_s)
        self._backoff_s = min(self._backoff_s * 2, MAX_BACKOFF_S)
