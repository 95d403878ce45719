"""The pure reply policy: from a message, the store's counts and the time, reply or not, and why.

No I/O and no clock here: the store gathers a ``Usage`` snapshot, ``decide`` returns a
``Decision`` (with the state changes it implies), and the store records both in one transaction.
Imports: ``config``, ``sms`` and pure helpers (``campaigns`` on RapidFuzz); never ``store``,
``modem``, ``clock`` or an entry point (tests/test_imports.py holds it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from anti_relous.config import Config, format_duration
from anti_relous.sms import InboundSms, NumberKind


class Reason(enum.StrEnum):
    """Why a message was (not) answered. Rules apply in this order; the first one wins."""

    PAUSED = "paused"
    BLOCKED = "blocked"
    DESTINATION_FILTERED = "destination_filtered"
    ABUSE_BLOCK = "abuse_block"
    FLOOD = "flood"
    NUMBER_QUOTA = "number_quota"
    HOURLY_CAP = "hourly_cap"
    DAILY_CAP = "daily_cap"
    MONTHLY_CAP = "monthly_cap"
    RECIPIENTS_CAP = "recipients_cap"
    REPLIED = "replied"
    #: Not a policy outcome: the PDU could not be decoded, so there is no sender to answer.
    UNDECODABLE = "undecodable"
    #: Not a policy outcome: an admin command by SMS (remote/), obeyed and confirmed apart.
    ADMIN = "admin"


@dataclass(frozen=True)
class Rules:
    """The policy's knobs, taken from the configuration."""

    allowed_regions: frozenset[str]
    own_number: str
    replies_per_number: int
    number_window: timedelta
    max_inbound_per_number: int
    abuse_window: timedelta
    block_duration: timedelta
    replies_per_hour: int
    replies_per_day: int
    replies_per_month: int
    recipients_per_month: int
    flood_threshold: int
    flood_window: timedelta
    flood_cooldown: timedelta
    alert_numbers: tuple[str, ...]
    alert_min_interval: timedelta

    @classmethod
    def from_config(cls, config: Config) -> Rules:
        """The rules a configuration describes."""
        quota, flood = config.quota, config.flood
        return cls(
            allowed_regions=frozenset(config.line.allowed_regions),
            own_number=config.line.own_number,
            replies_per_number=quota.replies_per_number,
            number_window=quota.number_window,
            max_inbound_per_number=quota.max_inbound_per_number,
            abuse_window=quota.abuse_window,
            block_duration=quota.block_duration,
            replies_per_hour=quota.replies_per_hour,
            replies_per_day=quota.replies_per_day,
            replies_per_month=quota.replies_per_month,
            recipients_per_month=quota.recipients_per_month,
            flood_threshold=flood.threshold,
            flood_window=flood.window,
            flood_cooldown=flood.cooldown,
            alert_numbers=config.alerts.numbers,
            alert_min_interval=config.alerts.min_interval,
        )


@dataclass(frozen=True)
class LineState:
    """The line's switches and memory, as stored."""

    paused: bool = False
    paused_until: datetime | None = None
    pause_reason: str | None = None
    #: When the current flood began; None outside flood mode.
    flood_since: datetime | None = None
    #: The last time the inbound rate was seen above the threshold.
    flood_last_above: datetime | None = None
    last_alert_at: datetime | None = None

    def is_paused(self, now: datetime) -> bool:
        """Paused, and the pause (if it has an end) has not ended."""
        return self.paused and (self.paused_until is None or now < self.paused_until)

    @property
    def in_flood(self) -> bool:
        """True in flood mode."""
        return self.flood_since is not None


@dataclass(frozen=True)
class Block:
    """A block matching the sender: exact number or prefix, manual or automatic."""

    target: str
    is_prefix: bool
    until: datetime | None
    reason: str
    automatic: bool

    def active(self, now: datetime) -> bool:
        """True until its expiry, forever without one."""
        return self.until is None or now < self.until


@dataclass(frozen=True)
class Usage:
    """What the store counted for this message. Counts of inbound include the message itself."""

    line: LineState
    block: Block | None
    #: Messages from this sender within ``abuse_window``.
    inbound_from_sender: int
    #: Messages from everyone within ``flood_window``.
    inbound_total: int
    #: SMS sent or queued to this sender within ``number_window``.
    replies_to_sender: int
    #: SMS sent or queued (replies, alerts, manual) in the last hour / 24 hours / calendar month.
    sent_last_hour: int
    sent_last_day: int
    sent_this_month: int
    #: Distinct recipients this calendar month, and whether this sender is already one of them.
    recipients_this_month: int
    sender_is_recipient_this_month: bool
    #: How many alert numbers are not yet recipients this month (an alert would add them).
    alert_numbers_new_this_month: int = 0


class FloodChange(enum.StrEnum):
    """How a decision moves the flood breaker."""

    ENTER = "enter"
    #: Still above the threshold: remember when, so the cooldown starts later.
    STILL_ABOVE = "still_above"
    EXIT = "exit"


@dataclass(frozen=True)
class Decision:
    """The outcome for one message and the state changes it implies."""

    reply: bool
    reason: Reason
    #: One line for the operator: the rule's figures ("21 SMS in 1h, limit 20").
    detail: str
    #: Set when this message triggers an automatic block of its sender, until then.
    block_until: datetime | None = None
    flood: FloodChange | None = None
    #: True when an alert SMS must be queued to every alert number.
    alert: bool = False


def decide(message: InboundSms, usage: Usage, rules: Rules, now: datetime) -> Decision:
    """Apply the rules in order; the first that applies gives the reason."""
    flood, alert = _flood_transition(usage, rules, now)
    in_flood = flood in (FloodChange.ENTER, FloodChange.STILL_ABOVE) or (
        usage.line.in_flood and flood is not FloodChange.EXIT
    )

    def skip(reason: Reason, detail: str, block_until: datetime | None = None) -> Decision:
        return Decision(False, reason, detail, block_until, flood, alert)

    line = usage.line
    if line.is_paused(now):
        until = f" until {line.paused_until.isoformat()}" if line.paused_until else ""
        return skip(Reason.PAUSED, f"line paused{until}: {line.pause_reason or 'no reason given'}")
    if usage.block is not None and usage.block.active(now):
        return skip(Reason.BLOCKED, _describe_block(usage.block))
    filtered = _destination_problem(message, rules)
    if filtered:
        return skip(Reason.DESTINATION_FILTERED, filtered)
    if usage.inbound_from_sender > rules.max_inbound_per_number:
        return skip(
            Reason.ABUSE_BLOCK,
            f"{usage.inbound_from_sender} SMS in {_span(rules.abuse_window)}, limit "
            f"{rules.max_inbound_per_number}: blocked for {_span(rules.block_duration)}",
            block_until=now + rules.block_duration,
        )
    if in_flood:
        return skip(
            Reason.FLOOD,
            f"flood mode: {usage.inbound_total} SMS in {_span(rules.flood_window)}, "
            f"threshold {rules.flood_threshold}",
        )
    if usage.replies_to_sender >= rules.replies_per_number:
        return skip(
            Reason.NUMBER_QUOTA,
            f"already {usage.replies_to_sender} SMS sent to this number in "
            f"{_span(rules.number_window)}, limit {rules.replies_per_number}",
        )
    # Replies leave room under every cap for one alert to each alert number: otherwise the
    # bot replies sent before a flood trips the breaker would use up the hour, and the
    # operators would never hear of the flood.
    reserve = len(rules.alert_numbers)
    cap = _cap_reached(
        usage.sent_last_hour, usage.sent_last_day, usage.sent_this_month, rules, reserve=reserve
    )
    if cap:
        return skip(*cap)
    recipients = usage.recipients_this_month + usage.alert_numbers_new_this_month
    if not usage.sender_is_recipient_this_month and recipients >= rules.recipients_per_month:
        kept = usage.alert_numbers_new_this_month
        return skip(
            Reason.RECIPIENTS_CAP,
            f"{usage.recipients_this_month} distinct numbers answered this month, limit "
            f"{rules.recipients_per_month}" + (f" ({kept} kept for alerts)" if kept else ""),
        )
    return Decision(True, Reason.REPLIED, "first message within the quotas", None, flood, alert)


def flood_should_end(line: LineState, inbound_total: int, rules: Rules, now: datetime) -> bool:
    """For housekeeping when no message arrives: has the rate stayed low for the cooldown?"""
    if not line.in_flood or inbound_total > rules.flood_threshold:
        return False
    last_above = line.flood_last_above or line.flood_since
    return last_above is not None and now - last_above >= rules.flood_cooldown


def _flood_transition(usage: Usage, rules: Rules, now: datetime) -> tuple[FloodChange | None, bool]:
    above = usage.inbound_total > rules.flood_threshold
    line = usage.line
    if above:
        if line.in_flood:
            return FloodChange.STILL_ABOVE, False
        return FloodChange.ENTER, _alert_allowed(usage, rules, now)
    if flood_should_end(line, usage.inbound_total, rules, now):
        return FloodChange.EXIT, False
    return None, False


def _alert_allowed(usage: Usage, rules: Rules, now: datetime) -> bool:
    """One alert per ``min_interval``, and only if the alert SMS fit within every cap."""
    if not rules.alert_numbers:
        return False
    last = usage.line.last_alert_at
    if last is not None and now - last < rules.alert_min_interval:
        return False
    count = len(rules.alert_numbers)
    fits_caps = (
        _cap_reached(
            usage.sent_last_hour + count - 1,
            usage.sent_last_day + count - 1,
            usage.sent_this_month + count - 1,
            rules,
        )
        is None
    )
    new_recipients = usage.recipients_this_month + usage.alert_numbers_new_this_month
    return fits_caps and new_recipients <= rules.recipients_per_month


def _cap_reached(
    hour: int, day: int, month: int, rules: Rules, *, reserve: int = 0
) -> tuple[Reason, str] | None:
    """The first global cap that one more SMS would exceed, ``reserve`` SMS being kept back."""
    kept = f" ({reserve} kept for alerts)" if reserve else ""
    for count, limit, reason, span in (
        (hour, rules.replies_per_hour, Reason.HOURLY_CAP, "the last hour"),
        (day, rules.replies_per_day, Reason.DAILY_CAP, "the last 24 hours"),
        (month, rules.replies_per_month, Reason.MONTHLY_CAP, "this month"),
    ):
        if count + reserve >= limit:
            return reason, f"{count} SMS sent in {span}, cap {limit}{kept}"
    return None


def _destination_problem(message: InboundSms, rules: Rules) -> str | None:
    sender = message.sender
    if sender.kind is not NumberKind.MOBILE:
        return f"sender is {sender.kind.value.replace('_', ' ')}, only mobiles are answered"
    if rules.own_number and sender.e164 == rules.own_number:
        return "sender claims to be the line's own number"
    if sender.region not in rules.allowed_regions:
        allowed = ", ".join(sorted(rules.allowed_regions))
        return f"sender's region {sender.region} is not in allowed_regions ({allowed})"
    return None


def _describe_block(block: Block) -> str:
    what = f"prefix {block.target}" if block.is_prefix else "number"
    how = "automatically" if block.automatic else "manually"
    until = f" until {block.until.isoformat()}" if block.until else ""
    return f"{what} blocked {how}{until}: {block.reason or 'no reason given'}"


def _span(delta: timedelta) -> str:
    return format_duration(delta)
