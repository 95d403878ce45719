"""The clocks: UTC for the store, the machine's local time for operators, moments they type.

Only ``utc_now`` and ``local_now`` read the wall clock; everything else takes ``now``, so the
tests give their own. Imports nothing of the package at module level (the CLI imports this
module on every command, and ``config`` is needed only to read a duration).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

_CLOCK_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def utc_now() -> datetime:
    """The wall clock, as the store wants it (aware, UTC)."""
    return datetime.now(UTC)


def local_now() -> datetime:
    """The wall clock in the machine's zone, for what operators type and read."""
    return datetime.now(UTC).astimezone()


def system_local(naive: datetime) -> datetime:
    """A naive wall-clock time in the machine's zone, with that date's offset (DST included)."""
    return naive.astimezone()


def parse_moment(
    text: str,
    now: datetime,
    *,
    ahead: bool,
    localize: Callable[[datetime], datetime] = system_local,
) -> datetime:
    """Read a time typed on the command line; times without an offset are local (``localize``).

    Accepts ISO 8601 (``2026-11-28``, ``2026-11-28T18:30``, ``...+01:00``, ``...Z``) and ``HH:MM``
    — the next such time when ``ahead`` (``pause --until 08:00`` at night means tomorrow),
    the last one otherwise. When not ``ahead``, a duration (``24h``) means that long ago.
    Raises ValueError with the accepted forms.
    """
    text = text.strip()
    clock = _CLOCK_TIME.fullmatch(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"{text!r} is not a time of day; write HH:MM such as 08:30")
        today = now.date()
        moment = localize(datetime.combine(today, time(hour, minute)))
        if ahead and moment <= now:
            moment = localize(datetime.combine(today + timedelta(days=1), time(hour, minute)))
        elif not ahead and moment > now:
            moment = localize(datetime.combine(today - timedelta(days=1), time(hour, minute)))
        return moment
    if not ahead:
        from anti_relous.config import parse_duration

        with contextlib.suppress(ValueError):
            return now - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        forms = "HH:MM, 2026-11-28 or 2026-11-28T18:30"
        if not ahead:
            forms += ", or a duration ago such as 24h"
        raise ValueError(f"{text!r} is not a time; write {forms}") from None
    return localize(moment) if moment.tzinfo is None else moment


def local_day_start(now: datetime) -> datetime:
    """Midnight of ``now``'s local day, with the offset midnight had (a DST change today)."""
    return system_local(datetime.combine(now.date(), time()))


def format_moment(moment: datetime) -> str:
    """A moment for records people read (event details): local, to the second, with its offset,
    so it stays unambiguous once stored: ``2026-11-28 15:04:05+01:00``."""
    return moment.astimezone().isoformat(sep=" ", timespec="seconds")


def format_age(delta: timedelta) -> str:
    """``42 s``, ``5 min``, ``3 h 20 min``, ``2 d 4 h``."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
