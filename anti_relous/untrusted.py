"""Text a stranger wrote, made safe to show: controls, bidi and invisible characters made visible.

Every SMS text and sender is hostile input. A terminal obeys control characters (ESC sequences
rewrite the screen, BS and CR hide what came before, U+009B is CSI on some terminals) and bidi
overrides reorder what is read, so a threat can display as "bonjour !". Two renderings exist,
and everything the CLI, ``doctor`` and the evidence report show goes through one of them:

* ``visible``: for people. Control, C1, bidi, zero-width and other invisible format characters
  are replaced by a visible escape (``\\x1b``, ``⟨U+202E⟩``); ordinary text, French accents and
  emoji (zero-width joiners inside emoji sequences included) pass unchanged.
* ``json_dumps``: for programs. JSON keeps the exact text, but the same characters are written
  as ``\\uXXXX`` escapes, so the JSON itself never carries them raw to a terminal.

Pure: no I/O. (git's ``quote_path`` and Python's ``repr`` are the models.)
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

#: Zero-width joiner: legitimate between emoji (👩‍💻), invisible and abusable anywhere else.
_ZWJ = "\u200d"
#: Emoji tag characters (subdivision flags such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿): format characters that belong after U+1F3F4.
_TAGS = range(0xE0020, 0xE0080)
_BLACK_FLAG = "\U0001f3f4"
_VARIATION_SELECTOR_16 = "\ufe0f"


def _dangerous(char: str) -> bool:
    """Controls (C0, DEL, C1), format characters (bidi, zero-width, tags), line/paragraph
    separators and lone surrogates: what a terminal may obey or what hides text."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs")


#: Characters that may be dangerous: everything outside the ranges known to hold none (printable
#: ASCII, and Latin to Hebrew but for the soft hyphen U+00AD). Each candidate is then checked by
#: its Unicode category, so the scan stays fast on French text.
_CANDIDATES = re.compile("[^\x20-\x7e\xa0-\xac\xae-\u05ff]")


def visible(text: str, *, newline: str = "⏎", width: int | None = None) -> str:
    """``text`` with every dangerous character shown as an escape; ordinary text unchanged.

    C0 controls, DEL and C1 controls become ``\\xNN`` (``\\t`` and ``\\r`` for tab and CR); a
    line feed becomes ``newline`` (``⏎`` keeps a table row on one line; pass ``"\\n"`` to show
    a text in full). Bidi overrides, zero-width and other invisible format characters become
    ``⟨U+XXXX⟩``. ``width`` caps the result to that many terminal columns, ending with ``…``.
    """
    if _CANDIDATES.search(text) is None:
        shown = text
    else:
        out: list[str] = []
        previous = ""
        for position, char in enumerate(text):
            out.append(_show(char, previous, text, position, newline))
            previous = char
        shown = "".join(out)
    if width is not None:
        shown = fit(shown, width)
    return shown


def _show(char: str, previous: str, text: str, position: int, newline: str) -> str:
    code = ord(char)
    if code >= 0x20 and code != 0x7F and not 0x80 <= code <= 0x9F:
        if not _dangerous(char):
            return char
        if char == _ZWJ and _joins_emoji(previous, text, position):
            return char
        if code in _TAGS and _in_flag_sequence(text, position):
            return char
        return f"⟨U+{code:04X}⟩"
    if char == "\n":
        return newline
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    return f"\\x{code:02x}"


def _is_emoji(char: str) -> bool:
    return bool(char) and (
        unicodedata.category(char) == "So"
        or char == _VARIATION_SELECTOR_16
        or 0x1F3FB <= ord(char) <= 0x1F3FF  # skin tone modifiers
    )


def _joins_emoji(previous: str, text: str, position: int) -> bool:
    following = text[position + 1] if position + 1 < len(text) else ""
    return _is_emoji(previous) and _is_emoji(following)


def _in_flag_sequence(text: str, position: int) -> bool:
    start = position
    while start > 0 and ord(text[start - 1]) in _TAGS:
        start -= 1
    return start > 0 and text[start - 1] == _BLACK_FLAG


def columns(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide and emoji count 2; combining marks,
    variation selectors and the format characters ``visible`` keeps (joiners and tags inside
    emoji sequences) count 0."""
    total = 0
    for char in text:
        if unicodedata.category(char) in _ZERO_WIDTH_CATEGORIES:
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


#: Non-spacing and enclosing marks (accents, variation selectors) and format characters.
_ZERO_WIDTH_CATEGORIES = ("Mn", "Me", "Cf")


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, ending with ``…`` when cut."""
    if columns(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        cost = columns(char)
        if used + cost > width - 1:
            break
        kept.append(char)
        used += cost
    while kept and kept[-1] == _ZWJ:  # a joiner left with nothing to join is invisible text
        kept.pop()
    return "".join(kept) + "…"


def json_dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **kwargs)`` with every dangerous character
    written as a ``\\uXXXX`` escape: the text parses back exactly, and the JSON shows no raw
    control to a terminal. (Such characters only occur inside JSON strings, where json.dumps
    already escapes LF; a raw LF is the line break of ``indent``, and stays.)"""
    raw = json.dumps(value, ensure_ascii=False, **kwargs)
    return _CANDIDATES.sub(_json_escape, raw)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\n" or not _dangerous(char):
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
