"""How a value is written in the configuration file, and the check each key's value passes.

Durations are strings such as ``"90s"``, ``"10m"``, ``"24h"``, ``"7d"`` (``parse_duration``,
and ``format_duration`` back). Each key of a section is an ``opt(default, check)``: the check
turns the TOML value into the typed value or raises ValueError saying what was expected; the
loader (``anti_relous.config``) adds the key and the file. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import field
from datetime import timedelta
from typing import Any

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_DURATION = re.compile(r"(?:\d+[smhdw])+")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def parse_duration(text: str) -> timedelta:
    """Parse ``"90s"``, ``"10m"``, ``"24h"``, ``"7d"``, ``"2w"`` or a sum like ``"1h30m"``.

    Raises ValueError with the accepted forms when ``text`` is not one of them.
    """
    compact = text.strip().lower()
    if compact == "0":
        return timedelta(0)
    if not _DURATION.fullmatch(compact):
        raise ValueError(
            f'{text!r} is not a duration; write a number and a unit, e.g. "90s", "10m", '
            '"24h", "7d" or "1h30m"'
        )
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(compact))
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest string ``parse_duration`` reads back as ``delta``: 86400 s -> ``"1d"``."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


#: Turns the TOML value into the typed value, or raises ValueError with the expectation.
Check = Callable[[Any], Any]


def opt(default: Any, check: Check) -> Any:
    """A section's key: its default (a list becomes a tuple) and its check, in the field's
    metadata["check"]. The checks below are named for what they accept."""
    if isinstance(default, list | tuple):
        return field(default=tuple(default), metadata={"check": check})
    return field(default=default, metadata={"check": check})


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string in quotes, got {value!r}")
    return value


def non_empty_text(value: Any) -> str:
    text = string(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def reply_text(value: Any) -> str:
    text = non_empty_text(value)
    # Control characters do not survive every phone (or gammu's UCS-2 decoder) intact.
    bad = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\r"})
    if bad:
        raise ValueError(f"contains control characters {bad}; use plain text and line breaks")
    return text


def whole(minimum: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number >= {minimum}, got {value!r}")
        if value < minimum:
            raise ValueError(f"expected a whole number >= {minimum}, got {value}")
        return value

    return check


def price(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"expected a price >= 0 such as 0.16, got {value!r}")
    return float(value)


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def duration(*, allow_zero: bool = False) -> Check:
    def check(value: Any) -> timedelta:
        delta = parse_duration(string(value))
        if delta <= timedelta(0) and not allow_zero:
            raise ValueError(f'expected a duration above zero such as "10m", got {value!r}')
        return delta

    return check


def choice(*allowed: str) -> Check:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(map(repr, allowed))}, got {value!r}")
        return str(value)

    return check


def sim_pin(value: Any) -> str:
    pin = string(value)
    if pin and not re.fullmatch(r"\d{4,8}", pin):
        raise ValueError('a SIM PIN is 4 to 8 digits in quotes, e.g. "1234", or "" for none')
    return pin


def regions(value: Any) -> tuple[str, ...]:
    # Only the form here: whether phonenumbers knows each code is checked when the whole file
    # is (``Config.check``), so that commands reading [line] do not import phonenumbers.
    if not isinstance(value, list) or not value:
        raise ValueError('expected a non-empty list of region codes such as ["FR"]')
    codes = []
    for item in value:
        if not isinstance(item, str) or not re.fullmatch(r"[A-Za-z]{2}", item):
            raise ValueError(f'{item!r} is not a region code; use two letters such as "FR"')
        codes.append(item.upper())
    return tuple(codes)


def name_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError('expected a list of names in quotes such as ["Camille Martin"]')
    if not all(item.strip() for item in value):
        raise ValueError("a name must not be empty")
    return tuple(item.strip() for item in value)


def phone_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError('expected a list of numbers in quotes such as ["+33612345678"]')
    return tuple(value)


def clock_time(value: Any) -> str:
    text = string(value)
    if text and not _CLOCK.fullmatch(text):
        raise ValueError(f'expected a time of day such as "08:00", or "" for none, got {text!r}')
    return text


def clock_range(value: Any) -> str:
    text = string(value)
    start, dash, end = text.partition("-")
    if text and not (dash and _CLOCK.fullmatch(start.strip()) and _CLOCK.fullmatch(end.strip())):
        raise ValueError(
            f'expected two times of day such as "23:00-07:00", or "" for none, got {text!r}'
        )
    return text.replace(" ", "")


def prom_path(value: Any) -> str:
    text = string(value)
    if text and not (text.startswith("/") and text.endswith(".prom")):
        raise ValueError(
            "expected an absolute path ending in .prom (node_exporter reads only those), "
            f'such as "/var/lib/prometheus/node-exporter/anti-relous.prom", or "" for none; '
            f"got {text!r}"
        )
    return text
