"""The campaigns of a report: near-identical texts that several numbers sent.

``campaigns_of`` is the one place the report gets campaigns from: the campaign the line recorded
with each message as it arrived (the same RapidFuzz leader clustering, ``store.campaigns``);
messages stored before the line recorded campaigns are clustered here with the policy's own
rule (``policy.campaigns.cluster``). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from anti_relous.policy import campaigns
from anti_relous.store.reports import MessageRow

#: A group of near-identical texts is a campaign when this many distinct senders sent it:
#: two people writing the same words is a coincidence, three is a pattern.
MIN_SENDERS = 3


@dataclass(frozen=True)
class Campaign:
    """Near-identical texts from several senders."""

    #: 1 for the largest, then by size.
    number: int
    message_ids: tuple[int, ...]
    #: Distinct senders, in the order they joined.
    senders: tuple[str, ...]
    first: datetime
    last: datetime
    #: The text that founded the campaign.
    representative: str
    #: Identical short texts ("Salut ça va ?"): many real people write them too, so a short
    #: campaign alone does not make its senders attackers (see ``attack_numbers``).
    short: bool


def sender_of(message: MessageRow) -> str | None:
    """The sender as the report names it: E.164 for numbers, else as received."""
    return message.sender or message.sender_raw


def _chain_order(message: MessageRow) -> int:
    return message.id


def campaigns_of(messages: Sequence[MessageRow]) -> list[Campaign]:
    """The campaigns among ``messages`` (in chain order), largest first."""
    found = [group for group in _recorded(messages) if len(_senders(group)) >= MIN_SENDERS]
    found += _clustered([m for m in messages if m.campaign_id is None])
    found.sort(key=lambda members: (-len(members), members[0].id))
    return [
        Campaign(
            number=number,
            message_ids=tuple(m.id for m in members),
            senders=_senders(members),
            first=members[0].received_at,
            last=members[-1].received_at,
            representative=_representative(members),
            short=campaigns.is_short(campaigns.normalise(_representative(members))),
        )
        for number, members in enumerate(found, start=1)
    ]


def _recorded(messages: Sequence[MessageRow]) -> list[list[MessageRow]]:
    """The messages grouped by the campaign the line recorded for them."""
    groups: dict[int, list[MessageRow]] = {}
    for message in messages:
        if message.campaign_id is not None:
            groups.setdefault(message.campaign_id, []).append(message)
    return [sorted(group, key=_chain_order) for group in groups.values()]


def _clustered(messages: Sequence[MessageRow]) -> list[list[MessageRow]]:
    """Campaigns among messages stored without one, clustered as the line would have."""
    # Each distinct text is clustered once: identical texts always land in the campaign of
    # their first occurrence, and a flood repeats its texts (20,000 SMS, about 3,000 texts).
    by_text: dict[str, list[MessageRow]] = {}
    for message in messages:
        if message.text:
            by_text.setdefault(message.text, []).append(message)
    texts = list(by_text)
    found = []
    for cluster in campaigns.cluster(texts):
        members = sorted((m for i in cluster.members for m in by_text[texts[i]]), key=_chain_order)
        if len(_senders(members)) >= MIN_SENDERS:
            found.append(members)
    return found


def _senders(members: Sequence[MessageRow]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for s in map(sender_of, members) if s is not None))


def _representative(members: Sequence[MessageRow]) -> str:
    """The text that founded the campaign (the first one still there after retention)."""
    return next((m.text for m in members if m.text), "")
