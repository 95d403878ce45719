"""Which SMS coding a text needs and how many parts it costs: table lookups, no codec, no gammu.

`status`, `init` and `doctor` show the reply's size, and the service counts parts against the
caps; none of them should pay for importing libgammu. The PDUs themselves are python-gammu's
(modem/pdu.py): a test holds these counts equal to the parts gammu actually makes.
"""

from __future__ import annotations

from anti_relous.lazyclass import frozen_dataclass

# 3GPP TS 23.038 6.2.1: the GSM 7-bit default alphabet (ESC, 0x1B, is left out: it is not text).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# 3GPP TS 23.038 6.2.1.1: the extension table; each costs two septets (ESC + code).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# TS 23.040 9.2.3.24: one SMS carries 140 octets of user data, 160 septets or 70 UTF-16 units;
# a part of a concatenated message gives 6 of them to its header (8-bit reference), leaving
# 153 septets or 67 units.
_SINGLE = {"gsm7": 160, "ucs2": 70}
_LINKED = {"gsm7": 153, "ucs2": 67}


def fits_gsm7(text: str) -> bool:
    """True when every character of ``text`` exists in the GSM-7 basic or extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


@frozen_dataclass
class TextInfo:
    """How a text travels: its coding and how many SMS parts it costs."""

    coding: str
    parts: int
    characters: int
    #: The distinct characters outside GSM-7, in order of appearance: what made it UCS-2.
    outside_gsm7: tuple[str, ...] = ()

    def describe(self) -> str:
        """Human summary such as ``"GSM-7, 274 characters, 2 SMS parts"``."""
        name = {"gsm7": "GSM-7", "ucs2": "UCS-2"}[self.coding]
        if self.outside_gsm7:
            name += f" (because of {self.culprits()})"
        characters = "character" if self.characters == 1 else "characters"
        parts = "SMS part" if self.parts == 1 else "SMS parts"
        return f"{name}, {self.characters} {characters}, {self.parts} {parts}"

    def culprits(self, limit: int = 3) -> str:
        """The characters that forced UCS-2, readable: ``'ç', U+00A0 NO-BREAK SPACE``."""
        shown = [_shown(c) for c in self.outside_gsm7[:limit]]
        if len(self.outside_gsm7) > limit:
            shown.append(f"{len(self.outside_gsm7) - limit} more")
        return ", ".join(shown)


def _shown(character: str) -> str:
    # A no-break space pasted from a word processor is the classic culprit: it must be named.
    if character.isprintable() and not character.isspace():
        return f"'{character}'"
    import unicodedata

    return f"U+{ord(character):04X} {unicodedata.name(character, '')}".rstrip()


def text_info(text: str) -> TextInfo:
    """Coding and part count of ``text`` as ``pdu.encode_submit`` sends it.

    UCS-2 exactly when a character is outside the GSM-7 tables. Like gammu, a part never ends
    in the middle of a character: an escaped GSM-7 character (two septets) or a character
    outside the Basic Multilingual Plane (a UTF-16 surrogate pair) moves whole to the next part.
    """
    outside = tuple(
        dict.fromkeys(c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION)
    )
    coding = "ucs2" if outside else "gsm7"
    if coding == "gsm7":
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
    else:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    if sum(costs) <= _SINGLE[coding]:
        return TextInfo(coding=coding, parts=1, characters=len(text), outside_gsm7=outside)
    parts, used = 1, 0
    for cost in costs:
        if used + cost > _LINKED[coding]:
            parts, used = parts + 1, 0
        used += cost
    return TextInfo(coding=coding, parts=parts, characters=len(text), outside_gsm7=outside)


def one_gsm7_part(text: str) -> str:
    """``text`` made to travel as one GSM-7 part: characters outside GSM-7 become ``?`` and a
    text past 160 septets is cut, ending in ``...``.

    For what the line composes itself (alerts, answers to admin commands) around figures and
    names of unknown length: one part each, whatever they hold.
    """
    safe = "".join(c if fits_gsm7(c) else "?" for c in text)
    septets = 0
    for end, c in enumerate(safe):
        septets += 2 if c in GSM7_EXTENSION else 1
        if septets > _SINGLE["gsm7"]:
            return _cut(safe[:end])
    return safe


def _cut(text: str) -> str:
    """``text`` shortened so that it and a trailing ``...`` fit 160 septets."""
    while sum(2 if c in GSM7_EXTENSION else 1 for c in text) > _SINGLE["gsm7"] - 3:
        text = text[:-1]
    return text.rstrip() + "..."
