"""What ``anti-relous status`` and ``stats`` show: caps in use, the reply's cost, the figures."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING

from anti_relous.admin.liveness import DaemonInfo, ModemInfo, daemon_info, modem_info
from anti_relous.clock import local_day_start
from anti_relous.coding import text_info
from anti_relous.lazyclass import frozen_dataclass

if TYPE_CHECKING:
    from anti_relous.config import Config, QuotaConfig
    from anti_relous.store import Caps, Store
    from anti_relous.store.campaigns import CampaignRow
    from anti_relous.store.line import BlocksInForce
    from anti_relous.store.reports import Activity, HourRow, Summary

#: Past this many parts the reply is expensive for every answered texter (DESIGN section 6).
MAX_COMFORTABLE_REPLY_PARTS = 2


@frozen_dataclass
class CapUse:
    """One global cap: SMS counted against it and its limit."""

    name: str
    used: int
    limit: int
    #: SMS the line may still queue under this cap.
    remaining: int


def cap_uses(caps: Caps, quota: QuotaConfig) -> list[CapUse]:
    """The four global caps of ``quota`` with their current use."""
    return [
        CapUse(name, used, limit, max(0, limit - used))
        for name, used, limit in (
            ("hour", caps.last_hour, quota.replies_per_hour),
            ("day", caps.last_day, quota.replies_per_day),
            ("month", caps.this_month, quota.replies_per_month),
            ("recipients", caps.recipients_this_month, quota.recipients_per_month),
        )
    ]


@frozen_dataclass
class ReplyInfo:
    """How the configured reply travels."""

    coding: str
    characters: int
    parts: int
    description: str
    #: What made it UCS-2, readable ("'ç'"), empty for GSM-7.
    culprits: str = ""

    @property
    def expensive(self) -> bool:
        """More parts than a texter (and the line's plan) should pay for one explanation."""
        return self.parts > MAX_COMFORTABLE_REPLY_PARTS


def reply_info(text: str) -> ReplyInfo:
    """Encoding and part count of ``text`` as the line would send it."""
    info = text_info(text)
    culprits = info.culprits() if info.outside_gsm7 else ""
    return ReplyInfo(info.coding, info.characters, info.parts, info.describe(), culprits)


def reply_warning(reply: ReplyInfo) -> str | None:
    """The advice to shorten the reply, when it costs more than two parts."""
    if not reply.expensive:
        return None
    hint = (
        f" ({reply.culprits} made it UCS-2, 70 characters a part instead of 160)"
        if reply.culprits
        else ""
    )
    return (
        f"the reply takes {reply.parts} SMS parts{hint}: every answered texter costs "
        f"{reply.parts} SMS; shorten [line] reply"
    )


@frozen_dataclass
class LineStatus:
    """Everything ``anti-relous status`` shows."""

    paused: bool
    paused_until: datetime | None
    pause_reason: str | None
    #: Flood mode (every reply suspended: ``[attack] mode = "off"``) and since when.
    flood_mode: bool
    flood_since: datetime | None
    daemon: DaemonInfo
    modem: ModemInfo | None
    today: Activity
    this_hour: Activity
    #: When the newest SMS arrived, None before the first.
    last_received_at: datetime | None
    queue: int
    blocks: BlocksInForce
    caps: list[CapUse]
    reply: ReplyInfo
    reply_warning: str | None
    #: Set when the SIM rejected the configured PIN: what happened and what to do.
    pin_rejected: str | None = None
    #: When the attack under way began (new numbers held, campaigns ignored); None outside one.
    attack_since: datetime | None = None


def line_status(store: Store, config: Config, now: datetime) -> LineStatus:
    """Read the line's state, what the daemon published and today's counts.

    ``now`` is the machine's local time: "today" and "this hour" are the operator's.
    """
    line = store.line.state()
    day_start = local_day_start(now)
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    reply = reply_info(config.line.reply)
    paused = line.is_paused(now)
    return LineStatus(
        paused=paused,
        paused_until=line.paused_until if paused else None,
        pause_reason=line.pause_reason if paused else None,
        flood_mode=line.in_flood,
        flood_since=line.flood_since,
        attack_since=line.attack_since,
        daemon=daemon_info(store.line.daemon_state("daemon"), now, config.schedule.health_interval),
        modem=modem_info(store.line.daemon_state("modem")),
        today=store.reports.activity_since(day_start),
        this_hour=store.reports.activity_since(hour_start),
        last_received_at=store.reports.last_received(),
        queue=store.outbox.queued_count(),
        blocks=store.line.blocks_in_force(now),
        caps=cap_uses(store.outbox.caps(now), config.quota),
        reply=reply,
        reply_warning=reply_warning(reply),
        pin_rejected=pin_rejection(store, config),
    )


def pin_rejection(store: Store, config: Config) -> str | None:
    """The remembered rejection of the configured PIN, in words, or None."""
    if not config.modem.pin:
        return None
    from anti_relous.link import PinMemory  # only with a PIN: status starts without it

    remembered = PinMemory(store.line, config.modem.pin).rejected()
    return str(remembered) if remembered is not None else None


@frozen_dataclass
class Stats:
    """Everything ``anti-relous stats`` shows: the store's figures for the period, the line's
    state now, and what a cloud line would have charged."""

    since: datetime | None
    until: datetime | None
    figures: Summary
    paused: bool
    #: Under a flood or an attack now (DESIGN's key; ``attack_mode`` says which regime).
    flood_mode: bool
    cloud_price_per_sms: float
    currency: str
    #: What a cloud SMS service would have charged for this traffic: every inbound part and
    #: every part sent. This line pays none of it per SMS.
    cloud_cost_avoided: float
    hourly: list[HourRow]
    #: The attack regime is on now (new senders held, campaigns suppressed).
    attack_mode: bool = False
    #: (start, end) of the attacks that touch the period; end None while one lasts.
    attacks: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    #: The largest campaigns active in the period: near-identical texts from several numbers.
    campaigns: list[CampaignRow] = field(default_factory=list)


def cloud_cost(figures: Summary, price_per_sms: float) -> float:
    """What a cloud SMS service would have charged for ``figures``' traffic: every inbound part
    and every part sent, at ``price_per_sms``."""
    return round(price_per_sms * (figures.inbound_parts + figures.parts_sent), 2)


def stats(
    store: Store, config: Config, now: datetime, since: datetime | None, until: datetime | None
) -> Stats:
    """The figures of one period (None: unbounded) and its hour-by-hour traffic."""
    figures = store.reports.summary(since, until)
    line = store.line.state()
    price = config.cost.cloud_price_per_sms
    return Stats(
        since=since,
        until=until,
        figures=figures,
        paused=line.is_paused(now),
        flood_mode=line.in_flood or line.under_attack,
        cloud_price_per_sms=price,
        currency=config.cost.currency,
        cloud_cost_avoided=cloud_cost(figures, price),
        hourly=store.reports.hourly(since, until),
        attack_mode=line.under_attack,
        attacks=[
            (start, end)
            for start, end in store.line.attack_periods(since)
            if until is None or start < until
        ],
        campaigns=[c for c in store.campaigns.largest(since, limit=10) if c.senders > 1][:5],
    )
