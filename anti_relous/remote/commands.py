"""Admin SMS commands as typed on a phone: ``PAUSE [2h] CODE``, ``RESUME CODE``, ``STATUS CODE``,
``BLOCK NUMBER [7d] CODE``, ``ALLOW NUMBER CODE``, ``HELP``. Pure parsing, no store.

A text is a command when its first word is a verb and (except for HELP) its last word looks like
a code. Anything else is an ordinary SMS: a typo from an admin gets the public reply, and a
stranger learns nothing. A command whose code is present but whose arguments are wrong parses
with a ``problem``: once the code checks out, the admin is told what to fix.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import timedelta

from anti_relous.config import parse_duration

#: A TOTP code is 6 digits (RFC 6238 as authenticator apps use it); a static PIN 4 to 8.
CODE = re.compile(r"\d{4,8}")
#: Phones add these after the last word (autocorrect, habit).
_TRAILING = ".!,;"


class Verb(enum.StrEnum):
    """What an admin can ask by SMS."""

    PAUSE = "PAUSE"
    RESUME = "RESUME"
    STATUS = "STATUS"
    BLOCK = "BLOCK"
    ALLOW = "ALLOW"
    HELP = "HELP"


#: How each command is written, for HELP and for the answer to a malformed one.
USAGE = {
    Verb.PAUSE: "PAUSE [2h] CODE",
    Verb.RESUME: "RESUME CODE",
    Verb.STATUS: "STATUS CODE",
    Verb.BLOCK: "BLOCK NUMERO [7d] CODE",
    Verb.ALLOW: "ALLOW NUMERO CODE",
    Verb.HELP: "HELP",
}


@dataclass(frozen=True)
class Command:
    """One parsed admin command."""

    verb: Verb
    #: The code as typed; None only for HELP sent without one.
    code: str | None
    duration: timedelta | None = None
    #: The number to BLOCK or ALLOW, as typed (normalised by the caller, which knows the region).
    target: str | None = None
    #: What is wrong with the arguments, in French for the admin's phone; None when well formed.
    problem: str | None = None


def parse(text: str) -> Command | None:
    """The command ``text`` holds, or None when it is not one."""
    words = text.split()
    if not words:
        return None
    try:
        verb = Verb(words[0].upper())
    except ValueError:
        return None
    args = words[1:]
    code = None
    if args and CODE.fullmatch(args[-1].rstrip(_TRAILING)):
        code = args.pop().rstrip(_TRAILING)
    if code is None and verb is not Verb.HELP:
        return None
    if verb in (Verb.RESUME, Verb.STATUS, Verb.HELP):
        return Command(verb, code, problem=_extra(verb, args))
    if verb is Verb.PAUSE:
        if len(args) > 1:
            return Command(verb, code, problem=_extra(verb, args))
        duration, problem = _duration(args[0]) if args else (None, None)
        return Command(verb, code, duration=duration, problem=problem)
    if not args or len(args) > (2 if verb is Verb.BLOCK else 1):
        return Command(verb, code, problem=f"écrivez {USAGE[verb]}")
    duration, problem = _duration(args[1]) if len(args) > 1 else (None, None)
    return Command(verb, code, duration=duration, target=args[0], problem=problem)


def _extra(verb: Verb, args: list[str]) -> str | None:
    return f"écrivez {USAGE[verb]}" if args else None


def _duration(word: str) -> tuple[timedelta | None, str | None]:
    try:
        duration = parse_duration(word)
    except ValueError:
        return None, f"durée {word[:12]!r} incomprise, écrivez 30m, 2h ou 7d"
    if duration <= timedelta(0):
        return None, "la durée doit dépasser zéro, écrivez 30m, 2h ou 7d"
    return duration, None
