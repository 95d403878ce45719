"""Time in a report: attack periods read from the event log, and SMS counted per time step. Pure.

Periods are read generically: any event kind ending in ``_start`` opens a period of that name
(``flood_start`` opens a ``flood``) and the next ``_end`` of the same name closes it, so kinds
the line logs later (a held attack, a campaign) show without a change here.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from anti_relous.store.line import Event

#: Steps the chart may use, finest first, and the longest period each serves: from 60 to 300
#: bars (the demo's flood lasts a minute, a complaint may cover weeks).
STEPS = (
    (timedelta(seconds=10), timedelta(minutes=10)),
    (timedelta(minutes=1), timedelta(hours=2)),
    (timedelta(minutes=10), timedelta(hours=12)),
    (timedelta(hours=1), timedelta(days=14)),
    (timedelta(days=1), timedelta.max),
)


@dataclass(frozen=True)
class AttackPeriod:
    """A period the line logged as under attack (a flood, or any other ``*_start`` kind)."""

    kind: str
    #: None: it began before the report's period.
    start: datetime | None
    #: None: it had not ended by the report's end.
    end: datetime | None
    #: What the line logged when it began.
    detail: str

    def contains(self, moment: datetime) -> bool:
        """True if ``moment`` falls within the period."""
        return (self.start is None or moment >= self.start) and (
            self.end is None or moment < self.end
        )


def attack_periods(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> list[AttackPeriod]:
    """Pair ``*_start`` and ``*_end`` events (oldest first) into periods overlapping the range."""
    opened: dict[str, Event] = {}
    periods: list[AttackPeriod] = []
    for event in events:
        kind, _, edge = event.kind.rpartition("_")
        if edge == "start":
            opened.setdefault(kind, event)
        elif edge == "end":
            start = opened.pop(kind, None)
            if start is not None:
                periods.append(AttackPeriod(kind, start.at, event.at, start.detail))
            elif since is not None and event.at >= since:
                periods.append(AttackPeriod(kind, None, event.at, ""))
    periods += [AttackPeriod(kind, e.at, None, e.detail) for kind, e in opened.items()]
    inside = [
        period
        for period in periods
        if (since is None or period.end is None or period.end > since)
        and (until is None or period.start is None or period.start < until)
    ]
    return [
        AttackPeriod(
            p.kind,
            None if since is not None and p.start is not None and p.start < since else p.start,
            p.end,
            p.detail,
        )
        for p in sorted(inside, key=lambda p: (p.start is not None, p.start or p.end or since))
    ]


def step_for(span: timedelta) -> timedelta:
    """The chart's step for a period of ``span`` (see ``STEPS``)."""
    for step, longest in STEPS:
        if span <= longest:
            return step
    return STEPS[-1][0]


def floor(moment: datetime, step: timedelta, tz: tzinfo | None) -> datetime:
    """The start of the step holding ``moment``, in ``tz`` (None: the machine's zone); days
    start at local midnight."""
    local = moment.astimezone(tz)
    if step >= timedelta(days=1):
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = int(step.total_seconds())
    second = (local.hour * 3600 + local.minute * 60 + local.second) // seconds * seconds
    return local.replace(
        hour=second // 3600, minute=second // 60 % 60, second=second % 60, microsecond=0
    )


@dataclass(frozen=True)
class Timeline:
    """SMS in and replies out per step, from the first step to the last, idle steps included."""

    step: timedelta
    starts: tuple[datetime, ...]
    inbound: tuple[int, ...]
    replies: tuple[int, ...]


def timeline(
    received: Sequence[datetime],
    replied: Sequence[datetime],
    start: datetime,
    end: datetime,
    tz: tzinfo | None,
) -> Timeline:
    """Count ``received`` and ``replied`` (both sorted) per step between ``start`` and ``end``."""
    step = step_for(end - start)
    first = floor(start, step, tz)
    starts = []
    moment = first
    while moment <= end:
        starts.append(moment)
        moment += step

    def counts(times: Sequence[datetime]) -> tuple[int, ...]:
        edges = [bisect.bisect_left(times, s) for s in [*starts[1:], starts[-1] + step]]
        lows = [bisect.bisect_left(times, starts[0]), *edges[:-1]]
        return tuple(high - low for low, high in zip(lows, edges, strict=True))

    return Timeline(step, tuple(starts), counts(received), counts(replied))
