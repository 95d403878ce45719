"""Campaigns: near-identical texts sent by several numbers, found by leader clustering (pure).

A text is normalised (case, accents, digits, punctuation and spacing removed), then compared with
RapidFuzz against one representative per known campaign: the first text that founded it. Leader
clustering keeps the cost bounded by the number of representatives, not of messages, and needs no
retraining: a raid's copypasta with a random suffix or a changed name lands in one campaign.

Short texts ("Salut ça va ?") are what many genuine people write, so they join a campaign only
when their normal form is identical, and callers weigh them less (see ``is_short``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

#: Below this many letters (after normalising), a text is short: identical match only.
SHORT_TEXT = 16
#: Default similarity (percent) for two texts to be one campaign.
SIMILARITY = 85


def normalise(text: str) -> str:
    """The comparable form: letters only, lower case, without accents, single-spaced.

    Digits and punctuation are dropped because bots vary them to defeat exact matching
    ("... 4821", "!!!"). A text of emoji or symbols only keeps its symbols, so that it still
    has a form ("😘😘 942" and "😘😘 ??" are one).
    """
    decomposed = unicodedata.normalize("NFKD", text)
    words: list[str] = []
    word: list[str] = []
    for char in decomposed:
        if unicodedata.category(char).startswith("L"):
            word.append(char.lower())
        elif unicodedata.combining(char):
            continue
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    if words:
        return " ".join(words)
    # No letters: the symbols (emoji) are the text; digits and punctuation are still a bot's
    # variation ("😘😘 942"). Only a text of digits or punctuation alone keeps them.
    symbols = "".join(c for c in decomposed if unicodedata.category(c).startswith("S"))
    return symbols or "".join(
        c for c in decomposed if not c.isspace() and unicodedata.category(c) != "Cc"
    )


def is_short(normal: str) -> bool:
    """True for a normal form too short for fuzzy matching."""
    return len(normal.replace(" ", "")) < SHORT_TEXT


def best_match(
    normal: str, representatives: Sequence[str], similarity: int = SIMILARITY
) -> int | None:
    """The index of the representative ``normal`` belongs with, or None for a new campaign."""
    if not normal:
        return None
    if is_short(normal):
        try:
            return representatives.index(normal)
        except ValueError:
            return None
    found = process.extractOne(
        normal, representatives, scorer=fuzz.ratio, score_cutoff=similarity,
        processor=None,
    )  # fmt: skip
    if found is None:
        return None
    _, _, index = found
    if is_short(representatives[index]):
        return None  # a long text never joins a short one's campaign
    return int(index)


@dataclass(frozen=True)
class Cluster:
    """One campaign found offline: the indexes of its texts and the representative's index."""

    leader: int
    members: tuple[int, ...]


def cluster(texts: Iterable[str], similarity: int = SIMILARITY) -> list[Cluster]:
    """Leader clustering of ``texts`` in order: each joins the first close representative.

    The same rule the line applies as messages arrive, for reports built after the fact.
    Clusters are returned largest first (ties: earliest first).
    """
    representatives: list[str] = []
    exact: dict[str, int] = {}
    members: list[list[int]] = []
    leaders: list[int] = []
    for position, text in enumerate(texts):
        normal = normalise(text)
        found = exact.get(normal)
        if found is None:
            found = best_match(normal, representatives, similarity)
        if found is None:
            found = len(representatives)
            representatives.append(normal)
            leaders.append(position)
            members.append([])
        exact.setdefault(normal, found)
        members[found].append(position)
    clusters = [Cluster(leaders[i], tuple(m)) for i, m in enumerate(members)]
    clusters.sort(key=lambda c: (-len(c.members), c.leader))
    return clusters
