"""The report as data: everything the complaint pack shows, read from the store for one period.

``build`` does the reading; the rest are pure functions of what it read (senders ranked by
volume, the numbers for 33700, flagged messages first), so the HTML is only a rendering of a
``Report``. Figures come from ``Reports.summary``, the same query as ``anti-relous stats``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from anti_relous import __version__
from anti_relous.admin.status import cloud_cost
from anti_relous.config import Config
from anti_relous.report.campaigns import Campaign, campaigns_of, sender_of
from anti_relous.report.flags import Flag, FlagList, first_category, flags_of
from anti_relous.report.timeline import AttackPeriod, Timeline, attack_periods, timeline
from anti_relous.store import SenderMatch, Store
from anti_relous.store.reports import MessageRow, Summary


@dataclass(frozen=True)
class Entry:
    """A message as the report shows it: with its campaign and its flags."""

    message: MessageRow
    campaign: int | None
    flags: tuple[Flag, ...]

    @property
    def sender(self) -> str | None:
        """E.164 for numbers, else the sender as received; None if undecodable."""
        return sender_of(self.message)


@dataclass(frozen=True)
class SenderLine:
    """One sender of the period, with what it sent and what the line decided."""

    sender: str
    messages: int
    first: datetime
    last: datetime
    #: (reason, count), most frequent first.
    decisions: tuple[tuple[str, int], ...]
    campaigns: tuple[int, ...]
    auto_blocked: bool
    flagged: int


@dataclass(frozen=True)
class PeriodLine:
    """An attack period and how many of the report's messages arrived during it."""

    period: AttackPeriod
    messages: int


@dataclass(frozen=True)
class ChainCheck:
    """The evidence chain as ``anti-relous verify`` sees it, over the whole database."""

    ok: bool
    checked: int
    #: The hash of the last message that verified (the head, when the chain is whole).
    head_hash: str
    broken_id: int | None
    problem: str | None
    #: The broken message as stored (its time and sender), if it still exists.
    broken: MessageRow | None


@dataclass(frozen=True)
class Report:
    """Everything the complaint pack shows."""

    #: The period asked for (None: from the first message / up to the report's time).
    since: datetime | None
    until: datetime | None
    senders_filter: SenderMatch | None
    generated_at: datetime
    #: The zone times are shown in; None: the machine's (with its summer time, per moment).
    tz: tzinfo | None
    figures: Summary
    cloud_price_per_sms: float
    cloud_cost: float
    currency: str
    periods: tuple[PeriodLine, ...]
    timeline: Timeline | None
    senders: tuple[SenderLine, ...]
    campaigns: tuple[Campaign, ...]
    #: Flagged messages, most serious category first, then in time order.
    flagged: tuple[Entry, ...]
    entries: tuple[Entry, ...]
    chain: ChainCheck
    #: The chain hash of the period's last message (the last row of messages.csv).
    last_hash: str | None
    #: Numbers that took part in the attack, for 33700: see ``attack_numbers``.
    attack_numbers: tuple[str, ...]
    flag_list: FlagList
    version: str = __version__

    @property
    def first_message(self) -> datetime | None:
        """When the period's first message arrived."""
        return min((e.message.received_at for e in self.entries), default=None)

    @property
    def last_message(self) -> datetime | None:
        """When the period's last message arrived."""
        return max((e.message.received_at for e in self.entries), default=None)


def rank_senders(entries: Sequence[Entry], auto_blocked: set[str]) -> tuple[SenderLine, ...]:
    """Every sender of ``entries``, most messages first (ties: earliest first)."""
    by_sender: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.sender is not None:
            by_sender[entry.sender].append(entry)
    lines = []
    for sender, sent in by_sender.items():
        times = [e.message.received_at for e in sent]
        reasons = Counter(e.message.reason or "undecided" for e in sent)
        lines.append(
            SenderLine(
                sender=sender,
                messages=len(sent),
                first=min(times),
                last=max(times),
                decisions=tuple(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
                campaigns=tuple(sorted({e.campaign for e in sent if e.campaign is not None})),
                auto_blocked=sender in auto_blocked,
                flagged=sum(1 for e in sent if e.flags),
            )
        )
    lines.sort(key=lambda line: (-line.messages, line.first, line.sender))
    return tuple(lines)


def is_phone_number(sender: str) -> bool:
    """True for an E.164 number (what 33700 takes), False for names and short codes."""
    return sender.startswith("+") and sender[1:].isdigit() and len(sender) > 7


def attack_numbers(
    campaigns: Sequence[Campaign], auto_blocked: set[str], senders: Sequence[SenderLine]
) -> tuple[str, ...]:
    """The numbers that took part in the attack: members of a campaign of long texts, and
    numbers the line blocked by itself. One-off texters are not in it, nor members of a short
    campaign only ("Salut ça va ?" is what real people write too).

    Ordered as ``senders`` (most messages first).
    """
    members = {s for c in campaigns if not c.short for s in c.senders}
    taking_part = (members | auto_blocked) & {line.sender for line in senders}
    return tuple(
        line.sender
        for line in senders
        if line.sender in taking_part and is_phone_number(line.sender)
    )


def flagged_first(entries: Sequence[Entry]) -> tuple[Entry, ...]:
    """The flagged entries, threats first, then personal data, then insults; in time order."""
    flagged = [e for e in entries if e.flags]
    flagged.sort(key=lambda e: (first_category(e.flags), e.message.received_at, e.message.id))
    return tuple(flagged)


def build(
    store: Store,
    config: Config,
    *,
    since: datetime | None,
    until: datetime | None,
    senders: SenderMatch | None,
    flag_list: FlagList,
    now: datetime,
    tz: tzinfo | None,
) -> Report:
    """Read the period from ``store`` and assemble the report (``now`` is when it is made)."""
    messages = store.reports.period_messages(since, until, senders)
    found = campaigns_of(messages)
    campaign_of = {mid: c.number for c in found for mid in c.message_ids}
    flagged_texts: dict[str, tuple[Flag, ...]] = {}  # a flood repeats its texts
    for text in {m.text for m in messages if m.text}:
        flagged_texts[text] = flags_of(text, flag_list)
    entries = tuple(
        Entry(m, campaign_of.get(m.id), flagged_texts.get(m.text or "", ())) for m in messages
    )
    auto_blocked = store.pack.auto_blocked(since, until, senders)
    ranked = rank_senders(entries, auto_blocked)
    figures = store.reports.summary(since, until, senders)
    received = sorted(m.received_at for m in messages)
    periods = attack_periods(store.pack.period_events(since, until), since, until)
    chain = store.evidence.verify()
    price = config.cost.cloud_price_per_sms
    return Report(
        since=since,
        until=until,
        senders_filter=senders,
        generated_at=now,
        tz=tz,
        figures=figures,
        cloud_price_per_sms=price,
        cloud_cost=cloud_cost(figures, price),
        currency=config.cost.currency,
        periods=tuple(
            PeriodLine(p, sum(1 for moment in received if p.contains(moment))) for p in periods
        ),
        timeline=_timeline(
            received, store.pack.reply_times(since, until, senders), since, until, now, tz
        ),
        senders=ranked,
        campaigns=tuple(found),
        flagged=flagged_first(entries),
        entries=entries,
        chain=ChainCheck(
            ok=chain.ok,
            checked=chain.checked,
            head_hash=chain.head_hash,
            broken_id=chain.broken_id,
            problem=chain.problem,
            broken=store.reports.message(chain.broken_id) if chain.broken_id else None,
        ),
        last_hash=messages[-1].chain_hash if messages else None,
        attack_numbers=attack_numbers(found, auto_blocked, ranked),
        flag_list=flag_list,
    )


def _timeline(
    received: list[datetime],
    replied: list[datetime],
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    tz: tzinfo | None,
) -> Timeline | None:
    """The chart's counts from the period's start (or first SMS) to its end (or last SMS)."""
    moments = received + replied
    if not moments:
        return None
    start = since or min(moments)
    end = until or max(moments)
    return timeline(received, sorted(replied), start, min(end, max(now, max(moments))), tz)
