"""Flags: the messages a person should read first (threats, personal data, insults), from a list.

The list is data (``flags.toml`` beside this module, documented at its head; operators point
``[report] flags`` at their own copy) plus the founders' names from ``[report] founders``. A
flag only sorts: flagged messages are listed first, with what matched, and stay in the full log.

Texts are compared in a plain form (lower case, no accents, apostrophes as spaces, invisible
characters removed), so "Je sais OÙ tu habites" and "je sais ou tu ha\u200bbites" both match
"je sais ou tu habites". Pure, but for ``load_flag_list`` which reads the file.
"""

from __future__ import annotations

import enum
import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from anti_relous.errors import AntiRelousError

BUILTIN = "flags.toml"
_APOSTROPHES = re.compile("['\u2019\u2018`\u00b4\u02bc]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+\*?")
_TEXT_WORD = re.compile(r"\w+")
_KEYS = {"category", "words", "patterns"}


class Category(enum.StrEnum):
    """What a flag says about a message, in the order the report lists them."""

    THREAT = "threat"
    PERSONAL_DATA = "personal_data"
    INSULT = "insult"


#: Threats first: they are why a complaint is urgent.
ORDER = tuple(Category)


class FlagListError(AntiRelousError):
    """The flag list cannot be used; the message names the file, the entry and the fix."""

    exit_code = 2


#: A phrase of ``words``: its words in plain form; one ending in ``*`` matches any word it begins.
Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One entry of the list, compiled."""

    category: Category
    phrases: tuple[Phrase, ...]
    #: The entry's patterns as one regex; None without patterns.
    regex: re.Pattern[str] | None


@dataclass(frozen=True)
class FlagList:
    """The compiled list and where it came from (the report's method section names it)."""

    rules: tuple[Rule, ...]
    #: The file's path, or "built-in".
    source: str
    #: SHA-256 of the file's bytes, so the report says exactly which list was used.
    sha256: str
    founders: tuple[str, ...] = ()
    #: Phrases by their first word, and those whose first word ends in ``*``: a text's words are
    #: looked up, not searched for hundreds of phrases (20,000 texts: 7.7 s -> well under 1 s).
    by_first_word: dict[str, tuple[tuple[Category, Phrase], ...]] = field(default_factory=dict)
    starred: tuple[tuple[Category, Phrase], ...] = ()


@dataclass(frozen=True)
class Flag:
    """Why a message is flagged: its category and the words that matched (in plain form)."""

    category: Category
    matched: str


def plain(text: str) -> str:
    """The form texts and words are compared in: lower case, no accents, apostrophes as spaces,
    invisible (format) characters removed, runs of spaces as one."""
    if text.isascii():  # no accent, no format character: the common case, kept fast
        kept = text
    else:
        kept = "".join(
            char
            for char in unicodedata.normalize("NFKD", text)
            if not unicodedata.combining(char) and unicodedata.category(char) != "Cf"
        )
    return _SPACES.sub(" ", _APOSTROPHES.sub(" ", kept.casefold())).strip()


def _phrase(words: str) -> Phrase:
    """One entry of ``words`` as a phrase: whole words, any non-letters between them."""
    return tuple(_WORD.findall(plain(words)))


def _word_matches(word: str, expected: str) -> bool:
    return word.startswith(expected[:-1]) if expected.endswith("*") else word == expected


def _phrase_at(words: Sequence[str], start: int, phrase: Phrase) -> bool:
    return len(words) - start >= len(phrase) and all(
        _word_matches(words[start + offset], expected) for offset, expected in enumerate(phrase)
    )


def _rule(entry: Any, number: int, source: str) -> Rule:
    where = f"{source}: [[flag]] number {number}"
    if not isinstance(entry, dict):
        raise FlagListError(f"{where}: expected a table of category, words and patterns")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise FlagListError(f"{where}: unknown key {unknown[0]!r}; expected category, words, "
                            "patterns")  # fmt: skip
    try:
        category = Category(entry.get("category", ""))
    except ValueError:
        raise FlagListError(
            f"{where}: category must be one of {', '.join(c.value for c in Category)}, "
            f"got {entry.get('category')!r}"
        ) from None
    phrases: list[Phrase] = []
    patterns: list[str] = []
    for key in ("words", "patterns"):
        values = entry.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise FlagListError(f'{where}: {key} must be a list of strings in quotes: ["..."]')
        for value in values:
            if key == "words":
                phrase = _phrase(value)
                if not phrase:
                    raise FlagListError(f"{where}: {value!r} in words holds no letter or digit")
                phrases.append(phrase)
                continue
            try:
                re.compile(value)
            except re.error as error:
                raise FlagListError(f"{where}: the pattern {value!r} is wrong: {error}") from None
            patterns.append(value)
    if not phrases and not patterns:
        raise FlagListError(f"{where}: give words, patterns or both")
    # Texts are compared lower case; IGNORECASE forgives a pattern written with capitals.
    regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None
    return Rule(category, tuple(phrases), regex)


def parse_flag_list(data: bytes, source: str, founders: Sequence[str] = ()) -> FlagList:
    """Compile a flag list (TOML ``data`` read from ``source``) and the founders' names."""
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise FlagListError(f"{source}: not a valid TOML file: {error}") from None
    unknown = sorted(set(document) - {"flag"})
    if unknown:
        raise FlagListError(f"{source}: unknown key {unknown[0]!r}; entries are [[flag]] tables")
    entries = document.get("flag", [])
    if not isinstance(entries, list):
        raise FlagListError(f"{source}: write each entry as a [[flag]] table")
    rules = [_rule(entry, number, source) for number, entry in enumerate(entries, start=1)]
    names = tuple(phrase for phrase in map(_phrase, founders) if phrase)
    if names:
        rules.append(Rule(Category.PERSONAL_DATA, names, None))
    by_first_word: dict[str, list[tuple[Category, Phrase]]] = {}
    starred = []
    for rule in rules:
        for phrase in rule.phrases:
            if phrase[0].endswith("*"):
                starred.append((rule.category, phrase))
            else:
                by_first_word.setdefault(phrase[0], []).append((rule.category, phrase))
    return FlagList(
        tuple(rules),
        source,
        hashlib.sha256(data).hexdigest(),
        tuple(founders),
        {word: tuple(found) for word, found in by_first_word.items()},
        tuple(starred),
    )


def load_flag_list(path: str | Path | None, founders: Sequence[str] = ()) -> FlagList:
    """The operator's list at ``path``, or the built-in one when ``path`` is empty or None."""
    if not path:
        data = resources.files(__package__).joinpath(BUILTIN).read_bytes()
        return parse_flag_list(data, "built-in", founders)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise FlagListError(
            f"cannot read the flag list {path} ([report] flags): {error.strerror or error}"
        ) from None
    return parse_flag_list(data, str(path), founders)


def flags_of(text: str | None, flag_list: FlagList) -> tuple[Flag, ...]:
    """The flags a text raises, at most one per category, in ``ORDER``."""
    if not text:
        return ()
    compared = plain(text)
    words = _TEXT_WORD.findall(compared)
    found: dict[Category, str] = {}
    for start, word in enumerate(words):
        candidates = flag_list.by_first_word.get(word, ())
        for category, phrase in (*candidates, *flag_list.starred):
            if category not in found and _phrase_at(words, start, phrase):
                found[category] = " ".join(words[start : start + len(phrase)])
    for rule in flag_list.rules:
        if rule.category not in found and rule.regex is not None:
            match = rule.regex.search(compared)
            if match is not None:
                found[rule.category] = match.group()
    return tuple(Flag(category, found[category]) for category in ORDER if category in found)


def first_category(flags: Iterable[Flag]) -> int:
    """A sort key: the rank of a message's most serious flag (threat 0)."""
    return min((ORDER.index(flag.category) for flag in flags), default=len(ORDER))
