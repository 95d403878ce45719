"""Logging set-up for the daemon and the CLI: one line per event, journald-aware, numbers masked.

Format, on the given stream (stderr by default):

* under systemd (``JOURNAL_STREAM`` names that stream): ``<6>anti_relous.service: message``;
  the ``<N>`` prefix is the syslog priority journald stores (sd-daemon(3)), and there is no
  timestamp because journald adds its own;
* elsewhere: ``2026-11-28 14:00:00,123 INFO anti_relous.service: message``.

One event is always one line. journald would split a multi-line message into several entries,
the later ones at the default priority, and a newline in logged SMS text could forge a line of
any priority. So line breaks and other control characters in the message and its traceback are
written as escapes (``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\u2028``). To read a traceback from the
journal: ``journalctl -u anti-relous -o cat | sed 's/\\\\n/\\n/g'``.

At INFO and above, anything that looks like a phone number (``+33612345678``, ``0612345678``,
``06 12 34 56 78``, ``0033 6 12 34 56 78``...) is masked with :func:`anti_relous.numbers.mask`
in the final line, so a careless ``log.info("from %s", number)`` cannot leak it, unless the
operator sets ``log.full_numbers``. DEBUG lines are left as they are: debug output is for the
operator's own troubleshooting and needs the real numbers.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from anti_relous.numbers import mask

# sd-daemon(3) priority prefixes, by the lowest logging level that maps to each.
_JOURNAL_PRIORITIES = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)
_JOURNAL_DEBUG_PRIORITY = 7

_SEPARATOR = r"[ .\-]?"
# A whole token only: no letter, digit or '+' glued before it, no digit after it.
_PHONE_NUMBER = re.compile(
    r"(?<![\w+])(?:"
    rf"\+\d(?:{_SEPARATOR}\d){{7,14}}"  # E.164: + and 8 to 15 digits
    rf"|00[1-9](?:{_SEPARATOR}\d){{7,13}}"  # international with 00 instead of +
    rf"|0[67](?:{_SEPARATOR}\d){{8}}"  # French mobile, national form
    r")(?!\d)"
)
_NUMBER_SEPARATORS = re.compile(r"[ .\-]")
# C0 and C1 controls (a terminal obeys ESC and CSI sequences from SMS text too) and the Unicode
# line and paragraph separators that some readers break lines on.
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
# Marks the handler configure_logging installed, so a second call replaces only that one.
_HANDLER_NAME = "anti_relous"


def configure_logging(
    level: str,
    *,
    full_numbers: bool,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Send every log record at ``level`` or above to ``stream``, one line per event.

    ``level`` is a name from the config (``debug``, ``info``, ``warning``, ``error``).
    ``environ`` (default ``os.environ``) is where ``JOURNAL_STREAM`` is looked up. Calling it
    again (on SIGHUP) replaces the handler it installed before and leaves others alone. Returns
    the installed handler.
    """
    try:
        threshold = _LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}") from None
    target = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(target)
    handler.setFormatter(
        LineFormatter(
            journal=_is_journal_stream(target, os.environ if environ is None else environ),
            full_numbers=full_numbers,
        )
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(threshold)
    # APScheduler logs every job run at INFO: with a poll every few seconds that would bury the
    # line's own events. Its warnings (missed runs, job errors) still come through.
    logging.getLogger("apscheduler").setLevel(
        logging.DEBUG if threshold <= logging.DEBUG else logging.WARNING
    )
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _BusyWorkerFilter) for f in scheduler_log.filters):
        scheduler_log.addFilter(_BusyWorkerFilter())
    return handler


class _BusyWorkerFilter(logging.Filter):
    """Drop "skipped: maximum number of running instances reached" below DEBUG.

    The daemon runs every job on ONE worker thread on purpose (DESIGN 3): while a poll drains a
    flood, the heartbeat and send jobs wait their turn and APScheduler reports each of their
    missed beats. That is the designed back-pressure, not a fault worth a warning per second.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" in str(record.msg):
            return logging.getLogger("apscheduler").isEnabledFor(logging.DEBUG)
        return True


class LineFormatter(logging.Formatter):
    """Format a record as exactly one line, masked and escaped as the module docstring says."""

    def __init__(self, *, journal: bool, full_numbers: bool) -> None:
        super().__init__()
        self.journal = journal
        self.full_numbers = full_numbers

    def format(self, record: logging.LogRecord) -> str:
        """One line: prefix, logger name, message, then the traceback if there is one."""
        body = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            body = f"{body}\n{record.exc_text}"
        if record.stack_info:
            body = f"{body}\n{self.formatStack(record.stack_info)}"
        if record.levelno >= logging.INFO and not self.full_numbers:
            body = mask_numbers(body)
        body = escape_control_characters(body)
        if self.journal:
            return f"<{journal_priority(record.levelno)}>{record.name}: {body}"
        return f"{self.formatTime(record)} {record.levelname} {record.name}: {body}"


def mask_numbers(text: str) -> str:
    """Mask every phone-number-looking token in ``text`` (``+33612345678`` -> ``+336••••••78``)."""
    return _PHONE_NUMBER.sub(lambda m: mask(_NUMBER_SEPARATORS.sub("", m.group())), text)


def escape_control_characters(text: str) -> str:
    """Write line breaks, tabs and other control characters as backslash escapes."""
    return _CONTROL_CHARACTERS.sub(
        lambda m: _NAMED_ESCAPES.get(m.group()) or _numeric_escape(m.group()), text
    )


def _numeric_escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def journal_priority(levelno: int) -> int:
    """The syslog priority (sd-daemon(3) ``<N>`` prefix) for a logging level number."""
    for lowest, priority in _JOURNAL_PRIORITIES:
        if levelno >= lowest:
            return priority
    return _JOURNAL_DEBUG_PRIORITY


def _is_journal_stream(stream: TextIO, environ: Mapping[str, str]) -> bool:
    # systemd.exec(5): JOURNAL_STREAM is "device:inode" of the stream connected to journald.
    # Compare it with our stream, so that output redirected elsewhere (a file, a pipe to less)
    # stays in the plain format even when the variable was inherited.
    expected = environ.get("JOURNAL_STREAM", "")
    device, _, inode = expected.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))
