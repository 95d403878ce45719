"""Tell systemd how the service is doing (sd_notify protocol); a silent no-op outside systemd."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

# sd_notify(3): the state is newline-separated VARIABLE=value assignments in one datagram, so a
# newline inside a value would start a forged assignment (think STATUS= built from SMS text).
_FIELD_SEPARATOR = "\n"
_USEC_PER_SECOND = 1_000_000


class Notifier:
    """A client for ``$NOTIFY_SOCKET``: READY, STATUS, WATCHDOG, RELOADING and STOPPING.

    Build it with :meth:`from_environment` in the daemon's main process. Every method returns
    without raising: a notification that cannot be sent is logged once at WARNING and the
    service carries on, since systemd being unreachable is no reason to stop answering SMS.
    """

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        """Notify the socket at ``address`` (a path, or ``@name`` for the abstract namespace).

        ``address`` None makes every call a no-op. ``watchdog_usec`` is systemd's watchdog
        timeout; None turns :meth:`watchdog` into a no-op.
        """
        self._address = _socket_address(address) if address else None
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self._failure_logged = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """Read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` (sd_watchdog_enabled(3)).

        The watchdog is honoured only when ``WATCHDOG_PID`` is unset or names this process:
        a child that inherited the variables must not ping on its parent's behalf.
        """
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        return cls(address, watchdog_usec=_watchdog_usec(env) if address else None)

    @property
    def enabled(self) -> bool:
        """Whether a notification socket is configured (i.e. we run under systemd)."""
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to call :meth:`watchdog`: half the timeout, as sd_watchdog_enabled(3) advises.

        None when systemd does not expect pings.
        """
        if self._address is None or self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2 / _USEC_PER_SECOND

    def ready(self, status: str | None = None) -> None:
        """Startup (or a reload) is complete: systemd may now consider the service active."""
        self._send("READY=1", *_status_field(status))

    def status(self, text: str) -> None:
        """Show ``text`` as the one-line state in ``systemctl status``."""
        self._send(*_status_field(text))

    def watchdog(self) -> None:
        """Keep-alive ping; call it only while the worker makes progress."""
        if self.watchdog_interval_s is not None:
            self._send("WATCHDOG=1")

    def reloading(self) -> None:
        """A configuration reload starts; call :meth:`ready` when it is done.

        MONOTONIC_USEC lets systemd >= 253 match this message to the reload it requested
        (``Type=notify-reload``); older versions ignore the field.
        """
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._send("RELOADING=1", f"MONOTONIC_USEC={now_usec}")

    def extend_timeout(self, seconds: float, status: str | None = None) -> None:
        """Ask for ``seconds`` more before systemd gives up on a start that is not READY yet.

        Used while waiting for the modem at start-up (EXTEND_TIMEOUT_USEC, systemd >= 236).
        """
        usec = int(seconds * _USEC_PER_SECOND)
        self._send(f"EXTEND_TIMEOUT_USEC={usec}", *_status_field(status))

    def stopping(self, status: str | None = None) -> None:
        """The service is shutting down (send it on every exit path)."""
        self._send("STOPPING=1", *_status_field(status))

    def _send(self, *fields: str) -> None:
        if self._address is None or not fields:
            return
        payload = _FIELD_SEPARATOR.join(fields).encode("utf-8", "replace")
        # A socket per message: a ping every half watchdog period costs nothing, and no
        # long-lived descriptor can leak into children or go stale.
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(payload, self._address)
        except OSError as error:
            self._report_failure(fields[0], error)
        else:
            self._failure_logged = False

    def _report_failure(self, first_field: str, error: OSError) -> None:
        # Once per outage at WARNING: a watchdog ping every 30 s must not flood the journal.
        level = logging.DEBUG if self._failure_logged else logging.WARNING
        log.log(
            level,
            "cannot notify systemd (%s) at %r: %s; the service keeps running",
            first_field,
            self._address,
            error,
        )
        self._failure_logged = True


def _socket_address(address: str) -> str | bytes | None:
    if address.startswith("@"):
        # Abstract namespace: a leading NUL byte instead of '@' (unix(7)).
        return b"\0" + address[1:].encode()
    if address.startswith("/"):
        return address
    log.warning("ignoring NOTIFY_SOCKET=%r: it is neither an absolute path nor @abstract", address)
    return None


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    raw_usec = env.get("WATCHDOG_USEC")
    if not raw_usec:
        return None
    raw_pid = env.get("WATCHDOG_PID")
    try:
        usec = int(raw_usec)
        pid = int(raw_pid) if raw_pid else None
    except ValueError:
        log.warning(
            "ignoring the systemd watchdog: WATCHDOG_USEC=%r WATCHDOG_PID=%r are not numbers",
            raw_usec,
            raw_pid,
        )
        return None
    if pid is not None and pid != os.getpid():
        return None
    return usec if usec > 0 else None


def _status_field(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    one_line = " ".join(text.splitlines())
    return (f"STATUS={one_line}",)
