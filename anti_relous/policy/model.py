"""The policy's vocabulary: reasons, rules, the line's state, what the store counted, decisions."""

from __future__ import annotations

import enum
from dataclasses import field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from anti_relous.lazyclass import frozen_dataclass

if TYPE_CHECKING:
    from anti_relous.config import Config


class Reason(enum.StrEnum):
    """Why a message was (not) answered. Rules apply in this order; the first one wins."""

    PAUSED = "paused"
    BLOCKED = "blocked"
    DESTINATION_FILTERED = "destination_filtered"
    ABUSE_BLOCK = "abuse_block"
    #: ``[attack] mode = "off"`` only: every reply muted while the inbound rate is too high.
    FLOOD = "flood"
    #: Its text belongs to a campaign: near-identical texts from several senders.
    CAMPAIGN = "campaign"
    #: Its sender's number block (all digits but the last four) is sending from many numbers.
    NUMBER_BLOCK = "number_block"
    NUMBER_QUOTA = "number_quota"
    #: Not final: under attack, a new sender waits ``[attack] hold`` before the decision.
    HELD = "held"
    HOURLY_CAP = "hourly_cap"
    DAILY_CAP = "daily_cap"
    MONTHLY_CAP = "monthly_cap"
    RECIPIENTS_CAP = "recipients_cap"
    #: Under attack, the budget for new senders who have not shown they are people is spent.
    PACED = "paced"
    REPLIED = "replied"
    #: Not a policy outcome: the PDU could not be decoded, so there is no sender to answer.
    UNDECODABLE = "undecodable"
    #: Not a policy outcome: an admin command by SMS (remote/), obeyed and confirmed apart.
    ADMIN = "admin"


class Mode(enum.StrEnum):
    """``[attack] mode``."""

    ENFORCE = "enforce"
    SHADOW = "shadow"
    OFF = "off"


@frozen_dataclass
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
    mode: Mode = Mode.ENFORCE
    first_contacts: int = 15
    first_contact_window: timedelta = timedelta(hours=3)
    burst_contacts: int = 5
    burst_window: timedelta = timedelta(minutes=10)
    hold: timedelta = timedelta(minutes=20)
    campaign_senders: int = 3
    campaign_window: timedelta = timedelta(hours=24)
    short_campaign_senders: int = 8
    similarity: int = 85
    block_senders: int = 3
    new_senders_burst: int = 20
    new_senders_per_day: int = 10
    #: The share of each cap kept for admin confirmations (none without [admin] numbers).
    admin_reserve_per_hour: int = 0
    admin_reserve_per_day: int = 0

    @classmethod
    def from_config(cls, config: Config) -> Rules:
        """The rules a configuration describes."""
        quota, flood, attack = config.quota, config.flood, config.attack
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
            mode=Mode(attack.mode),
            first_contacts=attack.first_contacts,
            first_contact_window=attack.first_contact_window,
            burst_contacts=attack.burst_contacts,
            burst_window=attack.burst_window,
            hold=attack.hold,
            campaign_senders=attack.campaign_senders,
            campaign_window=attack.campaign_window,
            short_campaign_senders=attack.short_campaign_senders,
            similarity=attack.similarity,
            block_senders=attack.block_senders,
            new_senders_burst=attack.new_senders_burst,
            new_senders_per_day=attack.new_senders_per_day,
            admin_reserve_per_hour=config.admin.reserve_per_hour if config.admin.numbers else 0,
            admin_reserve_per_day=config.admin.reserve_per_day if config.admin.numbers else 0,
        )


@frozen_dataclass
class LineState:
    """The line's switches and memory, as stored."""

    paused: bool = False
    paused_until: datetime | None = None
    pause_reason: str | None = None
    #: ``mode = "off"``/``"shadow"``: when flood mode (every reply muted) began; None outside.
    flood_since: datetime | None = None
    #: The last time the inbound rate was seen above the threshold.
    flood_last_above: datetime | None = None
    #: When the current attack began (None outside one), the last time one of its triggers was
    #: seen above its threshold, and when the last attack ended.
    attack_since: datetime | None = None
    attack_last_above: datetime | None = None
    attack_ended_at: datetime | None = None
    #: The new-senders budgets (level, and when last computed; None: full): one for a single
    #: SMS, one for people writing again after a human pause.
    pace_tokens: float | None = None
    pace_at: datetime | None = None
    people_tokens: float | None = None
    people_at: datetime | None = None

    def is_paused(self, now: datetime) -> bool:
        """Paused, and the pause (if it has an end) has not ended."""
        return self.paused and (self.paused_until is None or now < self.paused_until)

    @property
    def in_flood(self) -> bool:
        """True in flood mode (every reply muted: ``mode = "off"``)."""
        return self.flood_since is not None

    @property
    def under_attack(self) -> bool:
        """True while an attack is under way."""
        return self.attack_since is not None


@frozen_dataclass
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


@frozen_dataclass
class SenderHistory:
    """What the line knows of a sender, its messages and pending long-SMS parts included."""

    #: When the sender first reached the line, and the shortest pause between two of its
    #: arrivals (None: only one so far).
    first_at: datetime | None = None
    min_gap: timedelta | None = None
    #: Messages (and pending long SMS) received from it, ever.
    arrivals: int = 1
    #: Whether the line ever sent it anything (a reply, an alert, a manual SMS).
    answered_before: bool = False
    #: On the operators' allowlist (`anti-relous allow`).
    allowed: bool = False
    #: Distinct senders of its number block seen within ``campaign_window`` (itself included);
    #: 0 when the sender has no number block (a name, a short code).
    block_senders: int = 0
    #: Its first arrival fell inside an attack (so it is not a sender known from before).
    first_seen_under_attack: bool = False


@frozen_dataclass
class CampaignUsage:
    """The campaign a message's text belongs to (possibly only itself so far)."""

    id: int
    #: The normal form is short (under campaigns.SHORT_TEXT letters): exact matches only.
    short: bool
    #: Distinct senders of the campaign within ``campaign_window``, and within the last hour.
    senders: int
    senders_last_hour: int
    #: When it was found to be a campaign; None until then.
    flagged_at: datetime | None = None
    #: Senders within the last hour whose very first SMS was this text: new numbers.
    new_senders_last_hour: int = 0


@frozen_dataclass
class Usage:
    """What the store counted for this message. Counts of inbound include the message itself."""

    line: LineState
    block: Block | None
    #: Messages from this sender within ``abuse_window`` (pending long SMS included).
    inbound_from_sender: int
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
    #: Admin confirmations queued in the last hour and the last 24 hours (their reserve's use).
    admin_sent_last_hour: int = 0
    admin_sent_last_day: int = 0
    sender: SenderHistory = field(default_factory=SenderHistory)
    campaign: CampaignUsage | None = None
    #: When this message was held (None: never held).
    held_at: datetime | None = None
    #: It arrived while an attack was under way.
    arrived_under_attack: bool = False


@frozen_dataclass
class Decision:
    """The outcome for one message and the state changes it implies."""

    reply: bool
    reason: Reason
    #: One line for the operator: the rule's figures ("21 SMS in 1h, limit 20").
    detail: str
    #: Set when this message triggers an automatic block of its sender, until then.
    block_until: datetime | None = None
    #: Not final: decide again at this time (reason HELD).
    hold_until: datetime | None = None
    #: The reply spends one unit of a new-senders budget (``people``: the one for people writing
    #: again), whose level is then this.
    pace_tokens: float | None = None
    people: bool = False
    #: The message's campaign is found to be one now: record when.
    flag_campaign: bool = False
    #: ``mode = "shadow"``: what the attack regime would have decided, when it differs.
    shadow: Reason | None = None
