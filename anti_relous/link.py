"""The modem connection's life: open on demand, close on failure, reopen with growing backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from anti_relous.modem import Identity, Modem
from anti_relous.modem.errors import ModemError, SimPukRequired, WrongPin

log = logging.getLogger(__name__)

#: First wait after a failure, doubled at each failed attempt up to the maximum (issue 4: 1 s to
#: 5 min). A success resets it, so a modem lost after days of service is retried at once.
INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 300.0


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
    ) -> None:
        self._factory = factory
        self._monotonic = monotonic
        self.modem: Modem | None = None
        self.identity: Identity | None = None
        self.last_error: ModemError | None = None
        #: Set after a wrong PIN or a PUK lock: retrying would send the PIN again and lock the
        #: SIM for good, so nothing is retried until the configuration changes.
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
            modem.open()
            identity = modem.identity()
        except (WrongPin, SimPukRequired) as error:
            modem.close()
            self.halted = True
            self.last_error = error
            log.error("modem halted, not retrying: %s", error)
            return None
        except ModemError as error:
            modem.close()
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

    def reconfigure(self, factory: Callable[[], Modem]) -> None:
        """Use a new modem configuration: close, forget the halt and the backoff, reopen soon."""
        self.close()
        self._factory = factory
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

    def _retry_later(self, error: ModemError) -> None:
        self.last_error = error
        self._next_attempt = self._monotonic() + self._backoff_s
        log.warning("modem unavailable (%s); next attempt in %.0f s", error, self._backoff_s)
        self._backoff_s = min(self._backoff_s * 2, MAX_BACKOFF_S)
